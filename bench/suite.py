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


def run_suite(out_dir: str | Path | None = None, report: str | Path | None = None, quick: bool = False,
              threads: int | None = None, cache_dir: str | Path | None = None, reuse_bundles: bool = False,
              parts=PARTS, force: bool = False, clock: str = "wall", official: str | Path | None = None,
              say=print) -> dict:
    """``clock="cpu"`` (with ``threads=1``): every time is CPU time of the one computing thread instead of wall
    time, so that other processes on a shared machine do not distort the ratios (``--threads 1 --clock cpu``)."""
    from tsp3d.bench import e2e, floor, models as bench_models, official as official_bench, pipeline_times, pruning
    from tsp3d.bench import scaling, sparse_ops
    from tsp3d.bench.report import write_report
    from tsp3d.bench.targets import evaluate

    out_dir = Path(out_dir or default_out(quick))
    report = Path(report or default_report(out_dir))
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        from tsp3d.errors import InputFileError

        raise InputFileError(f"unknown benchmark part {unknown[0]!r}", hint=f"parts: {', '.join(PARTS)}")
    plan, threads = (QUICK if quick else FULL), threads or os.cpu_count() or 1
    if clock not in ("wall", "cpu") or (clock == "cpu" and threads != 1):
        from tsp3d.errors import InputFileError

        raise InputFileError(f"clock {clock!r} with {threads} threads", hint="use --clock wall, or --clock cpu with "
                                                                               "--threads 1")
    check_outputs(out_dir, report, parts, force)
    t_start = time.perf_counter()
    common = {"quick": quick, "threads": threads, "plan": {"configs": list(plan.configs), "points": plan.points},
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"), "clock": clock}

    say(f"dense fp32 GEMM rate ({threads} threads)")
    if clock == "cpu":
        set_clock("thread")  # in this process: the calling thread's CPU time (one thread everywhere)
    try:
        dense = dense_gemm_gflops(threads, quick)
    finally:
        set_clock("wall")
    say(f"  {dense['gflops']:.1f} GFLOP/s ({dense['best']['library']} {dense['best']['shape']})")
    say("benchmark models: " + ", ".join(plan.configs))
    models = {c: bench_models.prepare(c, cache_dir, points=plan.points) for c in plan.configs}
    need_bundles = set(parts) & {"pipeline", "e2e", "pruning"}
    exports = {}
    for c in plan.configs if need_bundles else ():
        say(f"export {c}")
        exports[c] = bench_models.export(models[c], fp16=True, reuse=reuse_bundles or quick)
        say(f"  {exports[c]['seconds']:.0f} s" + (" (cached)" if exports[c]["cached"] else ""))
    main_model = models[plan.main]
    main_bundle = exports[plan.main]["bundle"] if exports else None
    int8 = {"reason": "skipped in --quick (calibration takes minutes)"} if quick else {"reason": "pipeline not run"}
    earlier = main_bundle.parent / "int8" / "model.int8.onnx" if main_bundle else None
    if "pipeline" not in parts and reuse_bundles and earlier is not None and earlier.is_file():
        int8 = {"graph": earlier, "note": "calibrated by an earlier run of this bundle"}
    if "pipeline" in parts:
        if not quick:
            say("INT8 calibration")
            int8 = pipeline_times.calibrate_int8(main_bundle, main_bundle.parent, threads, quick, plan.points)
            say("  " + (f"{int8['seconds']:.0f} s" if "seconds" in int8 else int8["reason"]))
        engine = pipeline_times.engine_build(main_bundle, main_bundle.parent)
        write_result("pipeline", {**common, **_pipeline(plan, models, exports, int8, engine, out_dir)}, out_dir)
    if "sparse_ops" in parts:
        say(f"sparse layer mix of {plan.main}")
        sparse_ops.run(main_model.checkpoint, main_model.inputs, threads, quick, dense, out_dir, name="sparse_ops",
                       clock="thread" if clock == "cpu" else "wall")
    known = None
    if "e2e" in parts:
        entries = []
        for c in plan.configs:
            say(f"end to end: {c}, {plan.points} points")
            entry = e2e.run_config(c, models[c].checkpoint, exports[c]["bundle"], models[c].inputs, threads, quick,
                                   int8 if c == plan.main else {"reason": "calibrated for the main model only"},
                                   clock)
            entry["floor"] = floor.run(models[c].checkpoint, models[c].inputs, dense, threads)
            for r in entry["rows"]:
                say(f"  {r['label']}: " + (f"p50 {r['p50_s']:.3f} s" if "p50_s" in r else r.get("error", "?")))
            entries.append(entry)
            if c == plan.main:  # reused by pruning
                known = next((r for r in entry["rows"] if r["key"] == "ort-fp32" and "p50_s" in r), None)
        write_result("e2e", {**common, "main_config": plan.main, "dense_gemm": dense, "configs": entries}, out_dir)
    if "official" in parts and not quick:
        say("official code baseline")
        official_bench.run(official, out_dir=out_dir, cache_dir=cache_dir, say=say)  # writes official.json
    if "scaling" in parts:
        say("scaling over the scanned area")
        result = scaling.run(plan.main, 1 if clock == "cpu" else threads, quick, clock=clock, cache_dir=cache_dir,
                             say=say)
        write_result("scaling", {**common, **result}, out_dir)
    if "pruning" in parts:
        say("pruning")
        result = pruning.run(main_model, main_bundle, main_model.inputs, threads, quick, known, clock=clock)
        write_result("pruning", {**common, **result}, out_dir)
    results = {p: load_result(p, out_dir) for p in PARTS + OTHER_RESULTS}
    rows = evaluate(results)
    summary = {**common, "targets": rows, "parts_run": list(parts), "seconds": time.perf_counter() - t_start}
    write_result("targets", summary, out_dir)
    write_report(out_dir, report)
    for r in rows:
        value = "-" if r["value"] is None else f"{r['value']:.3g}"
        say(f"{r['status']:>4}  {r['target']}: {value} ({'>=' if r['direction'] == 'min' else '<='} {r['bound']})")
    say(f"wrote {out_dir} and {report} in {summary['seconds']:.0f} s")
    return summary
