"""Publish a trained checkpoint as a pretrained model: weights-only ``<name>.safetensors``, its record
``<name>.json`` (what the model card states, machine-readable; the CI test checks the model against it) and the
model card ``<name>.md``, all in tsp3d/pretrained/.

    python -m tsp3d.pretrained.publish --checkpoint runs/reference/last.pt \\
        --result docs/bench/accuracy_reference.json --name tiny-synrefer --force

The record holds the full-split accuracy of the accuracy benchmark's result file (``--result``: the run that
trained this checkpoint) and the hits on a small fixed subset that a CI test reproduces: the first
``SUBSET["scenes"]`` validation scenes of the default synthetic benchmark, regenerated from its seed (no dataset
needed), every sentence.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from tsp3d.pretrained import PRETRAINED_DIR

SUBSET = {"split": "val", "scenes": 8, "seed": 0, "points": 50_000}  # the default benchmark's first val scenes
SUBSET_TOLERANCE = 2  # hits (of ~50) by which another machine's float rounding may differ


def subset_dataset(directory: Path):
    """The CI subset as a dataset in ``directory`` (generated: identical to the default benchmark's scenes)."""
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.data.synth import generate

    generate(directory, train_scenes=0, val_scenes=SUBSET["scenes"], points=SUBSET["points"], seed=SUBSET["seed"],
             workers=1)
    return GroundingDataset(directory, SUBSET["split"])


def subset_hits(checkpoint, threads: int = 1) -> dict:
    """Hits at IoU > 0.25 / 0.5 of ``checkpoint`` on the CI subset (deterministic inference)."""
    import torch

    from tsp3d.checkpoint import load_model
    from tsp3d.evaluation import evaluate
    from tsp3d.sparse import backend, get_backend, set_backend
    from tsp3d.text import load_text_encoder

    model, ckpt = load_model(checkpoint)
    previous, previous_threads = get_backend(), torch.get_num_threads()
    with tempfile.TemporaryDirectory(prefix="tsp3d-subset-") as tmp:
        data = subset_dataset(Path(tmp) / "data")
        try:
            set_backend("cpp" if backend.cpp_available() else "reference")  # the C++ kernels where built (CI)
            torch.set_num_threads(threads)
            report = evaluate(model, data, load_text_encoder(ckpt.text_encoder))
        finally:
            set_backend(previous)
            torch.set_num_threads(previous_threads)
    preds = report["predictions"]
    return {**SUBSET, "sentences": len(preds), "hits@0.25": sum(p["iou"] > 0.25 for p in preds),
            "hits@0.5": sum(p["iou"] > 0.5 for p in preds), "tolerance_hits": SUBSET_TOLERANCE}


def publish(checkpoint: Path, result: Path, name: str, out_dir: Path = PRETRAINED_DIR, force: bool = False) -> dict:
    from tsp3d.checkpoint import load_checkpoint, save_weights
    from tsp3d.pretrained.card import render_card
    from tsp3d.utils.atomic import check_writable, write_json, write_text

    paths = {ext: Path(out_dir) / f"{name}.{ext}" for ext in ("safetensors", "json", "md")}
    for p in paths.values():
        check_writable(p, force)
    ckpt = load_checkpoint(checkpoint)
    bench = json.loads(Path(result).read_text())
    record = {"name": name, "config": ckpt.config.name, "text_encoder": ckpt.text_encoder, "step": ckpt.step,
              "state_hash": ckpt.hash, "code": ckpt.meta.get("code"), "options": ckpt.meta.get("options"),
              "train_seconds": ckpt.meta.get("train_seconds"), "budget_clock": ckpt.meta.get("budget_clock"),
              "benchmark": {k: bench.get(k) for k in ("command", "profile", "targets", "values", "verdict")},
              "accuracy": bench["results"]["model"], "curve": bench["results"].get("curve"),
              "baselines": bench["results"]["baselines"], "training": bench["results"]["training"],
              "subset": subset_hits(checkpoint),
              "published_from": {"checkpoint": _relative(checkpoint), "result": _relative(result)}}
    save_weights(paths["safetensors"], ckpt, meta={"pretrained": name}, force=force)
    write_json(paths["json"], record, force=force)
    write_text(paths["md"], render_card(record), force=force)
    return record


def _relative(path) -> str:
    """``path`` relative to the repository when it lies inside it (the card's commands run from there)."""
    repo = PRETRAINED_DIR.parents[1]
    p = Path(path).resolve()
    return str(p.relative_to(repo)) if p.is_relative_to(repo) else str(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--result", type=Path, required=True, help="the accuracy benchmark JSON of the run")
    p.add_argument("--name", default="tiny-synrefer")
    p.add_argument("--out-dir", type=Path, default=PRETRAINED_DIR)
    p.add_argument("--force", action="store_true")
    a = p.parse_args(argv)
    from tsp3d.errors import Tsp3dError

    try:
        record = publish(a.checkpoint, a.result, a.name, a.out_dir, a.force)
    except Tsp3dError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"name": record["name"], "subset": record["subset"], "values": record["benchmark"]["values"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
