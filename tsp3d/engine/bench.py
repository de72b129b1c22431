"""``tsp3d bench-engine``: latency, throughput and memory of a TensorRT engine or an ONNX model/bundle.

MODEL is
- one or two ``.engine`` files (a single-graph engine, or backbone + head): TensorRT, refused unless its manifest
  matches this TensorRT, plugin library and GPU (``runtime.engine_manifest.check_engine``); timed with CUDA events around
  each call (host-to-device copies, the engine, device-to-host copies: what trtexec calls Latency);
- a bundle directory: ONNX Runtime with our library, backbone once per scene + head per sentence (``--precision``
  fp32 / fp16 / int8 when the bundle has it), so the per-stage split is measured; the text encoder is timed apart
  (robots cache text features, so it is not in the end-to-end latency);
- an ``.onnx`` file: ONNX Runtime on that graph (a bundle's graph runs in its bundle's form; a lone file runs as a
  single graph with seeded random text features).

Scenes: ``--scenes DIR`` (a dataset: its first split's scenes with their first sentence; or a directory of point
clouds, .ply/.npy/.npz/.bin) or, by default, rooms of the synthetic benchmark generated on the fly. Each scene is
subsampled to the model's ``max_points``. Host timings use ``time.perf_counter``.
"""
from __future__ import annotations

import resource
import time
from pathlib import Path

import numpy as np

from tsp3d.errors import InputFileError
from tsp3d.runtime.base import Runtime, TextInput

DEFAULT_SENTENCE = "the chair next to the table"
SYNTH_POINTS = 20_000


class OnnxFileRuntime(Runtime):
    """A lone single graph (points + text -> box) in ONNX Runtime, outside any bundle."""

    name = "onnxruntime"

    def __init__(self, path: Path, threads: int | None = None):
        import onnx

        from tsp3d.export.metadata import read_graph_metadata
        from tsp3d.runtime.ort_session import make_session

        proto = onnx.load(str(path), load_external_data=False)
        inputs = {i.name: i for i in proto.graph.input}
        if set(inputs) != {"points", "text_feats", "text_mask"}:
            raise InputFileError(f"{path} is not a single tsp3d graph (inputs {sorted(inputs)}); give its bundle "
                                 f"directory to benchmark backbone/head graphs")
        meta = read_graph_metadata(proto)
        self.precision = str(meta.get("precision", "fp32"))
        self.session = make_session(str(path), threads=threads)
        dim = inputs["text_feats"].type.tensor_type.shape.dim[2].dim_value
        super().__init__(dim, int((meta.get("capacities") or {}).get("max_points", 1 << 31)))

    def _encode_scene(self, points):
        return {"points": points}

    def _ground(self, levels, text: TextInput):
        from tsp3d.runtime.base import GroundingResult
        from tsp3d.runtime.ort_session import run

        out = run(self.session, {**levels, "text_feats": text.feats, "text_mask": text.mask})
        return GroundingResult.from_outputs(*out[:4])

    def encode_text(self, text: str) -> TextInput:
        raise InputFileError("a lone ONNX graph has no text encoder")


def _random_text(dim: int, tokens: int = 12, seed: int = 0) -> TextInput:
    g = np.random.default_rng(seed)
    return TextInput(g.standard_normal((1, tokens, dim)).astype(np.float32), np.zeros((1, tokens), bool))


def _bundle_of(path: Path):
    from tsp3d.runtime.manifest import Bundle

    root = path if path.is_dir() else path.parent
    return Bundle(root) if (root / "manifest.json").is_file() else None


