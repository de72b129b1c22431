"""``python -m tsp3d.bench`` (also ``tsp3d bench``): the benchmark suite from the command line (tsp3d.bench.suite).

The CLI runs this module in a child process instead of importing it: the benchmarks sit above every product layer
(docs/architecture.md), so the product never imports them.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tsp3d.bench.suite import PARTS


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tsp3d bench", description="Benchmark suite: sparse ops, end to end, the "
                                "official code, scaling, pruning, pipeline times; verdicts; docs/BENCHMARKS.md.")
    p.add_argument("--quick", action="store_true", help="smoke-test plan (tiny model, small scenes): ~2 minutes")
    p.add_argument("--out", type=Path, help="directory for the result JSON/PNG files (default: docs/bench, or "
                                            "build/bench/quick with --quick)")
    p.add_argument("--report", type=Path, help="the Markdown report (default: docs/BENCHMARKS.md for docs/bench, "
                                               "else OUT/BENCHMARKS.md)")
    p.add_argument("--threads", type=int, default=0, help="threads for every runtime (0 = all cores)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="cpu: CPU time of one thread (needs --threads 1); robust when other processes share the "
                        "machine")
    p.add_argument("--part", action="append", choices=PARTS, help="run only these parts (repeat)")
    p.add_argument("--official", type=Path, help="a checkout of the official TSP3D code (GWxuan/TSP3D): the "
                                                 "baseline row (skipped without)")
    p.add_argument("--cache", type=Path, help="cache of benchmark checkpoints and bundles (build/bench)")
    p.add_argument("--reuse-bundles", action="store_true", help="reuse cached bundles instead of timing a fresh "
                                                                "export")
    p.add_argument("--report-only", action="store_true", help="only re-judge the targets and regenerate the report "
                                                              "from the JSON files")
    p.add_argument("--force", action="store_true", help="replace earlier results and the report")
    return p


def main(argv=None) -> int:
    from tsp3d.errors import Tsp3dError

    args = parser().parse_args(argv)
    # Before torch loads: its OpenMP workers would otherwise spin between ops and take the cores from our kernels'
    # pool and from other processes (bench/e2e.py has the measurements). Subprocesses set their own.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        _run(args)
    except Tsp3dError as e:
        print(f"error: {e}" + (f"\nhint: {e.hint}" if e.hint else ""), file=sys.stderr)
        return e.exit_code
    return 0


def _run(args) -> None:
    from tsp3d.bench.suite import default_out, default_report, rejudge, run_suite

    out_dir = args.out or default_out(args.quick)
    report = args.report or default_report(out_dir)
    if args.report_only:
        from tsp3d.bench.report import write_report
        from tsp3d.utils.atomic import check_writable

        check_writable(report, args.force)
        rejudge(out_dir)  # verdicts follow the result files now present (nothing is re-measured)
        print(f"wrote {write_report(out_dir, report)}")
        return
    run_suite(out_dir, report, quick=args.quick, threads=args.threads or None, cache_dir=args.cache,
              reuse_bundles=args.reuse_bundles, parts=tuple(args.part) if args.part else PARTS, force=args.force,
              clock=args.clock, official=args.official, say=lambda msg: print(msg, file=sys.stderr, flush=True))


if __name__ == "__main__":
    sys.exit(main())
