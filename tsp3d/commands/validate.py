"""tsp3d validate"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def command(
    checkpoint: Path = typer.Option(..., help="The checkpoint the bundle was exported from (the reference; a path "
                                              "or a pretrained model name such as tiny-synrefer)."),
    onnx: Path = typer.Option(..., "--onnx", help="Bundle directory from `tsp3d export`."),
    data: Path = typer.Option(..., help="Dataset root (e.g. from `tsp3d data synth`)."),
    json_out: Path = typer.Option(..., "--json", help="Report (JSON; the Markdown goes next to it as .md)."),
    engine: Optional[List[Path]] = typer.Option(
        None, "--engine", help="TensorRT engine(s): one single-graph engine, or backbone + head (repeat)."),
    plugin: Optional[Path] = typer.Option(None, help="libtsp3d_trt.so (default: build/plugins/lib)."),
    engine_precision: str = typer.Option("fp32", help="Tolerance section for the engines: fp32 or fp16."),
    split: str = typer.Option("val", help="Dataset split."),
    scenes: int = typer.Option(0, help="Number of scenes (0 = all)."),
    all_sentences: bool = typer.Option(False, "--all-sentences", help="Every sentence of a scene, not just one."),
    tolerances: Optional[Path] = typer.Option(None, help="Tolerance file (default: the packaged one)."),
    reference: str = typer.Option("checkpoint", help="checkpoint (as trained) or folded (BatchNorm folded)."),
    threads: int = typer.Option(0, help="ONNX Runtime / tsp3d kernel threads (0 = default)."),
    force: bool = typer.Option(False, help="Overwrite the report files."),
) -> None:
    """Parity of ONNX Runtime (FP32/FP16) and TensorRT against PyTorch FP32; nonzero exit over a tolerance."""
    from tsp3d.errors import InputFileError, ToleranceError
    from tsp3d.utils.atomic import check_writable
    from tsp3d.validate import validate
    from tsp3d.validate_report import to_markdown, write_report

    if engine_precision not in ("fp32", "fp16"):
        raise InputFileError(f"--engine-precision must be fp32 or fp16, got {engine_precision!r}")
    check_writable(json_out, force)
    check_writable(json_out.with_suffix(".md"), force)
    report = validate(checkpoint, onnx, data, split=split, scenes=scenes, all_sentences=all_sentences,
                      engines=list(engine or []), plugin=plugin, engine_precision=engine_precision,
                      tolerances=tolerances, threads=threads or None, reference=reference,
                      progress=lambda done, total: typer.echo(f"\r  {done}/{total}", nl=False, err=True))
    typer.echo("", err=True)
    write_report(report, json_out, force=force)
    typer.echo(to_markdown(report))
    if report["violations"]:
        raise ToleranceError(f"{len(report['violations'])} tolerance(s) violated: {report['violations'][0]}",
                             hint=f"details in {json_out.with_suffix('.md')}")