def open_runtime(models: list[Path], *, precision: str = "fp32", threads: int | None = None,
                 plugin: Path | None = None):
    """``(runtime, bundle or None, kind)``: kind is tensorrt, onnxruntime-bundle or onnxruntime-file."""
    if not models:
        raise InputFileError("no model given")
    for m in models:
        if not m.exists():
            raise InputFileError(f"{m} does not exist")
    if all(m.suffix == ".engine" for m in models):
        return _open_tensorrt(models, plugin)
    if len(models) != 1:
        raise InputFileError("give one ONNX model or bundle (two models only as backbone + head engines)")
    model = models[0]
    bundle = _bundle_of(model)
    if model.is_dir():
        if bundle is None:
            raise InputFileError(f"{model} is not an export bundle (no manifest.json)")
        from tsp3d.runtime.onnx_runtime import OnnxRuntime

        return OnnxRuntime(bundle, precision, "split", threads=threads), bundle, "onnxruntime-bundle"
    if model.suffix != ".onnx":
        raise InputFileError(f"{model}: expected a .engine, a .onnx or a bundle directory")
    if bundle is not None:
        for prec, graphs in bundle.manifest["graphs"].items():
            for kind, entry in graphs.items():
                if entry.get("file") == model.name:
                    from tsp3d.runtime.onnx_runtime import OnnxRuntime

                    form = "single" if kind == "single" else "split"
                    return OnnxRuntime(bundle, prec, form, threads=threads), bundle, "onnxruntime-bundle"
    return OnnxFileRuntime(model, threads), None, "onnxruntime-file"


def _open_tensorrt(engines: list[Path], plugin: Path | None):
    from tsp3d.runtime.engine_manifest import check_engine, read_manifest
    from tsp3d.engine.build import detect_gpu, import_tensorrt
    from tsp3d.runtime.tensorrt_runtime import TensorRTRuntime
    from tsp3d.utils.libraries import require_library

    trt = import_tensorrt()

    gpu = detect_gpu()
    plugin = Path(plugin) if plugin is not None else require_library("trt")
    for e in engines:
        check_engine(e, tensorrt_version=trt.__version__, plugin=plugin,
                     compute_capability=gpu["compute_capability"])
    source = Path(read_manifest(engines[0])["source_onnx"]["file"])
    bundle = _bundle_of(source) if source.exists() else None
    return TensorRTRuntime([str(e) for e in engines], plugin, bundle=bundle), bundle, "tensorrt"


def load_scenes(scenes: Path | None, count: int, max_points: int) -> tuple[str, list[tuple[np.ndarray, str]]]:
    """``(source, [(points, sentence)])``: ``count`` scenes (0 = all of a directory)."""
    from tsp3d.data.points import subsample

    def fit(points):
        pts = subsample(points, max_points) if points.shape[0] > max_points else points
        return np.ascontiguousarray(pts, dtype=np.float32)

    if scenes is None:
        from tsp3d.data.synth import generate_scene

        out = []
        for i in range(count or 4):
            scene, anns = generate_scene(index=i, points=max(1000, min(SYNTH_POINTS, max_points)), seed=0)
            out.append((fit(scene.points), anns[0].text if anns else DEFAULT_SENTENCE))
        return "synthetic rooms (tsp3d.data.synth, val)", out
    if not scenes.is_dir():
        raise InputFileError(f"--scenes {scenes} is not a directory")
    if (scenes / "meta.json").is_file():
        from tsp3d.calibration.data import EVAL_SPLITS, pick_split
        from tsp3d.data.dataset import GroundingDataset

        split = pick_split(scenes, EVAL_SPLITS)
        ds = GroundingDataset(scenes, split)
        first = {}
        for ann in ds.annotations:
            first.setdefault(ann.scene_id, ann.text)
        ids = list(first)[: count or None]
        return f"dataset {scenes} ({split})", [(fit(ds.scene(s).points), first[s]) for s in ids]
    from tsp3d.data.pointcloud import SUFFIXES, read_point_cloud

    files = sorted(p for p in scenes.iterdir() if p.suffix.lower() in SUFFIXES)[: count or None]
    if not files:
        raise InputFileError(f"{scenes} holds no dataset and no point clouds ({', '.join(SUFFIXES)})")
    return f"point clouds in {scenes}", [(fit(read_point_cloud(f, subsample_to_max=True, max_points=max_points)),
                                          DEFAULT_SENTENCE) for f in files]


