"""Ground sentences in one scene with any runtime: what ``tsp3d ground`` does, usable as a library.

    rt = open_runtime(onnx="bundle/")                     # or checkpoint=..., or engines=[...] (+ onnx for text)
    points, name = load_scene("scan.ply", max_points=rt.max_points)
    report = ground_sentences(rt, points, ["the black chair", "the lamp"])   # the backbone runs once
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tsp3d.errors import InputFileError


def open_runtime(checkpoint=None, onnx=None, engines=(), *, precision: str = "fp32", form: str = "split",
                 plugin=None, threads: int | None = None):
    """The runtime for the given source: a checkpoint (PyTorch), a bundle (ONNX Runtime), or engines (TensorRT,
    with the bundle ``onnx`` for text encoding and capacities)."""
    given = [checkpoint is not None, onnx is not None and not engines, bool(engines)]
    if sum(given) != 1:
        raise InputFileError("give exactly one of --checkpoint, --onnx, --engine (an engine may come with --onnx "
                             "for its text encoder)")
    if checkpoint is not None:
        from tsp3d.runtime.torch_runtime import TorchRuntime

        return TorchRuntime(checkpoint)
    if engines:
        from tsp3d.runtime.tensorrt_runtime import TensorRTRuntime

        return TensorRTRuntime(list(engines), plugin, bundle=onnx, precision=precision)
    from tsp3d.runtime.onnx_runtime import OnnxRuntime

    return OnnxRuntime(onnx, precision, form, threads=threads)


def load_scene(scene: str | Path, *, data=None, max_points: int, subsample: bool = False,
               bin_columns: int | None = None):
    """``(points float32 [N, 6], name)`` from a point-cloud file (PLY, NPY, NPZ, BIN) or a dataset scene id.

    More than ``max_points`` points is an error unless ``subsample`` (a deterministic subsample, as evaluation).
    ``bin_columns``: values per row of a raw ``.bin`` cloud (3, 4 or 6)."""
    from tsp3d.data.pointcloud import SUFFIXES, read_point_cloud
    from tsp3d.data.points import subsample as subsample_points

    path = Path(scene)
    if path.is_file() or (data is None and path.suffix.lower() in SUFFIXES):  # a missing file: "does not exist"
        pts = read_point_cloud(path, columns=bin_columns, max_points=max_points, subsample_to_max=subsample)
        return pts, path.name
    if data is None:
        raise InputFileError(f"scene {scene} is neither a file nor (without --data) a dataset scene id",
                             hint="pass a PLY/NPY/NPZ/BIN file, or --data DIR with a scene id")
    from tsp3d.data import format as fmt

    scene_file = fmt.scene_path(data, str(scene))
    if not scene_file.is_file():
        raise InputFileError(f"no scene {scene!r} in dataset {data} (looked for {scene_file})")
    pts = fmt.read_scene(scene_file, str(scene)).points
    if pts.shape[0] > max_points:
        if not subsample:
            raise InputFileError(f"scene {scene} has {pts.shape[0]} points, more than max_points={max_points}",
                                 hint="pass --subsample to take a deterministic subsample")
        pts = subsample_points(pts, max_points)
    return np.ascontiguousarray(pts, dtype=np.float32), str(scene)


def collect_texts(texts=(), texts_file=None) -> list[str]:
    from tsp3d.export.text_encoder import read_texts_file

    out = list(texts or []) + (read_texts_file(texts_file) if texts_file is not None else [])
    if not out:
        raise InputFileError("no sentence given", hint="use --text \"the black chair\" (repeatable) or --texts FILE")
    return out


def model_facts(runtime):
    """The model facts the memory check needs (``scene_memory.ModelFacts``), from any runtime (None: a runtime
    without its model config, e.g. TensorRT engines given without their bundle)."""
    from tsp3d.runtime.scene_memory import ModelFacts

    if getattr(runtime, "model", None) is not None:  # PyTorch
        return ModelFacts.from_config(runtime.model.cfg.to_dict())
    bundle = getattr(runtime, "bundle", None)
    return None if bundle is None else ModelFacts.from_config(bundle.manifest["model"]["config"])


def attention_form(runtime) -> str:
    """"fused" (memory linear in the voxels) or "plain" ([heads, N, N] tensors) for the runtime's head."""
    if runtime.name == "torch":
        return "fused"  # scaled_dot_product_attention
    if runtime.name == "onnxruntime":
        from tsp3d.runtime.ort_session import session_attention

        form = session_attention(runtime.session("single" if runtime.form == "single" else "head"))["form"]
        return "fused" if form == "fused" else "plain"
    return "plain"  # TensorRT engines: unless its builder fused them, the exported ops hold [H, N, N]


