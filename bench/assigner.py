"""Where the classifier's positives land (issue 12): the official assigner (the 32 final voxels nearest the target
centre) against the inside-the-box option, on real training batches of a trained model.

    python -m tsp3d.bench.assigner --checkpoint runs/accuracy/last.pt --batches 20

For every training sample, each rule's positives among the final 16 cm voxels (CBA voxels included) are sorted by
where the voxel centre lies: inside the target box, inside another object's box only, or in no box; plus their mean
distance to the target centre and the share of samples with no positive at all. Writes docs/bench/assigner.json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from tsp3d.bench.accuracy import DEFAULT_DATA, DEFAULT_TEXT_CACHE


def _where(centres, target, boxes) -> dict:
    """Shares of ``centres`` [n, 3] inside ``target`` [6], inside only other boxes, in no box."""
    from tsp3d.model.voxel_labels import smallest_box_containing

    inside_t = ((centres - target[:3]).abs() <= target[3:] / 2).all(dim=1)
    owner = smallest_box_containing(centres, boxes)
    return {"on_target": inside_t, "on_other_object": (~inside_t) & (owner >= 0), "on_no_object": owner < 0}


def measure(checkpoint, data: Path, batches: int, text_cache: Path, seed: int = 0) -> dict:
    import torch

    from tsp3d.checkpoint import load_model
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.model.assigner import assign
    from tsp3d.model.head_train import forward_train
    from tsp3d.text import TextFeatureCache, load_text_encoder
    from tsp3d.train.batches import epoch_groups, step_batch
    from tsp3d.train.loop import select_sparse_backend
    from tsp3d.train.recipes import TINY_CPU
    from tsp3d.train.scenes import PreparedScenes

    select_sparse_backend("auto")
    model, ckpt = load_model(checkpoint)
    model.train()
    h = model.cfg.head
    train = GroundingDataset(data, "train")
    scenes = PreparedScenes(train, ckpt.meta.get("points") or model.cfg.capacities.max_points)
    texts = TextFeatureCache(load_text_encoder(ckpt.text_encoder), text_cache)
    groups = epoch_groups([a.scene_id for a in train.annotations], seed, 0, 0, 1, TINY_CPU["batch_size"],
                          TINY_CPU["sentences_per_scene"])[:batches]
    stats = {mode: {"on_target": [], "on_other_object": [], "on_no_object": [], "distance_m": [], "count": [],
                    "none": 0} for mode in ("nearest", "inside")}
    n = 0
    with torch.no_grad():
        for g, idxs in enumerate(groups):
            torch.manual_seed(seed * 1_000_003 + g)
            batch = step_batch(scenes, idxs, texts, seed, 0, True)
            out = _outputs(model, batch, forward_train)
            n += len(batch)
            for i in range(len(batch)):
                target, boxes = batch.target_boxes[i][0], batch.scene_boxes[i]
                for mode, s in stats.items():
                    ids = assign(out.points[i], batch.target_boxes[i][:1], h.assigner_topk, mode, out.half_voxel)
                    pos = ids >= 0
                    if not bool(pos.any()):
                        s["none"] += 1
                        continue
                    centres = out.points[i][pos] + out.half_voxel
                    for k, v in _where(centres, target, boxes).items():
                        s[k].append(float(v.float().mean()))
                    s["distance_m"].append(float((centres - target[:3]).norm(dim=1).mean()))
                    s["count"].append(int(pos.sum()))
    return {mode: {**{k: float(np.mean(s[k])) for k in ("on_target", "on_other_object", "on_no_object",
                                                        "distance_m", "count")},
                   "samples_without_positive": s["none"] / n} for mode, s in stats.items()} | {"samples": n}


def _outputs(model, batch, forward_train):
    """The head's training outputs for ``batch`` (the model's own forward, without the losses)."""
    import torch

    from tsp3d.model.grounder import _per_sample
    from tsp3d.sparse import CoordinateSet, SparseTensor

    scene = [model.voxelize(p, i) for i, p in enumerate(batch.points)]
    coords = torch.cat([v.coords for v in scene])
    x = SparseTensor(torch.cat([v.feats for v in scene]), cset=CoordinateSet(coords, 1, check=False))
    _, v1, v2, v3 = model.vision_backbone(x, model.cfg.capacities, len(batch.points))
    if batch.scene_of is not None:
        v1, v2, v3 = (_per_sample(v, batch.scene_of, len(batch.points)) for v in (v1, v2, v3))
    return forward_train(model.head, v1, v2, v3, model.text_projector(batch.text_feats), batch.text_mask, len(batch))


def main(argv: list[str] | None = None) -> int:
    from tsp3d.bench.common import write_result

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--text-cache", type=Path, default=DEFAULT_TEXT_CACHE)
    p.add_argument("--out-dir", type=Path, default=None)
    a = p.parse_args(argv)
    res = measure(a.checkpoint, a.data, a.batches, a.text_cache)
    cmd = "python -m tsp3d.bench.assigner " + " ".join(argv if argv is not None else sys.argv[1:])
    rows = ["| rule | positives per sample | on the target | on another object only | on no object | mean distance "
            "to the target centre | samples without a positive |", "|---|---|---|---|---|---|---|"]
    for mode in ("nearest", "inside"):
        r = res[mode]
        rows.append(f"| {mode} | {r['count']:.1f} | {100 * r['on_target']:.1f} % | {100 * r['on_other_object']:.1f} % | "
                    f"{100 * r['on_no_object']:.1f} % | {r['distance_m']:.2f} m | "
                    f"{100 * r['samples_without_positive']:.1f} % |")
    md = "\n".join(rows) + f"\n\n`{cmd}`: {res['samples']} training samples (augmented as in training), checkpoint " \
                           f"`{a.checkpoint}`.\n"
    write_result("assigner", {"title": "Where the classifier's positives land: official vs inside-the-box assigner",
                              "command": cmd, "results": res, "markdown": md}, a.out_dir)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
