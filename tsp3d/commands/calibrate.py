"""tsp3d calibrate"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def command(
    model: Path = typer.Argument(..., help="The bundle's FP32 graph (bundle/model.onnx) or the bundle directory."),
    data: Path = typer.Option(..., help="Dataset root (calibration split: train, else val; sweep on val)."),
    method: str = typer.Option("entropy", help="Range method: minmax, entropy (KL) or percentile."),
    percentile: float = typer.Option(99.99, help="Percentile of |x| for --method percentile."),
    scenes: int = typer.Option(32, help="Calibration scenes (one sentence each; at least 8)."),
    split: Optional[str] = typer.Option(None, help="Calibration split (default: train, else val)."),
    sweep_samples: int = typer.Option(32, help="Evaluation samples of the per-layer sensitivity sweep and the "
                                               "final INT8-vs-FP32 check (0 = no sweep: keep rules only)."),
    max_drop: float = typer.Option(0.5, help="Keep in float a unit whose sole quantization costs more Acc@0.25 "
                                             "points than this."),
    out: Optional[Path] = typer.Option(None, help="Output directory (default: the bundle; its manifest then "
                                                  "lists the INT8 graphs)."),
    cache: Optional[Path] = typer.Option(None, help="Calibration cache to reuse/write (default: "
                                                    "OUT/calibration_cache.json)."),
    threads: int = typer.Option(0, help="ONNX Runtime / tsp3d kernel threads (0 = default)."),
    force: bool = typer.Option(False, help="Replace existing INT8 files (and a stale cache)."),
) -> None:
    """INT8: calibrate a bundle's FP32 graphs and write Q/DQ graphs (SparseConvInt8), cache and metadata."""
    from tsp3d.calibration.pipeline import calibrate_bundle

    info = calibrate_bundle(model, data, out=out, force=force, cache=cache, method=method, percentile=percentile,
                            scenes=scenes, split=split, sweep_samples=sweep_samples, max_drop=max_drop,
                            threads=threads or None, progress=lambda m: typer.echo(f"  {m}", err=True))
    if "sensitivity" in info:
        typer.echo(info["sensitivity"]["text"])
    layers = info["layers"]
    typer.echo(f"wrote {', '.join(info['files'].values())} into {info['out']} ({info['method']}; "
               f"{layers['quantized']}/{layers['total']} layers INT8, {layers['sparse_convs_quantized']} sparse convs)")
    for unit, why in info["kept_float"].items():
        typer.echo(f"  float: {unit} ({why})")
    ev = info.get("evaluation")
    if ev:
        typer.echo(f"  {ev['samples']} {ev['split']} samples: Acc@0.25 FP32 {100 * ev['fp32']['acc@0.25']:.2f} -> "
                   f"INT8 {100 * ev['int8']['acc@0.25']:.2f} (drop {ev['drop_points']['acc@0.25']:.2f} points), "
                   f"same top-1 object {100 * ev['agreement']['same_object']:.1f} %")
