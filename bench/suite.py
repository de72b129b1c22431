"""``tsp3d bench``: every benchmark in one run, its JSON files, the targets' PASS/MISS and docs/BENCHMARKS.md.

    from tsp3d.bench.suite import run_suite
    summary = run_suite(quick=True, out_dir="build/bench/quick")

Parts (each writes ``<out_dir>/<part>.json``): ``pipeline`` (export / calibration / engine-build times),
``sparse_ops`` (the layer mix per sparse backend), ``e2e`` (end-to-end per runtime, with the FLOP floor and an ONNX
Runtime profile), ``official`` (the official TSP3D code against our runtimes, same weights; needs ``official=DIR``,
a checkout, else it is skipped with one line and an earlier ``official.json`` stays), ``scaling`` (multi-room
floors from 4 x 4 to 32 x 30 m, whole and tiled), ``pruning`` (TGP/CBA voxel counts, no-pruning run), then
``targets`` (PASS/MISS/NOT JUDGED, also from ``parity.json`` and ``int8.json`` when present) and the report. The full suite runs ``base`` (targets) and ``tiny``; ``quick`` runs a
smaller plan on ``tiny`` only, reusing cached bundles (a smoke test of every part, in about two minutes: its
numbers are not the targets'). Benchmark checkpoints and bundles live in ``cache_dir`` (``models.py``).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from tsp3d.bench.common import RESULTS_DIR, dense_gemm_gflops, load_result, set_clock, write_result
from tsp3d.utils.atomic import check_writable

PARTS = ("pipeline", "sparse_ops", "e2e", "official", "scaling", "pruning")
# written by their own benchmarks; their targets are judged here
OTHER_RESULTS = ("parity", "int8", "int8_ops", "int8_e2e")
QUICK_OUT = RESULTS_DIR.parents[1] / "build" / "bench" / "quick"
DEFAULT_REPORT = RESULTS_DIR.parent / "BENCHMARKS.md"


@dataclass(frozen=True)
class Plan:
    configs: tuple[str, ...]  # the first is the one the targets are judged on
    points: int  # the end-to-end scene (and the one the pruning biases are calibrated on)

    @property
    def main(self) -> str:
        return self.configs[0]


FULL = Plan(("base", "tiny"), 50_000)
QUICK = Plan(("tiny",), 10_000)


def default_out(quick: bool) -> Path:
    return QUICK_OUT if quick else RESULTS_DIR


def default_report(out_dir: Path) -> Path:
    return DEFAULT_REPORT if Path(out_dir).resolve() == RESULTS_DIR.resolve() else Path(out_dir) / "BENCHMARKS.md"


def check_outputs(out_dir: Path, report: Path, parts, force: bool) -> None:
    """Refuse to replace earlier results without ``force`` (checked before minutes of work)."""
    for part in list(parts) + ["targets"]:
        check_writable(Path(out_dir) / f"{part}.json", force)  # official: even when skipped (simpler to explain)
    check_writable(report, force)


def rejudge(out_dir: Path) -> dict | None:
    """Re-evaluate the verdicts of ``targets.json`` from the result files now in ``out_dir`` (nothing is measured:
    another benchmark may have written its file since, or a target's rule changed). Its run facts are kept."""
    import time as _time

    from tsp3d.bench.targets import evaluate
    from tsp3d.utils.atomic import write_json

    summary = load_result("targets", out_dir)
    if summary is None:
        return None
    summary["targets"] = evaluate({p: load_result(p, out_dir) for p in PARTS + OTHER_RESULTS})
    summary["rejudged"] = _time.strftime("%Y-%m-%d %H:%M:%S %Z")
    write_json(Path(out_dir) / "targets.json", summary, force=True)
    return summary


def _pipeline(plan: Plan, models, exports, int8: dict, engine: dict, out_dir: Path) -> dict:
    rows = [{"step": f"export {c} (FP32 + FP16 graphs)", "seconds": e["seconds"], "cached": e["cached"]}
            for c, e in exports.items()]
    rows.append({"step": f"INT8 calibration of {plan.main}", **{k: (str(v) if isinstance(v, Path) else v)
                                                               for k, v in int8.items()}})
    rows.append({"step": f"TensorRT engine build of {plan.main} (FP32 graph)", **engine})
    rows.append({"step": "benchmark model preparation (random init + pruning-bias calibration, cached)",
                 "seconds": sum(m.calibration["seconds"] for m in models.values())})
    return {"steps": rows, "models": {c: m.to_dict() for c, m in models.items()}}


@dataclass
class _Run:
    """One suite run: its settings and what the parts share (dense GEMM rate, models, bundles, INT8 graph)."""

    plan: Plan
    out_dir: Path
    threads: int
    clock: str
    quick: bool
    cache_dir: Path | None
    reuse_bundles: bool
    official: Path | None  # a checkout of the official code, or None (the official part is skipped)
    say: object
    common: dict
    dense: dict | None = None
    models: dict | None = None
    exports: dict | None = None
    int8: dict | None = None
    known: dict | None = None  # the e2e ONNX Runtime FP32 row, reused by pruning

    @property
    def main_bundle(self):
        return self.exports[self.plan.main]["bundle"] if self.exports else None


def _checked_settings(parts, clock: str, threads: int) -> None:
    from tsp3d.errors import InputFileError

    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise InputFileError(f"unknown benchmark part {unknown[0]!r}", hint=f"parts: {', '.join(PARTS)}")
    if clock not in ("wall", "cpu") or (clock == "cpu" and threads != 1):
        raise InputFileError(f"clock {clock!r} with {threads} threads", hint="use --clock wall, or --clock cpu with "
                                                                               "--threads 1")


def _prepare(run: _Run, parts) -> None:
    """The dense GEMM rate, the benchmark models and (for the parts that need them) their bundles."""
    from tsp3d.bench import models as bench_models

    run.say(f"dense fp32 GEMM rate ({run.threads} threads)")
    if run.clock == "cpu":
        set_clock("thread")  # in this process: the calling thread's CPU time (one thread everywhere)
    try:
        run.dense = dense_gemm_gflops(run.threads, run.quick)
    finally:
        set_clock("wall")
    run.say(f"  {run.dense['gflops']:.1f} GFLOP/s ({run.dense['best']['library']} {run.dense['best']['shape']})")
    run.say("benchmark models: " + ", ".join(run.plan.configs))
    run.models = {c: bench_models.prepare(c, run.cache_dir, points=run.plan.points) for c in run.plan.configs}
    run.exports = {}
    for c in run.plan.configs if set(parts) & {"pipeline", "e2e", "pruning"} else ():
        run.say(f"export {c}")
        run.exports[c] = bench_models.export(run.models[c], fp16=True, reuse=run.reuse_bundles or run.quick)
        run.say(f"  {run.exports[c]['seconds']:.0f} s" + (" (cached)" if run.exports[c]["cached"] else ""))
    run.int8 = {"reason": "skipped in --quick (calibration takes minutes)"} if run.quick else \
        {"reason": "pipeline not run"}
    earlier = run.main_bundle.parent / "int8" / "model.int8.onnx" if run.main_bundle else None
    if "pipeline" not in parts and run.reuse_bundles and earlier is not None and earlier.is_file():
        run.int8 = {"graph": earlier, "note": "calibrated by an earlier run of this bundle"}


def _part_pipeline(run: _Run) -> None:
    from tsp3d.bench import pipeline_times

    bundle = run.main_bundle
    if not run.quick:
        run.say("INT8 calibration")
        run.int8 = pipeline_times.calibrate_int8(bundle, bundle.parent, run.threads, run.quick, run.plan.points)
        run.say("  " + (f"{run.int8['seconds']:.0f} s" if "seconds" in run.int8 else run.int8["reason"]))
    engine = pipeline_times.engine_build(bundle, bundle.parent)
    write_result("pipeline", {**run.common, **_pipeline(run.plan, run.models, run.exports, run.int8, engine,
                                                        run.out_dir)}, run.out_dir)


def _part_sparse_ops(run: _Run) -> None:
    from tsp3d.bench import sparse_ops

    main = run.models[run.plan.main]
    run.say(f"sparse layer mix of {run.plan.main}")
    sparse_ops.run(main.checkpoint, main.inputs, run.threads, run.quick, run.dense, run.out_dir, name="sparse_ops",
                   clock="thread" if run.clock == "cpu" else "wall")


def _part_e2e(run: _Run) -> None:
    from tsp3d.bench import e2e, floor

    entries = []
    for c in run.plan.configs:
        run.say(f"end to end: {c}, {run.plan.points} points")
        model = run.models[c]
        int8 = run.int8 if c == run.plan.main else {"reason": "calibrated for the main model only"}
        entry = e2e.run_config(c, model.checkpoint, run.exports[c]["bundle"], model.inputs, run.threads, run.quick,
                               int8, run.clock)
        entry["floor"] = floor.run(model.checkpoint, model.inputs, run.dense, run.threads)
        for r in entry["rows"]:
            run.say(f"  {r['label']}: " + (f"p50 {r['p50_s']:.3f} s" if "p50_s" in r else r.get("error", "?")))
        entries.append(entry)
        if c == run.plan.main:
            run.known = next((r for r in entry["rows"] if r["key"] == "ort-fp32" and "p50_s" in r), None)
    write_result("e2e", {**run.common, "main_config": run.plan.main, "dense_gemm": run.dense, "configs": entries},
                 run.out_dir)


def _part_official(run: _Run) -> None:
    from tsp3d.bench import official

    if run.quick:
        return
    run.say("official code baseline")
    official.run(run.official, out_dir=run.out_dir, cache_dir=run.cache_dir, say=run.say)  # writes official.json


def _part_scaling(run: _Run) -> None:
    from tsp3d.bench import scaling

    run.say("scaling over the scanned area")
    result = scaling.run(run.plan.main, 1 if run.clock == "cpu" else run.threads, run.quick, clock=run.clock,
                         cache_dir=run.cache_dir, say=run.say)
    write_result("scaling", {**run.common, **result}, run.out_dir)


def _part_pruning(run: _Run) -> None:
    from tsp3d.bench import pruning

    run.say("pruning")
    main = run.models[run.plan.main]
    result = pruning.run(main, run.main_bundle, main.inputs, run.threads, run.quick, run.known, clock=run.clock)
    write_result("pruning", {**run.common, **result}, run.out_dir)


def _judge(run: _Run, report: Path, parts, t_start: float) -> dict:
    """Every target from the result files now present, ``targets.json`` and the report."""
    from tsp3d.bench.report import write_report
    from tsp3d.bench.targets import evaluate

    rows = evaluate({p: load_result(p, run.out_dir) for p in PARTS + OTHER_RESULTS})
    summary = {**run.common, "targets": rows, "parts_run": list(parts), "seconds": time.perf_counter() - t_start}
    write_result("targets", summary, run.out_dir)
    write_report(run.out_dir, report)
    for r in rows:
        value = "-" if r["value"] is None else f"{r['value']:.3g}"
        run.say(f"{r['status']:>4}  {r['target']}: {value} ({'>=' if r['direction'] == 'min' else '<='} "
                f"{r['bound']})")
    run.say(f"wrote {run.out_dir} and {report} in {summary['seconds']:.0f} s")
    return summary


def run_suite(out_dir: str | Path | None = None, report: str | Path | None = None, quick: bool = False,
              threads: int | None = None, cache_dir: str | Path | None = None, reuse_bundles: bool = False,
              parts=PARTS, force: bool = False, clock: str = "wall", official: str | Path | None = None,
              say=print) -> dict:
    """``clock="cpu"`` (with ``threads=1``): every time is CPU time of the one computing thread instead of wall
    time, so that other processes on a shared machine do not distort the ratios (``--threads 1 --clock cpu``)."""
    out_dir = Path(out_dir or default_out(quick))
    report = Path(report or default_report(out_dir))
    plan, threads = (QUICK if quick else FULL), threads or os.cpu_count() or 1
    _checked_settings(parts, clock, threads)
    check_outputs(out_dir, report, parts, force)
    t_start = time.perf_counter()
    common = {"quick": quick, "threads": threads, "plan": {"configs": list(plan.configs), "points": plan.points},
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"), "clock": clock}
    run = _Run(plan, out_dir, threads, clock, quick, Path(cache_dir) if cache_dir else None, reuse_bundles,
               Path(official) if official else None, say, common)
    _prepare(run, parts)
    steps = {"pipeline": _part_pipeline, "sparse_ops": _part_sparse_ops, "e2e": _part_e2e,
             "official": _part_official, "scaling": _part_scaling, "pruning": _part_pruning}
    for part in PARTS:  # in this order: pruning reuses the e2e row
        if part in parts:
            steps[part](run)
    return _judge(run, report, parts, t_start)
