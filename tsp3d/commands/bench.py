"""tsp3d bench"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def command(
    quick: bool = typer.Option(False, "--quick", help="Smoke-test plan (tiny model, small scenes): ~2 minutes."),
    out: Optional[Path] = typer.Option(
        None, help="Directory for the result JSON/PNG files (default: docs/bench, or build/bench/quick with --quick)."),
    report: Optional[Path] = typer.Option(
        None, help="The Markdown report (default: docs/BENCHMARKS.md for docs/bench, else OUT/BENCHMARKS.md)."),
    threads: int = typer.Option(0, help="Threads for every runtime (0 = all cores)."),
    clock: str = typer.Option("wall", help="wall, or cpu: CPU time of one thread (needs --threads 1); robust when "
                                           "other processes share the machine."),
    part: Optional[List[str]] = typer.Option(
        None, "--part", help="Run only these parts (repeat): pipeline, sparse_ops, e2e, official, scaling, pruning."),
    official: Optional[Path] = typer.Option(
        None, help="A checkout of the official TSP3D code (GWxuan/TSP3D): the baseline row (skipped without)."),
    cache: Optional[Path] = typer.Option(None, help="Cache of benchmark checkpoints and bundles (build/bench)."),
    reuse_bundles: bool = typer.Option(False, help="Reuse cached bundles instead of timing a fresh export."),
    report_only: bool = typer.Option(False, "--report-only", help="Only re-judge the targets and regenerate the "
                                                                  "report from the JSON files."),
    force: bool = typer.Option(False, help="Replace earlier results and the report."),
) -> None:
    """Benchmark suite: sparse ops, end to end, the official code, scaling, pruning, pipeline times; verdicts;
    docs/BENCHMARKS.md."""
    import os

    # Before torch loads: its OpenMP workers would otherwise spin between ops and take the cores from our kernels'
    # pool and from other processes (bench/e2e.py has the measurements). Subprocesses set their own.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from tsp3d.bench.suite import PARTS, default_out, default_report, run_suite

    out_dir = out or default_out(quick)
    report_path = report or default_report(out_dir)
    if report_only:
        from tsp3d.bench.report import write_report
        from tsp3d.bench.suite import rejudge
        from tsp3d.utils.atomic import check_writable

        check_writable(report_path, force)
        rejudge(out_dir)  # verdicts follow the result files now present (nothing is re-measured)
        typer.echo(f"wrote {write_report(out_dir, report_path)}")
        return
    run_suite(out_dir, report_path, quick=quick, threads=threads or None, cache_dir=cache,
              reuse_bundles=reuse_bundles, parts=tuple(part) if part else PARTS, force=force, clock=clock,
              official=official, say=lambda msg: typer.echo(msg, err=True))