class _Clock:
    """Host wall clock, or CUDA events on the current stream (TensorRT)."""

    def __init__(self, cuda: bool):
        self.cuda = cuda
        if cuda:
            import torch

            self.torch = torch

    def start(self):
        if not self.cuda:
            return time.perf_counter()
        e = self.torch.cuda.Event(enable_timing=True)
        e.record()
        return e

    def ms(self, start) -> float:
        if not self.cuda:
            return 1e3 * (time.perf_counter() - start)
        end = self.torch.cuda.Event(enable_timing=True)
        end.record()
        end.synchronize()
        return float(start.elapsed_time(end))


def run_bench(models: list[Path], *, scenes: Path | None = None, count: int = 0, iters: int = 50, warmup: int = 5,
              precision: str = "fp32", threads: int | None = None, plugin: Path | None = None) -> tuple[dict, dict]:
    """``(result, samples)``: the JSON-ready result and the raw per-iteration latencies (ms) by stage."""
    from tsp3d.engine.bench_report import latency_stats

    if iters < 1 or warmup < 0:
        raise InputFileError(f"need --iters >= 1 and --warmup >= 0, got {iters} and {warmup}")
    on_gpu = bool(models) and all(m.suffix == ".engine" for m in models)
    gpu0 = _gpu_used_mb() if on_gpu and _cuda_ready() else None  # before the engines take their memory
    rt, bundle, kind = open_runtime(models, precision=precision, threads=threads, plugin=plugin)
    source, inputs = load_scenes(scenes, count, rt.max_points)
    texts = []
    for _, sentence in inputs:
        try:
            texts.append((sentence, rt.encode_text(sentence)))
        except InputFileError:  # no text encoder: seeded features of the model's width
            texts.append((None, _random_text(rt.text_dim)))
    split = getattr(rt, "split", getattr(rt, "form", "single") == "split")
    clock = _Clock(kind == "tensorrt")
    samples = {"latency": [], "backbone": [], "head": [], "text_encoder": []}
    for i in range(warmup + iters):
        points, (sentence, text) = inputs[i % len(inputs)][0], texts[i % len(texts)]
        t0 = clock.start()
        scene = rt.encode_scene(points)
        t_scene = clock.ms(t0)
        t1 = clock.start()
        rt.ground(scene, text.feats, text.mask)
        t_head = clock.ms(t1)
        if sentence is not None and bundle is not None:
            t2 = time.perf_counter()
            rt.encode_text(sentence)
            t_text = 1e3 * (time.perf_counter() - t2)
        else:
            t_text = None
        if i >= warmup:
            samples["latency"].append(t_scene + t_head)
            if split:
                samples["backbone"].append(t_scene)
                samples["head"].append(t_head)
            if t_text is not None:
                samples["text_encoder"].append(t_text)
    lat = latency_stats(samples["latency"])
    stages = {k: latency_stats(v) for k, v in samples.items() if k != "latency" and v}
    gpu_used = (_gpu_used_mb() - gpu0) if kind == "tensorrt" and gpu0 is not None else None
    result = {
        "format": "tsp3d-bench-engine", "format_version": 1,
        "model": [str(m) for m in models] if len(models) > 1 else str(models[0]),
        "runtime": rt.label, "kind": kind, "form": "split" if split else "single",
        "timing": "CUDA events" if kind == "tensorrt" else "host wall clock",
        "threads": threads, "iterations": iters, "warmup": warmup,
        "scenes": {"source": source, "count": len(inputs), "points": [int(p.shape[0]) for p, _ in inputs]},
        "text": "bundle text encoder" if bundle is not None and texts[0][0] is not None else "random features",
        "latency_ms": lat, "fps": 1e3 / lat["mean"], "stages": stages,
        "memory": {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                   "gpu_used_mb": gpu_used},
    }
    rt.close()
    return result, samples


def _cuda_ready() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def _gpu_used_mb() -> float:
    """Device memory in use (all processes), MB: the difference around the run is what this run took."""
    import torch

    free, total = torch.cuda.mem_get_info()
    return (total - free) / 2**20
