"""tsp3d export"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def command(
    checkpoint: Path = typer.Option(..., help="A tsp3d checkpoint (.pt, .safetensors) or a pretrained model name "
                                              "(tiny-synrefer)."),
    out: Path = typer.Option(..., help="Bundle directory to write (built in a temporary sibling, then renamed)."),
    fp16: bool = typer.Option(False, "--fp16", help="Also write the FP16 graphs (model_fp16.onnx, ...)."),
    capacity: Optional[List[str]] = typer.Option(
        None, "--capacity", help="Override a capacity of the model config, NAME=VALUE (repeatable)."),
    texts: Optional[Path] = typer.Option(
        None, help="Sentences (one per line) to pre-encode into text_features.npz."),
    text_encoder: bool = typer.Option(True, help="Export the text encoder (text_encoder.onnx + tokenizer)."),
    force: bool = typer.Option(False, help="Replace an existing bundle."),
    int8: bool = typer.Option(False, "--int8", help="Also write INT8 Q/DQ graphs (model.int8.onnx, ...), "
                                                    "calibrated on --calibration."),
    calibration: Optional[Path] = typer.Option(None, help="Dataset for --int8 (train split, else val; sweep on val)."),
    int8_method: str = typer.Option("entropy", help="--int8 range method: minmax, entropy or percentile."),
) -> None:
    """Export a checkpoint to ONNX: model.onnx, backbone.onnx + head.onnx, text encoder, manifest.json."""
    from tsp3d.errors import InputFileError
    from tsp3d.bundle import export_bundle
    from tsp3d.export.bundle import parse_capacities
    from tsp3d.export.text_encoder import read_texts_file

    if int8 != (calibration is not None):
        raise InputFileError("--int8 and --calibration DIR go together")
    sentences = read_texts_file(texts) if texts is not None else None
    manifest = export_bundle(checkpoint, out, fp16=fp16, capacities=parse_capacities(capacity), texts=sentences,
                             text_encoder=text_encoder, force=force, progress=lambda m: typer.echo(f"  {m}", err=True),
                             int8_data=calibration, int8_options={"method": int8_method} if int8 else None)
    files = manifest["files"]
    total = sum(f["bytes"] for f in files.values())
    typer.echo(f"wrote {out} ({len(files)} files, {total / 1e6:.1f} MB) in {manifest['export_seconds']} s")
    for precision, graphs in manifest["graphs"].items():
        typer.echo(f"  {precision}: " + ", ".join(g["file"] for g in graphs.values()))
    if "int8" in manifest:
        ev = manifest["int8"].get("evaluation")
        typer.echo(f"  int8: {manifest['int8']['layers']['quantized']}/{manifest['int8']['layers']['total']} layers "
                   + (f"; Acc@0.25 drop {ev['drop_points']['acc@0.25']:.2f} points on {ev['samples']} samples"
                      if ev else ""))
    check = manifest["self_check"]
    if check.get("ran"):
        typer.echo(f"  self-check (ONNX Runtime vs PyTorch, trace input): counts equal {check['counts_equal']}, "
                   f"max abs centre {check['max_abs']['center']:.2g}")
    else:
        typer.echo(f"  self-check skipped: {check.get('reason', 'disabled')}")
