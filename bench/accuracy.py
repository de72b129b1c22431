"""Accuracy benchmark (issue 3): train ``tiny`` under a time budget on the default synthetic benchmark, evaluate it on
the full validation split, and write ``docs/bench/accuracy.json`` with PASS/MISS per target.

    python -m tsp3d.bench.accuracy                       # 15 minutes of training, 1 thread, then the full val split
    python -m tsp3d.bench.accuracy --data /tmp/synth_default --budget-min 15 --threads 1

The benchmark data (``tsp3d.data.synth`` defaults: 1200 train / 200 val scenes of 50k points, seed 0) is generated
into ``data/bench/synth-default`` when absent (git-ignored; any existing copy can be passed with ``--data``, it is
checked to be the default benchmark). Text features are encoded once into ``data/bench/textcache`` before the
training clock starts (the frozen encoder is data preparation; its time is reported). The budget counts training
steps only; the learning-curve validations on ``--curve-samples`` annotations are timed separately. The checkpoint
stays in the run directory (``runs/accuracy``, git-ignored); its path is in the JSON for reuse.

JSON (``benchmark: accuracy``): ``targets`` (the issue's thresholds), ``results`` (``model``: Acc@0.25/0.5 overall,
unique, multiple with counts; ``baselines``: random and class-only oracle on the same split; ``learning_curve``;
``training``: steps, seconds, s/step, threads, backend, recipe; ``checkpoint``), ``verdict`` (PASS/MISS per target),
``command``, ``machine``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / "data" / "bench" / "synth-default"
DEFAULT_TEXT_CACHE = REPO / "data" / "bench" / "textcache"
DEFAULT_RUN = REPO / "runs" / "accuracy"
TARGETS = {  # issue 3
    "acc@0.25": 0.80,
    "acc@0.5": 0.60,
    "multiple_acc@0.25_over_class_only": 0.15,  # multiple-subset Acc@0.25 >= class-only oracle (multiple) + 15 pts
}
# The tiny recipe for a short CPU budget (docs/model.md, "Training tiny in minutes"); every other option is the
# TrainOptions default.
RECIPE = {"config": "tiny", "batch_size": 8, "sentences_per_scene": 4, "lr": 4e-3, "lr_schedule": "cosine",
          "warmup_steps": 30, "grad_clip": 1.0, "weight_decay": 5e-4, "augment": True}


def ensure_benchmark(data: Path, generate: bool = True, progress=None, require_default: bool = True) -> dict:
    """The default benchmark's meta.json at ``data``, generating it there when absent (``require_default=False``
    accepts any dataset, for smoke tests)."""
    from tsp3d.data.synth import DEFAULT_POINTS, DEFAULT_SEED, DEFAULT_TRAIN_SCENES, DEFAULT_VAL_SCENES, generate as gen
    from tsp3d.errors import InputFileError

    meta_path = data / "meta.json"
    if not meta_path.is_file():
        if not generate:
            raise InputFileError(f"no benchmark at {data}")
        return gen(data, DEFAULT_TRAIN_SCENES, DEFAULT_VAL_SCENES, DEFAULT_POINTS, DEFAULT_SEED, progress=progress)
    meta = json.loads(meta_path.read_text())
    if not require_default:
        return meta
    want = {"seed": DEFAULT_SEED, "points_per_scene": DEFAULT_POINTS}
    got = {k: meta.get(k) for k in want}
    scenes = {s: meta.get("splits", {}).get(s, {}).get("scenes") for s in ("train", "val")}
    if got != want or scenes != {"train": DEFAULT_TRAIN_SCENES, "val": DEFAULT_VAL_SCENES}:
        raise InputFileError(f"{data} is not the default synthetic benchmark ({got}, scenes {scenes})",
                             hint="pass --data to a fresh directory to generate it")
    return meta


def run(data: Path = DEFAULT_DATA, run_dir: Path = DEFAULT_RUN, budget_min: float = 15.0, threads: int = 1,
        curve_every: int = 200, curve_samples: int = 200, text_cache: Path = DEFAULT_TEXT_CACHE,
        val_limit: int = 0, force: bool = False, out_dir: Path | None = None, recipe: dict | None = None,
        command: str | None = None, require_default: bool = True) -> dict:
    """Train, evaluate, write ``accuracy.json``; returns its payload."""
    import torch

    from tsp3d.bench.common import machine_info, write_result
    from tsp3d.checkpoint import load_model
    from tsp3d.data.baselines import compute_baselines
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.evaluation import error_breakdown, evaluate
    from tsp3d.sparse import get_backend, set_backend
    from tsp3d.text import TextFeatureCache, load_text_encoder
    from tsp3d.train import TrainOptions, train
    from tsp3d.train.logs import read_csv
    from tsp3d.train.loop import select_sparse_backend

    recipe = {**RECIPE, **(recipe or {})}
    machine_before = machine_info()
    t0 = time.perf_counter()
    ensure_benchmark(Path(data), require_default=require_default)
    data_s = time.perf_counter() - t0
    opts = TrainOptions(data=str(data), out=str(run_dir), time_budget_min=budget_min, threads=threads,
                        val_every=0, val_every_steps=curve_every, val_samples=curve_samples,
                        text_cache=str(text_cache), **recipe)
    t0 = time.perf_counter()
    result = train(opts, force=force, progress=sys.stderr.isatty())
    train_wall_s = time.perf_counter() - t0
    ckpt_path = Path(run_dir) / "last.pt"
    model, ckpt = load_model(ckpt_path)
    previous, previous_threads = get_backend(), torch.get_num_threads()
    val = GroundingDataset(data, "val")
    texts = TextFeatureCache(load_text_encoder(ckpt.config.text_encoder), text_cache)
    t0 = time.perf_counter()
    try:
        select_sparse_backend("auto")  # evaluation on the fast backend too (train() restored the caller's)
        torch.set_num_threads(threads)
        report = evaluate(model, val, texts, limit=val_limit, points=ckpt.meta["points"])
    finally:
        set_backend(previous)
        torch.set_num_threads(previous_threads)
    eval_s = time.perf_counter() - t0
    base = compute_baselines(val if not val_limit else [val[i] for i in range(min(val_limit, len(val)))])
    acc = report["accuracy"]
    baselines = {name: {s: {"n": sc.count[s], **{f"acc@{k:g}": v for k, v in sc.acc[s].items()}}
                        for s in sc.acc} for name, sc in base.items()}
    log = read_csv(Path(run_dir) / "train_log.csv")
    curve = [{k: r[k] for k in ("step", "train_s", "val_s", "overall_acc@0.25", "overall_acc@0.5",
                                "multiple_acc@0.25") if k in r}
             for r in read_csv(Path(run_dir) / "val_log.csv")]
    steps, train_s = result.step, float(ckpt.meta.get("train_seconds", 0.0))
    oracle_multiple = baselines["class_only"]["multiple"]["acc@0.25"]
    checks = {
        "acc@0.25": acc["overall"]["acc@0.25"] >= TARGETS["acc@0.25"],
        "acc@0.5": acc["overall"]["acc@0.5"] >= TARGETS["acc@0.5"],
        "multiple_acc@0.25_over_class_only":
            acc["multiple"]["acc@0.25"] >= oracle_multiple + TARGETS["multiple_acc@0.25_over_class_only"],
    }
    payload = {
        "name": "accuracy",
        "title": f"tiny trained {budget_min:g} min on CPU, default synthetic benchmark, full val split",
        "command": command,
        "targets": TARGETS,
        "results": {
            "model": acc,
            "baselines": baselines,
            "learning_curve": curve,
            "training": {
                "steps": steps, "train_seconds": round(train_s, 1), "s_per_step": round(train_s / max(steps, 1), 3),
                "stopped_by": result.stopped_by, "budget_min": budget_min, "threads": threads,
                "sparse_backend": ckpt.meta.get("sparse_backend"), "points": ckpt.meta.get("points"),
                "samples_seen": steps * opts.batch_size, "train_annotations": len(GroundingDataset(data, "train")),
                "recipe": recipe, "wall_seconds": round(train_wall_s, 1),
                "loss_first_last": [log[0]["loss"], log[-1]["loss"]] if log else None,
            },
            "errors": error_breakdown(report["predictions"], val),
            "evaluation": {"annotations": acc["overall"]["n"], "seconds": round(eval_s, 1),
                           "latency": report["latency"]},
            "data_seconds": round(data_s, 1),
            "checkpoint": str(Path(ckpt_path).resolve()),
        },
        "verdict": {k: "PASS" if ok else "MISS" for k, ok in checks.items()},
        "machine_before": machine_before,
    }
    payload["markdown"] = markdown(payload)
    write_result("accuracy", payload, out_dir)
    return payload


def markdown(d: dict) -> str:
    """The docs/BENCHMARKS.md section of an accuracy result: model vs baselines, verdicts, training, curve, errors."""
    r, t = d["results"], d["results"]["training"]
    lines = ["| | overall Acc@0.25 | overall Acc@0.5 | unique Acc@0.25 | multiple Acc@0.25 | multiple Acc@0.5 |",
             "|---|---|---|---|---|---|"]
    rows = [("tiny, trained (this run)", r["model"])]
    rows += [(f"baseline: {k.replace('_', '-')}", v) for k, v in r["baselines"].items()]
    for name, m in rows:
        lines.append(f"| {name} | {m['overall']['acc@0.25']:.4f} | {m['overall']['acc@0.5']:.4f} | "
                     f"{m['unique']['acc@0.25']:.4f} | {m['multiple']['acc@0.25']:.4f} | {m['multiple']['acc@0.5']:.4f} |")
    lines += ["", "| target | bound | status |", "|---|---|---|"]
    lines += [f"| {k} | {b} | **{d['verdict'][k]}** |" for k, b in d["targets"].items()]
    loss = t.get("loss_first_last")
    lines += ["", f"`{d.get('command')}`. Training: {t['steps']} steps in {t['train_seconds']:.0f} s "
              f"({t['s_per_step']:.2f} s/step, {t['threads']} thread(s), sparse backend `{t['sparse_backend']}`, "
              f"{t['points']} points, {t['samples_seen']} sentences seen of {t['train_annotations']}, recipe "
              f"`{json.dumps(t['recipe'])}`)" + (f"; loss {loss[0]:.2f} -> {loss[1]:.2f}." if loss else "."),
              "", "Learning curve (validation subset):", "",
              "| step | training s | overall Acc@0.25 | multiple Acc@0.25 |", "|---|---|---|---|"]
    lines += [f"| {c['step']} | {c['train_s']:.0f} | {c['overall_acc@0.25']:.3f} | {c.get('multiple_acc@0.25', 0):.3f} |"
              for c in r["learning_curve"]]
    e = r.get("errors")
    if e:
        lines += ["", f"Where the boxes go (IoU > {e['threshold']:g} with): the target {e['hit']:.3f}, another object "
                  f"of its class {e['other_same_class']:.3f}, an object of another class {e['other_class']:.3f}, no "
                  f"object {e['no_object']:.3f}."]
        if "objects_per_scene" in e:
            lines[-1] += (f" Distinct objects matched per scene {e['objects_per_scene']:.2f} for "
                          f"{e['targets_per_scene']:.2f} distinct targets (a text-blind model: 1).")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark directory (generated when absent)")
    p.add_argument("--run-dir", type=Path, default=DEFAULT_RUN)
    p.add_argument("--budget-min", type=float, default=15.0, help="training minutes")
    p.add_argument("--threads", type=int, default=1, help="torch threads (2 is ~1.4x faster on a quiet 2-core "
                   "machine, but 10x slower or worse when other jobs share the cores: measured in docs/model.md)")
    p.add_argument("--curve-every", type=int, default=200, help="steps between learning-curve validations")
    p.add_argument("--curve-samples", type=int, default=200, help="validation annotations per curve point")
    p.add_argument("--val-limit", type=int, default=0, help="final evaluation on the first N annotations (0 = all)")
    p.add_argument("--text-cache", type=Path, default=DEFAULT_TEXT_CACHE)
    p.add_argument("--out-dir", type=Path, default=None, help="where accuracy.json goes (default docs/bench)")
    p.add_argument("--force", action="store_true", help="start over in a non-empty run directory")
    p.add_argument("--report-only", action="store_true", help="re-render the Markdown of an existing accuracy.json")
    a = p.parse_args(argv)
    from tsp3d.errors import Tsp3dError

    if a.report_only:
        from tsp3d.bench.common import RESULTS_DIR
        from tsp3d.utils.atomic import write_json

        path = (a.out_dir or RESULTS_DIR) / "accuracy.json"
        if not path.is_file():
            print(f"error: {path} does not exist (run the benchmark first)", file=sys.stderr)
            return 1
        payload = json.loads(path.read_text())
        payload["markdown"] = markdown(payload)
        write_json(path, payload, force=True)
        print(payload["markdown"])
        return 0

    try:
        r = run(a.data, a.run_dir, a.budget_min, a.threads, a.curve_every, a.curve_samples, a.text_cache,
                a.val_limit, a.force, a.out_dir,
                command="python -m tsp3d.bench.accuracy " + " ".join(argv if argv is not None else sys.argv[1:]))
    except Tsp3dError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    m = r["results"]["model"]
    print(json.dumps({"model": m, "verdict": r["verdict"], "checkpoint": r["results"]["checkpoint"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
