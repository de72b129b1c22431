"""``tsp3d quickstart``: the whole CPU pipeline on the synthetic default, in one directory.

Steps (each reused when its output already exists in the directory, so a second run is quick and an interrupted
one continues): generate a small synthetic set -> train ``tiny`` under a time budget (the recipe of
tsp3d/train/recipes.py) -> its accuracy on every validation sentence next to the pretrained reference model's and
the random / class-only baselines -> export the FP32 + FP16 bundle -> validate ONNX Runtime against PyTorch -> time
every runtime -> (TensorRT engine, where TensorRT and a GPU exist) -> ``summary.json`` and printed tables.

Layout of ``out``::

    data/            synthetic dataset (tsp3d data format)
    run/             training run (last.pt, best.pt, logs); run/quickstart.json marks it finished
    bundle/          export bundle (model*.onnx, backbone/head, text encoder, manifest.json)
    accuracy.json    Acc@0.25/0.5 of the trained model, the reference model and the baselines on the val split
    validate.json    parity report (+ validate.md)
    latency.json     per-runtime latency
    summary.json     what the table shows
"""
from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from tsp3d.errors import InputFileError

TRAIN_MARKER = "quickstart.json"


@dataclass
class QuickstartOptions:
    out: str = "runs/quickstart"
    train_scenes: int = 300
    val_scenes: int = 50
    points: int = 20_000  # per generated scene; the tiny config subsamples to its max_points anyway
    minutes: float = 8.0  # training time budget
    budget_clock: str = "wall"  # "wall" (minutes on the clock) or "process" (CPU-minutes of training)
    max_steps: int = 0  # 0 = until the time budget ends (tests use a few steps)
    bench_scenes: int = 5
    seed: int = 0
    threads: int = 0  # 0 = library defaults
    force: bool = False  # start over: regenerate, retrain, re-export

    def __post_init__(self) -> None:
        for name in ("train_scenes", "val_scenes", "bench_scenes"):
            if getattr(self, name) < 1:
                raise InputFileError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.minutes <= 0 and self.max_steps <= 0:
            raise InputFileError("give a positive training time budget (minutes) or max_steps")
        if self.budget_clock not in ("wall", "process"):
            raise InputFileError(f"budget_clock must be wall or process, got {self.budget_clock!r}")
        if self.max_steps < 0 or self.threads < 0:
            raise InputFileError("max_steps and threads must be >= 0")


def _data(opts: QuickstartOptions, root: Path, say) -> Path:
    from tsp3d.data.format import META_FILE
    from tsp3d.data.synth import generate

    data = root / "data"
    if (data / META_FILE).is_file() and not opts.force:
        say(f"data: reusing {data}")
        return data
    say(f"data: generating {opts.train_scenes} train + {opts.val_scenes} val scenes into {data}")
    generate(data, train_scenes=opts.train_scenes, val_scenes=opts.val_scenes, points=opts.points, seed=opts.seed,
             force=opts.force, workers=1)
    return data


def _train(opts: QuickstartOptions, root: Path, data: Path, say) -> tuple[Path, dict]:
    from tsp3d.train import TrainOptions, train

    run = root / "run"
    marker = run / TRAIN_MARKER
    if marker.is_file() and not opts.force:
        info = json.loads(marker.read_text())
        say(f"train: reusing {run} ({info['step']} steps)")
        return Path(info["checkpoint"]), info
    resume = (run / "last.pt").is_file() and not opts.force
    from tsp3d.train.recipes import TINY_CPU

    topts = TrainOptions(**{**TINY_CPU, "budget_clock": opts.budget_clock}, data=str(data), out=str(run),
                         time_budget_min=opts.minutes, max_steps=opts.max_steps, seed=opts.seed,
                         threads=opts.threads, val_every=0, text_cache=str(root / "text_cache"))
    say(f"train: tiny for {opts.minutes:g} min" + (f" or {opts.max_steps} steps" if opts.max_steps else "")
        + (" (resuming)" if resume else ""))
    t0 = time.perf_counter()
    result = train(topts, resume=resume, force=opts.force, progress=False)
    best = run / "best.pt"
    info = {"checkpoint": str(best if best.is_file() else run / "last.pt"), "step": result.step,
            "epoch": result.epoch, "stopped_by": result.stopped_by, "best_val_acc25": result.best_acc25,
            "seconds": round(time.perf_counter() - t0, 1)}
    from tsp3d.utils.atomic import write_json

    write_json(marker, info, force=True)
    return Path(info["checkpoint"]), info


