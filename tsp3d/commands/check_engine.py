"""tsp3d check-engine"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def command(
    model: Path = typer.Argument(..., help="An export bundle directory or an .onnx graph."),
    trt: Optional[str] = typer.Option(None, help="TensorRT release to check against: 10.3, 10.14 or 11 "
                                                 "(default: all three)."),
    budget_gb: float = typer.Option(4.0, help="Device memory budget for the activations, GiB (Orin Nano 8 GB: 4)."),
    graph: str = typer.Option("single", help="Bundle graph: single, backbone or head."),
    precision: str = typer.Option("fp32", help="Bundle graphs: fp32, fp16 or int8."),
    dim: Optional[List[str]] = typer.Option(None, help="NAME=MAX for an input dimension the graph's metadata does "
                                                       "not bound (repeatable)."),
    attention_chunk_mb: float = typer.Option(256, help="Attention blocks whose worst-case score tensor exceeds "
                                                       "this many MiB are split over queries, as build-engine "
                                                       "does, and the scale moves onto Q (0: the graph as exported)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the report as JSON."),
    force: bool = typer.Option(False, help="Replace an existing --json file."),
) -> None:
    """Offline TensorRT check (no TensorRT, no GPU): operator support, plugin fields, worst-case memory."""
    from tsp3d.engine.preflight import check, require_ok
    from tsp3d.engine.preflight_report import render, to_dict
    from tsp3d.errors import InputFileError

    dims = {}
    for item in dim or []:
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            raise InputFileError(f"--dim expects NAME=MAX, got {item!r}")
        dims[name.strip()] = int(value)
    report = check(model, trt=trt, budget_gb=budget_gb, graph=graph, precision=precision, dims=dims,
                   chunk_mb=attention_chunk_mb)
    typer.echo(render(report))
    if json_out is not None:
        from tsp3d.utils.atomic import write_json

        write_json(json_out, to_dict(report), force=force)
    require_ok(report)
