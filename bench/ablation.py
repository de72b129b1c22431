"""The training ablation of issue 12 (docs/model.md, "Ablation"): ``tiny`` trained with one set of head options for a
few CPU-minutes, then scored on the first validation annotations.

    python -m tsp3d.bench.ablation --row K [--minutes 6] [--eval 300] [--out-dir build/ablation]
    python -m tsp3d.bench.ablation --list

Every row is the recipe of the accuracy benchmark (``tsp3d/train/recipes.py``), 1 thread, seed 0, on the default
benchmark, with the ``tiny`` config changed by the row's head options (``ROWS``); the model is scored with
``evaluation.curve_metrics`` (Acc@0.25/0.5, right class, target among the right class, objects per scene). Prints one
JSON line per row and appends it to ``<out-dir>/results.jsonl``. Training counts CPU time, so a loaded machine
trains the same number of steps, give or take the per-step cost.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_NO_LABELS = {"voxel_labels": {}, "voxel_label_weights": {}}


def _labels(weights: dict[str, float]) -> dict:
    """Per-voxel label losses over ``tiny``'s own vocabularies (tsp3d/configs/tiny.json), with these weights."""
    from tsp3d.model.config import load_config

    vocab = load_config("tiny").head.voxel_labels
    return {"voxel_labels": {k: vocab[k] for k in weights}, "voxel_label_weights": dict(weights)}


_CLASS = _labels({"class": 1.0})


def _all_labels(attr_weight: float) -> dict:
    return _labels({"class": 1.0, "color": attr_weight, "size": attr_weight})


_OLD_TOPK = {"train_topk_16": [384, 768]}  # the issue-3 tiny
# Row -> head options over `tiny` (which is row K). The letters are those of docs/model.md.
ROWS = {
    "A": {"text_voxel_score": False, **_NO_LABELS, **_OLD_TOPK},
    "E": {"text_voxel_score": True, **_all_labels(1.0), **_OLD_TOPK},
    "P": {"text_voxel_score": False, **_NO_LABELS},
    "Q": {"text_voxel_score": False, **_CLASS},
    "R": {"text_voxel_score": True, **_NO_LABELS},
    "J": {"text_voxel_score": True, **_CLASS},
    "K": {},
    "G": {**_all_labels(1.0)},
    "H": {**_all_labels(1.0), "assigner_mode": "inside"},
    "I": {**_all_labels(1.0), "train_topk_16": [4096, 8192]},
}


def row_config(row: str, out_dir: Path) -> Path:
    """The ``tiny`` config with ``row``'s head options, written to ``out_dir`` (what ``TrainOptions.config`` takes)."""
    from tsp3d.model.config import load_config

    cfg = load_config("tiny").to_dict()
    cfg["head"].update(ROWS[row])
    cfg["name"] = f"tiny-ablation-{row}"
    path = out_dir / f"config_{row}.json"
    path.write_text(json.dumps(cfg, indent=1))
    return path


def run_row(row: str, minutes: float, n_eval: int, out_dir: Path) -> dict:
    import torch

    from tsp3d.bench.accuracy import DEFAULT_DATA, DEFAULT_TEXT_CACHE, RECIPE, ensure_benchmark
    from tsp3d.checkpoint import load_model
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.evaluation import curve_metrics, evaluate
    from tsp3d.text import TextFeatureCache, load_text_encoder
    from tsp3d.train import TrainOptions, train
    from tsp3d.train.loop import select_sparse_backend

    ensure_benchmark(DEFAULT_DATA)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = out_dir / f"run_{row}"
    opts = TrainOptions(**{**RECIPE, "config": str(row_config(row, out_dir))}, data=str(DEFAULT_DATA), out=str(run),
                        time_budget_min=minutes, threads=1, val_every=0, text_cache=str(DEFAULT_TEXT_CACHE))
    result = train(opts, force=True, progress=False)
    model, ckpt = load_model(run / "last.pt")
    select_sparse_backend("auto")
    torch.set_num_threads(1)
    val = GroundingDataset(DEFAULT_DATA, "val")
    texts = TextFeatureCache(load_text_encoder(ckpt.config.text_encoder), DEFAULT_TEXT_CACHE)
    report = evaluate(model, val, texts, limit=n_eval, points=ckpt.meta["points"])
    seconds = ckpt.meta["train_seconds"]
    return {"row": row, "head": ROWS[row], "minutes": minutes, "steps": result.step,
            "cpu_s_per_step": round(seconds / max(result.step, 1), 3), "n_eval": n_eval,
            **{k: round(v, 4) for k, v in curve_metrics(report, val).items()}}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--row", action="append", choices=sorted(ROWS), help="a row (repeat); default: all")
    p.add_argument("--minutes", type=float, default=6.0, help="CPU-minutes of training per row")
    p.add_argument("--eval", type=int, default=300, help="first validation annotations scored")
    p.add_argument("--out-dir", type=Path, default=REPO / "build" / "ablation")
    p.add_argument("--list", action="store_true", help="print the rows' head options and exit")
    a = p.parse_args(argv)
    if a.list:
        for row, head in ROWS.items():
            print(row, json.dumps(head))
        return
    for row in a.row or list(ROWS):
        line = json.dumps(run_row(row, a.minutes, a.eval, a.out_dir))
        print(line, flush=True)
        with open(a.out_dir / "results.jsonl", "a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