def _accuracy(opts: QuickstartOptions, root: Path, checkpoint: Path, data: Path, say) -> dict:
    """Acc@0.25/0.5 on every validation sentence: the trained model, the pretrained reference, the baselines."""
    from tsp3d.data.baselines import compute_baselines
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.errors import CheckpointError
    from tsp3d.pretrained import pretrained_path
    from tsp3d.utils.atomic import write_json

    path = root / "accuracy.json"
    if path.is_file() and not opts.force:
        done = json.loads(path.read_text())
        if done.get("checkpoint") == str(checkpoint) and done.get("step") == _step_of(checkpoint):
            say(f"accuracy: reusing {path}")
            return done
    val = GroundingDataset(data, "val")
    say(f"accuracy: the trained model, the reference model and the baselines on {len(val)} val sentences")
    rows = {"trained (this run)": _evaluate(checkpoint, val, opts.threads)}
    try:
        rows[f"pretrained {REFERENCE}"] = _evaluate(pretrained_path(REFERENCE), val, opts.threads)
    except CheckpointError as e:
        say(f"  reference model unavailable: {e}")
    for name, scores in compute_baselines(val).items():
        rows[f"baseline: {name.replace('_', '-')}"] = {s: {f"acc@{k:g}": v for k, v in scores.acc[s].items()}
                                                       for s in ("overall", "multiple")}
    result = {"checkpoint": str(checkpoint), "step": _step_of(checkpoint), "sentences": len(val), "rows": rows}
    write_json(path, result, force=True)
    return result


REFERENCE = "tiny-synrefer"  # the pretrained model the quickstart compares with (tsp3d/pretrained)


def _step_of(checkpoint: Path) -> int:
    from tsp3d.checkpoint import load_checkpoint

    return load_checkpoint(checkpoint).step


def _evaluate(checkpoint, dataset, threads: int) -> dict:
    import torch

    from tsp3d.checkpoint import load_model
    from tsp3d.evaluation import evaluate
    from tsp3d.text import load_text_encoder
    from tsp3d.train.loop import select_sparse_backend
    from tsp3d.sparse import get_backend, set_backend

    model, ckpt = load_model(checkpoint)
    previous, previous_threads = get_backend(), torch.get_num_threads()
    try:
        select_sparse_backend("auto")
        if threads:
            torch.set_num_threads(threads)
        acc = evaluate(model, dataset, load_text_encoder(ckpt.text_encoder))["accuracy"]
    finally:
        set_backend(previous)
        torch.set_num_threads(previous_threads)
    return {s: {k: acc[s][k] for k in ("acc@0.25", "acc@0.5")} for s in ("overall", "multiple")}


def _export(opts: QuickstartOptions, root: Path, checkpoint: Path, say) -> Path:
    from tsp3d.checkpoint import load_checkpoint
    from tsp3d.bundle import export_bundle

    bundle = root / "bundle"
    manifest = bundle / "manifest.json"
    if manifest.is_file() and not opts.force:
        done = json.loads(manifest.read_text())
        if done.get("checkpoint", {}).get("state_hash") == load_checkpoint(checkpoint).hash and done.get("fp16"):
            say(f"export: reusing {bundle}")
            return bundle
    say(f"export: FP32 + FP16 bundle into {bundle}")
    export_bundle(checkpoint, bundle, fp16=True, force=True, progress=lambda m: say(f"  {m}"))
    return bundle


def _validate(opts: QuickstartOptions, root: Path, checkpoint: Path, bundle: Path, data: Path, say) -> dict:
    from tsp3d.validate import validate
    from tsp3d.validate_report import write_report

    say(f"validate: PyTorch FP32 vs ONNX Runtime FP32/FP16 on {opts.val_scenes} val scenes")
    report = validate(checkpoint, bundle, data, split="val", scenes=opts.val_scenes,
                      threads=opts.threads or None)
    write_report(report, root / "validate.json", force=True)
    return report


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(1e3 * (time.perf_counter() - t0))
    return statistics.median(times)


def measure_latency(runtimes: dict, scenes: list, text: str) -> dict:
    """Median full-query time (scene encoding + one sentence) and per-extra-sentence time of each runtime, over
    ``scenes`` (point arrays), after one warm-up query."""
    out = {}
    for label, rt in runtimes.items():
        txt = rt.encode_text(text)
        rt.predict(scenes[0], txt.feats, txt.mask)  # warm-up: sessions, caches, lazy loads
        full, head = [], []
        for points in scenes:
            full.append(_median_ms(lambda: rt.predict(points, txt.feats, txt.mask), 1))
            handle = rt.encode_scene(points)
            head.append(_median_ms(lambda: rt.ground(handle, txt.feats, txt.mask), 3))
        out[label] = {"full_ms": statistics.median(full), "sentence_ms": statistics.median(head),
                      "scenes": len(scenes)}
    return out


