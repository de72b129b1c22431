"""tsp3d ground"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def command(
    scene: str = typer.Option(..., help="Point cloud (PLY, NPY, NPZ, BIN) or a dataset scene id (with --data)."),
    text: Optional[List[str]] = typer.Option(None, "--text", help="A sentence (repeatable)."),
    texts: Optional[Path] = typer.Option(None, help="A file of sentences, one per line."),
    checkpoint: Optional[Path] = typer.Option(None, help="Run PyTorch on this checkpoint (.pt, .safetensors) or "
                                                         "pretrained model (tiny-synrefer)."),
    onnx: Optional[Path] = typer.Option(None, "--onnx", help="Run ONNX Runtime on this bundle (`tsp3d export`)."),
    engine: Optional[List[Path]] = typer.Option(
        None, "--engine", help="Run TensorRT on this engine (or backbone + head engines; repeat)."),
    plugin: Optional[Path] = typer.Option(None, help="libtsp3d_trt.so for --engine (default: build/plugins/lib)."),
    precision: str = typer.Option("fp32", help="Bundle graphs to run with --onnx: fp32 or fp16."),
    data: Optional[Path] = typer.Option(None, help="Dataset root, when --scene is a scene id."),
    subsample: bool = typer.Option(False, help="Subsample a scene above the model's max_points."),
    bin_columns: Optional[int] = typer.Option(None, help="Values per row of a raw .bin cloud: 3, 4 or 6."),
    render: Optional[Path] = typer.Option(None, help="Draw the scene and the boxes into this PNG."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the JSON to this file."),
    threads: int = typer.Option(0, help="ONNX Runtime / tsp3d kernel threads (0 = default)."),
    tile: Optional[float] = typer.Option(
        None, help="Ground in overlapping square tiles of this size (m): the backbone once, the head per tile, the "
                   "best score wins. For scans larger than a room (docs/export.md)."),
    tile_overlap: float = typer.Option(2.0, help="Overlap of neighbouring tiles (m), with --tile."),
    max_memory: Optional[float] = typer.Option(
        None, help="Memory budget (MB) of the attention check made before running (default: what is available)."),
    force: bool = typer.Option(False, help="Overwrite --render / --json outputs."),
) -> None:
    """Find the box of each sentence in a scene (the backbone runs once); prints JSON."""
    import json

    from tsp3d.ground import collect_texts, ground_sentences, load_scene, open_runtime, report_json
    from tsp3d.utils.atomic import check_writable, write_json

    for out in (render, json_out):
        if out is not None:
            check_writable(out, force)  # fail before the work
    if tile is not None:
        from tsp3d.tiling import check_tiling

        check_tiling(tile, tile_overlap)
    sentences = collect_texts(text, texts)
    runtime = open_runtime(checkpoint, onnx, list(engine or []), precision=precision, plugin=plugin,
                           threads=threads or None)
    points, name = load_scene(scene, data=data, max_points=runtime.max_points, subsample=subsample,
                              bin_columns=bin_columns)
    report = ground_sentences(runtime, points, sentences, tile=tile, overlap=tile_overlap, max_memory_mb=max_memory)
    payload = report_json(report, name)
    if json_out is not None:
        write_json(json_out, payload, force=force)
    if render is not None:
        from tsp3d.render import render_groundings

        render_groundings(points, report["results"], render, title=f"{name} ({report['runtime']})", force=force)
    typer.echo(json.dumps(payload, indent=2))
