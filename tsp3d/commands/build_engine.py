"""tsp3d build-engine"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def command(
    model: Path = typer.Argument(..., help="An exported graph: bundle/model.onnx, backbone/head, *_fp16 or *.int8."),
    out: Path = typer.Option(..., help="Engine file to write (its manifest goes next to it as <out>.json)."),
    min_voxels: Optional[int] = typer.Option(None, help="Profile min of the point/voxel rows (default 1)."),
    opt_voxels: Optional[int] = typer.Option(None, help="Profile opt of the rows (default: max_points; levels: "
                                                         "half their capacity)."),
    max_voxels: Optional[int] = typer.Option(None, help="Profile max of the rows (default: each input's "
                                                         "capacity; larger is an error)."),
    min_tokens: Optional[int] = typer.Option(None, help="Profile min of the text tokens (default 1)."),
    opt_tokens: Optional[int] = typer.Option(None, help="Profile opt of the text tokens (default 16)."),
    max_tokens: Optional[int] = typer.Option(None, help="Profile max of the text tokens (default: the text "
                                                         "encoder's max_length)."),
    timing_cache: Optional[Path] = typer.Option(None, help="TensorRT timing cache: read if present, updated."),
    workspace: Optional[int] = typer.Option(None, help="Workspace limit in MB (default: TensorRT's)."),
    plugin: Optional[Path] = typer.Option(None, help="libtsp3d_trt.so (default: build/plugins/lib)."),
    attention_chunk_mb: float = typer.Option(256, help="Attention blocks whose worst-case score tensor exceeds "
                                                       "this many MiB are split over queries (0: the graph as "
                                                       "exported; tsp3d check-engine shows the effect)."),
    force: bool = typer.Option(False, help="Replace an existing engine and manifest."),
) -> None:
    """Build a TensorRT engine (strongly typed, profile from the bundle's capacities) and its manifest."""
    from tsp3d.engine.build import build_engine
    from tsp3d.engine.profile import ProfileOptions

    options = ProfileOptions(min_voxels, opt_voxels, max_voxels, min_tokens, opt_tokens, max_tokens)
    manifest = build_engine(model, out, options=options, timing_cache=timing_cache, workspace_mb=workspace,
                            force=force, plugin=plugin, progress=lambda m: typer.echo(f"  {m}", err=True),
                            attention_chunk_mb=attention_chunk_mb)
    typer.echo(f"wrote {out} ({manifest['engine']['bytes'] / 1e6:.1f} MB, TensorRT {manifest['tensorrt_version']}, "
               f"{manifest['gpu']['name']} sm_{manifest['gpu']['compute_capability'].replace('.', '')}) in "
               f"{manifest['build']['seconds']} s")
    for name, p in manifest["profile"].items():
        typer.echo(f"  {name}: min {p['min']} opt {p['opt']} max {p['max']}")