def _latency(opts: QuickstartOptions, root: Path, checkpoint: Path, bundle: Path, data: Path, say) -> dict:
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.data.points import subsample
    from tsp3d.runtime.onnx_runtime import OnnxRuntime
    from tsp3d.runtime.torch_runtime import TorchRuntime
    from tsp3d.sparse import get_backend, set_backend
    from tsp3d.utils.atomic import write_json

    say(f"latency: PyTorch eager and ONNX Runtime FP32/FP16 on {opts.bench_scenes} scenes")
    dataset = GroundingDataset(data, "val")
    ids = dataset.scene_ids[:opts.bench_scenes]
    torch_rt = TorchRuntime(checkpoint)
    limit = torch_rt.model.cfg.capacities.max_points
    scenes = [subsample(s.points, limit) if s.points.shape[0] > limit else s.points
              for s in (dataset.scene(i) for i in ids)]
    text = dataset.annotations[0].text
    previous = get_backend()
    try:
        set_backend("reference")  # what a user without our library runs
        result = measure_latency({"pytorch-eager": torch_rt}, scenes, text)
    finally:
        set_backend(previous)
    ort = {f"onnxruntime-{p}": OnnxRuntime(bundle, p, threads=opts.threads or None) for p in ("fp32", "fp16")}
    result.update(measure_latency(ort, scenes, text))
    write_json(root / "latency.json", result, force=True)
    return result


def _tensorrt(say) -> dict:
    """TensorRT needs the Python package and a GPU; say which is missing rather than pretend."""
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return {"status": "skipped", "reason": "TensorRT Python package not installed"}
    try:
        import torch

        if not torch.cuda.is_available():
            return {"status": "skipped", "reason": "no CUDA GPU visible"}
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return {"status": "skipped", "reason": "torch missing"}
    return {"status": "available", "reason": "run `tsp3d build-engine bundle/model.onnx` then "
                                             "`tsp3d validate --engine ...`"}


def train_and_score(opts: QuickstartOptions, say: Callable[[str], None] = print) -> tuple[Path, Path, dict, dict]:
    """The quickstart's first steps in ``opts.out`` (data, training, accuracy; each reused when done): returns
    (data, checkpoint, train info, accuracy). The quickstart accuracy benchmark runs only these."""
    root = Path(opts.out)
    if root.exists() and not root.is_dir():
        raise InputFileError(f"{root} exists and is not a directory")
    root.mkdir(parents=True, exist_ok=True)
    data = _data(opts, root, say)
    checkpoint, train_info = _train(opts, root, data, say)
    return data, checkpoint, train_info, _accuracy(opts, root, checkpoint, data, say)


def run_quickstart(opts: QuickstartOptions, say: Callable[[str], None] = print) -> dict:
    """Run (or continue) the quickstart in ``opts.out``; returns the summary (also written to summary.json)."""
    from tsp3d.utils.atomic import write_json

    root = Path(opts.out)
    t0 = time.perf_counter()
    data, checkpoint, train_info, accuracy = train_and_score(opts, say)
    bundle = _export(opts, root, checkpoint, say)
    report = _validate(opts, root, checkpoint, bundle, data, say)
    latency = _latency(opts, root, checkpoint, bundle, data, say)
    summary = {
        "options": asdict(opts),
        "train": train_info,
        "accuracy": accuracy,
        "reference_accuracy": report["reference_accuracy"],
        "parity": {label: {"precision": s["precision"], "top1_identical": s["top1_identical"],
                           "counts_identical": s["counts_identical"], "accuracy": s["accuracy"]}
                   for label, s in report["runtimes"].items()},
        "violations": report["violations"],
        "latency": latency,
        "tensorrt": _tensorrt(say),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    write_json(root / "summary.json", summary, force=True)
    return summary


def summary_rows(summary: dict) -> list[tuple[str, ...]]:
    """(runtime, Acc@0.25, Acc@0.5, top-1 identical, full query ms, extra sentence ms) per runtime."""
    ref = summary["reference_accuracy"]
    lat = summary["latency"]
    rows = [("pytorch-eager (reference)", f"{ref['acc@0.25']:.3f}", f"{ref['acc@0.5']:.3f}", "-",
             f"{lat['pytorch-eager']['full_ms']:.0f}", f"{lat['pytorch-eager']['sentence_ms']:.1f}")]
    for label, p in summary["parity"].items():
        key = f"onnxruntime-{p['precision']}"
        ms = lat.get(key, {})
        rows.append((label, f"{p['accuracy']['acc@0.25']:.3f}", f"{p['accuracy']['acc@0.5']:.3f}",
                     f"{p['top1_identical']:.3f}", f"{ms.get('full_ms', float('nan')):.0f}",
                     f"{ms.get('sentence_ms', float('nan')):.1f}"))
    return rows


def accuracy_rows(summary: dict) -> list[tuple[str, ...]]:
    """(model, Acc@0.25, Acc@0.5, multiple Acc@0.25) for the accuracy table."""
    return [(name, f"{r['overall']['acc@0.25']:.3f}", f"{r['overall']['acc@0.5']:.3f}",
             f"{r['multiple']['acc@0.25']:.3f}") for name, r in summary["accuracy"]["rows"].items()]
