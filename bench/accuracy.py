"""Accuracy benchmark (issues 3, 12): train ``tiny`` under a CPU-time budget on the default synthetic benchmark,
evaluate it on the full validation split, and write ``docs/bench/<profile result>.json`` with PASS/MISS per target.

    python -m tsp3d.bench.accuracy                          # profile 15min: 15 CPU-minutes, 1 thread, full val split
    python -m tsp3d.bench.accuracy --profile reference      # the reference checkpoint: 120 CPU-minutes (resumable)
    python -m tsp3d.bench.accuracy --data /tmp/synth_default --budget-min 15 --threads 1

The benchmark data (``tsp3d.data.synth`` defaults: 1200 train / 200 val scenes of 50k points, seed 0) is generated
into ``data/bench/synth-default`` when absent (git-ignored; any existing copy can be passed with ``--data``, it is
checked to be the default benchmark). Text features are encoded once into ``data/bench/textcache`` before the
training clock starts (the frozen encoder is data preparation; its time is reported). The budget counts the CPU time
of the training steps (``budget_clock = "process"``; with 1 thread, CPU-minutes, whatever else loads the machine);
the learning-curve validations on ``--curve-samples`` annotations are timed separately on the same clock. The
checkpoint stays in the run directory (git-ignored); its path is in the JSON for reuse. ``--resume`` continues an
interrupted run from its last checkpoint.

JSON (``benchmark``: the profile's result name): ``targets`` (the issue's thresholds), ``results`` (``model``:
Acc@0.25/0.5 overall, unique, multiple with counts and 95 % Wilson intervals; ``curve``: right-class rate and the rest
of ``evaluation.curve_metrics`` on the full split; ``baselines``: random and class-only oracle on the same split;
``learning_curve``; ``training``: steps, CPU seconds, s/step, threads, backend, recipe; ``checkpoint``), ``verdict``
(PASS/MISS per target), ``command``, ``machine``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tsp3d.train.recipes import TINY_CPU

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / "data" / "bench" / "synth-default"
DEFAULT_TEXT_CACHE = REPO / "data" / "bench" / "textcache"
DEFAULT_RUN = REPO / "runs" / "accuracy"
# Issue 12's targets. "multiple_acc@0.25_over_class_only": multiple-subset Acc@0.25 minus the class-only oracle's.
PROFILES = {
    "15min": {"budget_min": 15.0, "result": "accuracy", "run_dir": DEFAULT_RUN,
              "targets": {"acc@0.25": 0.50, "right_class": 0.85}},
    "reference": {"budget_min": 120.0, "result": "accuracy_reference", "run_dir": REPO / "runs" / "reference",
                  "targets": {"acc@0.25": 0.75, "acc@0.5": 0.55, "multiple_acc@0.25_over_class_only": 0.25}},
}
TARGETS = PROFILES["15min"]["targets"]
# The tiny recipe for a CPU budget (tsp3d/train/recipes.py; docs/model.md); every other option is the TrainOptions
# default.
RECIPE = TINY_CPU


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


def run(data: Path = DEFAULT_DATA, run_dir: Path | None = None, budget_min: float | None = None, threads: int = 1,
        curve_every: int = 300, curve_samples: int = 150, text_cache: Path = DEFAULT_TEXT_CACHE,
        val_limit: int = 0, force: bool = False, out_dir: Path | None = None, recipe: dict | None = None,
        command: str | None = None, require_default: bool = True, profile: str = "15min",
        resume: bool = False) -> dict:
    """Train (or resume), evaluate, write the profile's result JSON; returns its payload."""
    from tsp3d.bench.common import machine_info, write_result
    from tsp3d.train import TrainOptions, train

    prof = PROFILES[profile]
    run_dir = Path(run_dir or prof["run_dir"])
    budget_min = prof["budget_min"] if budget_min is None else budget_min
    recipe = {**RECIPE, **(recipe or {})}
    machine_before = machine_info()
    t0 = time.perf_counter()
    ensure_benchmark(Path(data), require_default=require_default)
    data_s = time.perf_counter() - t0
    opts = TrainOptions(data=str(data), out=str(run_dir), time_budget_min=budget_min, threads=threads,
                        val_every=0, val_every_steps=curve_every, val_samples=curve_samples,
                        text_cache=str(text_cache), **recipe)
    t0 = time.perf_counter()
    result = train(opts, resume=resume and (run_dir / "last.pt").is_file(), force=force and not resume,
                   progress=sys.stderr.isatty())
    train_wall_s = time.perf_counter() - t0
    payload = evaluate_run(run_dir, data, threads, text_cache, val_limit, prof["targets"])
    payload["results"]["training"].update(stopped_by=result.stopped_by, budget_min=budget_min, recipe=recipe,
                                          wall_seconds=round(train_wall_s, 1))
    payload["results"]["data_seconds"] = round(data_s, 1)
    payload.update(name=prof["result"], profile=profile, command=command, machine_before=machine_before,
                   title=f"tiny trained {budget_min:g} CPU-minutes, default synthetic benchmark, full val split")
    payload["markdown"] = markdown(payload)
    write_result(prof["result"], payload, out_dir)
    return payload


