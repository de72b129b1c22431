"""tsp3d bench-engine"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def command(
    model: List[Path] = typer.Argument(..., help="A TensorRT engine (or backbone + head engines), a bundle "
                                                 "directory, or an .onnx graph."),
    scenes: Optional[Path] = typer.Option(None, help="A dataset or a directory of point clouds (default: "
                                                     "synthetic rooms generated on the fly)."),
    count: int = typer.Option(0, help="Number of scenes (0 = 4 synthetic, or all in --scenes)."),
    iters: int = typer.Option(50, help="Timed iterations."),
    warmup: int = typer.Option(5, help="Untimed warm-up iterations."),
    precision: str = typer.Option("fp32", help="Bundle graphs to run: fp32, fp16 or int8."),
    threads: int = typer.Option(0, help="ONNX Runtime / tsp3d kernel threads (0 = default)."),
    plugin: Optional[Path] = typer.Option(None, help="libtsp3d_trt.so (default: build/plugins/lib)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the result as JSON (atomic)."),
    png: Optional[Path] = typer.Option(None, help="Write a latency histogram (PNG)."),
    force: bool = typer.Option(False, help="Overwrite --json / --png."),
) -> None:
    """Latency p50/p90/p99, FPS, memory and the per-stage split of an engine or an ONNX model/bundle."""
    from tsp3d.engine.bench import run_bench
    from tsp3d.engine.bench_report import summary_lines, write_png
    from tsp3d.utils.atomic import check_writable, write_json

    for path in (json_out, png):
        if path is not None:
            check_writable(path, force)  # before minutes of work
    result, samples = run_bench(list(model), scenes=scenes, count=count, iters=iters, warmup=warmup,
                                precision=precision, threads=threads or None, plugin=plugin)
    for line in summary_lines(result):
        typer.echo(line)
    if json_out is not None:
        write_json(json_out, result, force=force)
        typer.echo(f"wrote {json_out}")
    if png is not None:
        write_png(png, result, {k: v for k, v in samples.items() if k in ("latency", "backbone", "head")}, force)
        typer.echo(f"wrote {png}")