def check_memory(runtime, points: np.ndarray, tile: float | None = None, overlap: float = 2.0,
                 max_memory_mb: float | None = None) -> list:
    """Refuse, before running, a scene (or, tiled, its largest tile) whose attention would not fit the memory
    budget (``tsp3d.runtime.scene_memory``); returns the estimate of the largest."""
    from tsp3d.runtime.scene_memory import check_scene_memory

    facts = model_facts(runtime)
    if facts is None:
        return []
    form, xyz = attention_form(runtime), np.asarray(points)[:, :3]
    if tile is None:
        return check_scene_memory(xyz, facts, form, max_memory_mb)
    from tsp3d.tiling import ALIGN_STRIDE, tile_grid

    tiles = tile_grid(tuple(xyz[:, :2].min(axis=0)), tuple(xyz[:, :2].max(axis=0)), tile, overlap,
                      ALIGN_STRIDE * facts.voxel_size)
    worst = []
    for t in tiles:
        inside = (xyz[:, 0] >= t.x0) & (xyz[:, 0] < t.x1) & (xyz[:, 1] >= t.y0) & (xyz[:, 1] < t.y1)
        if inside.any():
            rows = check_scene_memory(xyz[inside], facts, form, max_memory_mb, tiled=True)
            worst = max(worst, rows, key=lambda rs: max((r.bytes for r in rs), default=0))
    return worst


def ground_sentences(runtime, points, texts: list[str], tile: float | None = None, overlap: float = 2.0,
                     max_memory_mb: float | None = None) -> dict:
    """Encode the scene once and ground every sentence -> a JSON-able report with latencies.

    Every sentence is encoded (and so checked: empty, too long, unknown words) and the scene's attention memory is
    checked (``check_memory``) before the scene runs, so bad input fails before the expensive part. A sentence's
    latency is its text encoding plus its grounding. ``tile``: ground in overlapping tiles of this size (metres,
    ``tsp3d.tiling``) instead of over the whole scene."""
    encoded, text_ms = [], []
    for text in texts:
        s = time.perf_counter()
        encoded.append(runtime.encode_text(text))
        text_ms.append(1e3 * (time.perf_counter() - s))
    check_memory(runtime, points, tile, overlap, max_memory_mb)
    t0 = time.perf_counter()
    scene = runtime.encode_scene(points)
    t1 = time.perf_counter()
    results, per_text, tiles = [], [], None
    for text, t, ms in zip(texts, encoded, text_ms):
        s = time.perf_counter()
        if tile is None:
            results.append(runtime.ground(scene, t.feats, t.mask, text))
        else:
            from tsp3d.tiling import ground_tiled

            best, tiles = ground_tiled(runtime, scene, t.feats, t.mask, text, tile, overlap)
            results.append(best)
        per_text.append(ms + 1e3 * (time.perf_counter() - s))
    report = {"runtime": runtime.label, "points": int(scene.num_points), "results": results,
              "latency_ms": {"scene": 1e3 * (t1 - t0), "per_sentence": per_text}}
    if tile is not None:
        report["tiling"] = {"size_m": tile, "overlap_m": overlap, "tiles": len(tiles or [])}
    return report


def report_json(report: dict, scene_name: str) -> dict:
    return {"scene": scene_name, **report, "results": [r.to_dict() for r in report["results"]]}