def evaluate_run(run_dir: Path, data: Path, threads: int, text_cache: Path, val_limit: int, targets: dict) -> dict:
    """Evaluate ``run_dir/last.pt`` on the validation split against the baselines and ``targets``."""
    from tsp3d.checkpoint import load_model
    from tsp3d.data.baselines import compute_baselines
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.evaluation import curve_metrics, error_breakdown
    from tsp3d.text import TextFeatureCache, load_text_encoder
    from tsp3d.train.logs import read_csv

    ckpt_path = Path(run_dir) / "last.pt"
    model, ckpt = load_model(ckpt_path)
    val = GroundingDataset(data, "val")
    texts = TextFeatureCache(load_text_encoder(ckpt.config.text_encoder), text_cache)
    report, eval_s = _evaluate_on_fast_backend(model, val, texts, val_limit, ckpt.meta["points"], threads)
    base = compute_baselines(val if not val_limit else [val[i] for i in range(min(val_limit, len(val)))])
    acc = report["accuracy"]
    _add_ci95(acc)
    baselines = {name: {s: {"n": sc.count[s], **{f"acc@{k:g}": v for k, v in sc.acc[s].items()}}
                        for s in sc.acc} for name, sc in base.items()}
    curve_now = curve_metrics(report, val)
    val_log = Path(run_dir) / "val_log.csv"
    curve = read_csv(val_log) if val_log.is_file() else []
    values = {"acc@0.25": acc["overall"]["acc@0.25"], "acc@0.5": acc["overall"]["acc@0.5"],
              "right_class": curve_now["right_class"],
              "multiple_acc@0.25_over_class_only":
                  acc["multiple"]["acc@0.25"] - baselines["class_only"]["multiple"]["acc@0.25"]}
    return {
        "targets": targets,
        "values": {k: values[k] for k in targets},
        "results": {
            "model": acc,
            "curve": curve_now,
            "baselines": baselines,
            "learning_curve": curve,
            "training": _training_facts(ckpt, Path(run_dir), data, curve),
            "errors": error_breakdown(report["predictions"], val),
            "evaluation": {"annotations": acc["overall"]["n"], "seconds": round(eval_s, 1),
                           "latency": report["latency"]},
            "checkpoint": str(ckpt_path.resolve()),
        },
        "verdict": {k: "PASS" if values[k] >= b else "MISS" for k, b in targets.items()},
    }


