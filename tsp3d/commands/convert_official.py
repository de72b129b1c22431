"""tsp3d convert-official"""
from __future__ import annotations

from pathlib import Path

import typer


def command(
    checkpoint: Path = typer.Argument(..., help="Official TSP3D checkpoint (e.g. ckpt_scanrefer.pth)."),
    out: Path = typer.Option(..., "--out", "-o", help="tsp3d checkpoint to write (.pt)."),
    allow_missing: bool = typer.Option(False, "--allow-missing",
                                       help="Accept a partial map (unmatched weights keep their initial values)."),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT if it exists."),
) -> None:
    """Convert an official TSP3D checkpoint to a tsp3d checkpoint, reporting key coverage."""
    from tsp3d.convert_official import convert_official
    from tsp3d.utils.atomic import check_writable

    check_writable(out, force)  # fail before the (slow) read of a large checkpoint
    report = convert_official(checkpoint, out, allow_missing=allow_missing, force=force)
    typer.echo(report.summary())
    typer.echo(f"wrote {out} (text encoder: {report.encoder}, official epoch: {report.epoch})")
