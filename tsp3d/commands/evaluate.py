"""tsp3d eval"""
from __future__ import annotations

from pathlib import Path

import typer


def command(
    checkpoint: Path = typer.Option(..., help="A tsp3d checkpoint (.pt, .safetensors) or a pretrained model name "
                                              "(tiny-synrefer)."),
    data: Path = typer.Option(..., help="Dataset root."),
    split: str = typer.Option("val", help="Split to evaluate."),
    limit: int = typer.Option(0, help="Evaluate only the first N annotations (0 = all)."),
    json_out: Path = typer.Option(None, "--json", help="Write the full report (with per-sample predictions)."),
    threads: int = typer.Option(0, help="torch threads (0 = default)."),
    cba_sample: str = typer.Option("ours", help="CBA sample: ours (deterministic), all (every 16 cm voxel) or "
                                                "official-random (the official evaluation's random draw)."),
    seed: int = typer.Option(0, help="Seed of --cba-sample official-random."),
    force: bool = typer.Option(False, help="Overwrite --json if it exists."),
) -> None:
    """Acc@0.25 and Acc@0.5 (overall / unique / multiple) and latency per scene."""
    import torch

    from tsp3d.checkpoint import load_model
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.errors import InputFileError
    from tsp3d.evaluation import evaluate, format_accuracy
    from tsp3d.model.tgp import CBA_CHOICES
    from tsp3d.text.cache import TextFeatureCache
    from tsp3d.text.registry import load_text_encoder
    from tsp3d.utils.atomic import check_writable, write_json

    if cba_sample not in CBA_CHOICES:
        raise InputFileError(f"--cba-sample must be one of {', '.join(CBA_CHOICES)}, got {cba_sample!r}")
    if json_out is not None:
        check_writable(json_out, force)
    if threads:
        torch.set_num_threads(threads)
    model, ckpt = load_model(checkpoint)
    dataset = GroundingDataset(data, split)
    texts = TextFeatureCache(load_text_encoder(ckpt.text_encoder))
    report = evaluate(model, dataset, texts, limit=limit, cba=cba_sample, seed=seed)
    typer.echo(format_accuracy(report["accuracy"]))
    lat = report["latency"]["single_query"]
    typer.echo(f"single query latency: median {lat['median_ms']:.1f} ms, p90 {lat['p90_ms']:.1f} ms "
               f"({report['latency']['threads']} threads)")
    if json_out is not None:
        write_json(json_out, {"checkpoint": str(checkpoint), "split": split, "cba_sample": cba_sample,
                              **({"seed": seed} if cba_sample == "official-random" else {}), **report}, force=force)