def _evaluate_on_fast_backend(model, val, texts, val_limit: int, points: int, threads: int) -> tuple[dict, float]:
    """(evaluation report, seconds) with the fast sparse backend and ``threads``; the caller's are restored."""
    import torch

    from tsp3d.evaluation import evaluate
    from tsp3d.sparse import get_backend, set_backend
    from tsp3d.train.loop import select_sparse_backend

    previous, previous_threads = get_backend(), torch.get_num_threads()
    t0 = time.perf_counter()
    try:
        select_sparse_backend("auto")  # evaluation on the fast backend too (train() restored the caller's)
        torch.set_num_threads(threads)
        report = evaluate(model, val, texts, limit=val_limit, points=points)
    finally:
        set_backend(previous)
        torch.set_num_threads(previous_threads)
    return report, time.perf_counter() - t0


def _add_ci95(acc: dict) -> None:
    """95 % Wilson intervals on each split's Acc@0.25/0.5: the verdicts are on a sample."""
    from tsp3d.evaluation import wilson_interval

    for split in acc.values():
        for k in ("acc@0.25", "acc@0.5"):
            hits = round(split[k] * split["n"]) if split["n"] else 0  # an empty split's accuracy is NaN
            split[f"{k}_ci95"] = list(wilson_interval(hits, split["n"]))


def _training_facts(ckpt, run_dir: Path, data: Path, curve: list) -> dict:
    """The run's training record: steps, CPU seconds, recipe, validation time, first and last loss."""
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.train.logs import read_csv

    log = read_csv(run_dir / "train_log.csv")
    steps, train_s = ckpt.step, float(ckpt.meta.get("train_seconds", 0.0))
    opts = ckpt.meta.get("options", {})
    return {
        "steps": steps, "train_seconds": round(train_s, 1), "s_per_step": round(train_s / max(steps, 1), 3),
        "budget_clock": ckpt.meta.get("budget_clock", "wall"), "threads": opts.get("threads"),
        "sparse_backend": ckpt.meta.get("sparse_backend"), "points": ckpt.meta.get("points"),
        "samples_seen": steps * opts.get("batch_size", 0), "seed": opts.get("seed"),
        "train_annotations": len(GroundingDataset(data, "train")),
        "validation_seconds": round(sum(float(r.get("val_s", 0)) for r in curve), 1),
        "loss_first_last": [log[0]["loss"], log[-1]["loss"]] if log else None,
    }


def _fmt_acc(m: dict, key: str) -> str:
    ci = m.get(f"{key}_ci95")
    return f"{m[key]:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def markdown(d: dict) -> str:
    """The docs/BENCHMARKS.md section of an accuracy result: model vs baselines, verdicts, training, curve, errors."""
    r, t = d["results"], d["results"]["training"]
    lines = ["| | overall Acc@0.25 [95 % CI] | overall Acc@0.5 | unique Acc@0.25 | multiple Acc@0.25 | "
             "multiple Acc@0.5 |", "|---|---|---|---|---|---|"]
    rows = [("tiny, trained (this run)", r["model"])]
    rows += [(f"baseline: {k.replace('_', '-')}", v) for k, v in r["baselines"].items()]
    for name, m in rows:
        lines.append(f"| {name} | {_fmt_acc(m['overall'], 'acc@0.25')} | {m['overall']['acc@0.5']:.3f} | "
                     f"{m['unique']['acc@0.25']:.3f} | {m['multiple']['acc@0.25']:.3f} | {m['multiple']['acc@0.5']:.3f} |")
    lines += ["", "| target | bound | measured | status |", "|---|---|---|---|"]
    lines += [f"| {k} | {b} | {d.get('values', {}).get(k, float('nan')):.3f} | **{d['verdict'][k]}** |"
              for k, b in d["targets"].items()]
    c = r.get("curve") or {}
    loss = t.get("loss_first_last")
    lines += ["", f"`{d.get('command')}`. Training: {t['steps']} steps in {t['train_seconds']:.0f} s of "
              f"{'CPU' if t.get('budget_clock') == 'process' else 'wall'} time ({t['s_per_step']:.2f} s/step, "
              f"{t['threads']} thread(s), sparse backend `{t['sparse_backend']}`, {t['points']} points, "
              f"{t['samples_seen']} sentences seen of {t['train_annotations']}, seed {t.get('seed')}, recipe "
              f"`{json.dumps(t.get('recipe'))}`)" + (f"; loss {loss[0]:.2f} -> {loss[1]:.2f}." if loss else "."),
              "", f"Full split, by the object each box designates (evaluation.picked_object, whatever the box's "
              f"size): right class {c.get('right_class', 0):.3f}, the target among right-class picks "
              f"{c.get('target_in_right_class', 0):.3f}, distinct objects picked per scene "
              f"{c.get('objects_per_scene', 0):.2f} for {c.get('targets_per_scene', 0):.2f} distinct targets "
              f"(a text-blind model: 1).", "", "Learning curve (validation subset; CPU seconds of training):", "",
              "| step | training s | Acc@0.25 | Acc@0.5 | right class | target in right class | objects/scene | "
              "validation s |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {p['step']} | {p['train_s']:.0f} | {p.get('overall_acc@0.25', 0):.3f} | "
              f"{p.get('overall_acc@0.5', 0):.3f} | {p.get('right_class', float('nan')):.3f} | "
              f"{p.get('target_in_right_class', float('nan')):.3f} | {p.get('objects_per_scene', float('nan')):.2f} | "
              f"{p.get('val_s', 0):.0f} |" for p in r["learning_curve"]]
    e = r.get("errors")
    if e:
        lines += ["", f"Where the boxes go (IoU > {e['threshold']:g} with): the target {e['hit']:.3f}, another object "
                  f"of its class {e['other_same_class']:.3f}, an object of another class {e['other_class']:.3f}, no "
                  f"object {e['no_object']:.3f}."]
        kinds = e.get("acc_by_kind") or {}
        if kinds:
            lines[-1] += " Acc@0.25 by description kind: " + ", ".join(
                f"{k} {v['acc@0.25']:.3f} (n={v['n']})" for k, v in kinds.items()) + "."
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", choices=sorted(PROFILES), default="15min",
                   help="15min (the 15 CPU-minute benchmark) or reference (the reference checkpoint, 120 CPU-minutes)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark directory (generated when absent)")
    p.add_argument("--run-dir", type=Path, default=None, help="default: the profile's (runs/accuracy, runs/reference)")
    p.add_argument("--budget-min", type=float, default=None, help="training CPU-minutes (default: the profile's)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (the budget counts process CPU time: with "
                   "more threads it runs out sooner in wall time)")
    p.add_argument("--curve-every", type=int, default=300, help="steps between learning-curve validations (with "
                   "150 samples, ~8 %% of the training time)")
    p.add_argument("--curve-samples", type=int, default=150, help="validation annotations per curve point")
    p.add_argument("--val-limit", type=int, default=0, help="final evaluation on the first N annotations (0 = all)")
    p.add_argument("--text-cache", type=Path, default=DEFAULT_TEXT_CACHE)
    p.add_argument("--out-dir", type=Path, default=None, help="where the JSON goes (default docs/bench)")
    p.add_argument("--force", action="store_true", help="start over in a non-empty run directory")
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir from its last.pt")
    p.add_argument("--report-only", action="store_true", help="re-render the Markdown of an existing result")
    a = p.parse_args(argv)
    from tsp3d.errors import Tsp3dError

    if a.report_only:
        from tsp3d.bench.common import RESULTS_DIR
        from tsp3d.utils.atomic import write_json

        path = (a.out_dir or RESULTS_DIR) / f"{PROFILES[a.profile]['result']}.json"
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
                a.val_limit, a.force, a.out_dir, profile=a.profile, resume=a.resume,
                command="python -m tsp3d.bench.accuracy " + " ".join(argv if argv is not None else sys.argv[1:]))
    except Tsp3dError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"model": r["results"]["model"]["overall"], "values": r["values"], "verdict": r["verdict"],
                      "checkpoint": r["results"]["checkpoint"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
