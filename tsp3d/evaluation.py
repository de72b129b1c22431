"""Grounding evaluation: Acc@0.25 / Acc@0.5 (IoU strictly greater, axis-aligned, top-1 box) overall / unique /
multiple, and latency.

Each scene's backbone runs once and every sentence about it runs only the head (the toolkit's split inference),
so the report gives the backbone time per scene, the head and text time per sentence, and the latency of a single
full query (points + one sentence -> box) as their sum.
"""
from __future__ import annotations

import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import torch

from tsp3d.data.boxes import axis_aligned_iou, hit
from tsp3d.model.tgp import cba_protocol_sample

THRESHOLDS = (0.25, 0.5)


@dataclass
class SamplePrediction:
    ann_id: str
    scene_id: str
    box: list[float]  # centre (3), size (3)
    score: float
    iou: float
    unique: bool
    counts: dict = field(default_factory=dict)


def wilson_interval(hits: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion hits / n ((0, 1) for n = 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def _split_acc(preds: list[SamplePrediction], keep) -> dict:
    sel = [p for p in preds if keep(p)]
    out = {"n": len(sel)}
    for t in THRESHOLDS:
        out[f"acc@{t}"] = float(np.mean([hit(p.iou, t) for p in sel])) if sel else float("nan")
    return out


def summarize(preds: list[SamplePrediction]) -> dict:
    return {
        "overall": _split_acc(preds, lambda p: True),
        "unique": _split_acc(preds, lambda p: p.unique),
        "multiple": _split_acc(preds, lambda p: not p.unique),
    }


def _percentiles(xs: list[float]) -> dict:
    if not xs:
        return {}
    ys = sorted(xs)
    return {"median_ms": 1e3 * statistics.median(ys), "p90_ms": 1e3 * ys[int(round(0.9 * (len(ys) - 1)))],
            "n": len(ys)}


def scene_points(model, scene, points: int = 0) -> torch.Tensor:
    """The scene's points as the model takes them: subsampled deterministically to ``points`` (0 = the config's
    max_points), the same fixed subsample training uses, so evaluation sees the density the model was trained on."""
    from tsp3d.data.points import subsample

    pts = scene.points
    limit = min(points, model.cfg.capacities.max_points) if points > 0 else model.cfg.capacities.max_points
    if pts.shape[0] > limit:
        pts = subsample(pts, limit)
    return torch.as_tensor(np.ascontiguousarray(pts, dtype=np.float32))


@torch.no_grad()
def evaluate(model, dataset, text_source, limit: int = 0, progress=None, points: int = 0, cba: str = "ours",
             seed: int = 0) -> dict:
    """Evaluate ``model`` (eval mode is set here) on a ``GroundingDataset``-like sequence of (Scene, Annotation).

    ``text_source``: a TextEncoder or TextFeatureCache. ``limit`` > 0 evaluates the first ``limit`` annotations
    (whole scenes at a time are not required). ``progress``: optional callable(done, total). ``points``: points
    per scene (0 = the config's max_points; pass the training point count when it differs). ``cba``: the CBA
    sample (``tsp3d.model.tgp.CBA_CHOICES``; ``official-random`` draws like the official evaluation, seeded by
    ``seed``).
    """
    was_training = model.training
    model.eval()
    n = len(dataset) if limit <= 0 else min(limit, len(dataset))
    by_scene: dict[str, list[int]] = defaultdict(list)
    for i in range(n):
        by_scene[dataset.annotations[i].scene_id].append(i)
    preds, t_backbone, t_head, t_text = [], [], [], []
    done = 0
    for scene_id, idxs in by_scene.items():
        scene = dataset.scene(scene_id)
        scene_pts = scene_points(model, scene, points)
        t0 = time.perf_counter()
        levels = model.encode_scene(scene_pts)
        t_backbone.append(time.perf_counter() - t0)
        for i in idxs:
            ann = dataset.annotations[i]
            t0 = time.perf_counter()
            text = text_source.encode([ann.text])
            t1 = time.perf_counter()
            sample = cba_protocol_sample(levels[0], model.cfg.head.cba_samples, cba,
                                         torch.Generator().manual_seed(seed * 1_000_003 + i))
            center, size, score, counts = model.ground(*levels, text.feats, text.pad_mask, sample)
            t2 = time.perf_counter()
            t_text.append(t1 - t0)
            t_head.append(t2 - t1)
            box = torch.cat([center, size]).numpy().astype(np.float64)
            iou = float(axis_aligned_iou(box, np.asarray(scene.boxes[ann.target], dtype=np.float64)))
            preds.append(SamplePrediction(ann.ann_id, scene_id, box.tolist(), float(score), iou, ann.unique,
                                          {"counts": counts.tolist()}))
            done += 1
            if progress:
                progress(done, n)
    model.train(was_training)
    single_query = [b + h + t for b, h, t in zip(
        [t_backbone[k] for k, (_, idxs) in enumerate(by_scene.items()) for _ in idxs], t_head, t_text)]
    return {
        "accuracy": summarize(preds),
        "latency": {
            "backbone_per_scene": _percentiles(t_backbone),
            "head_per_sentence": _percentiles(t_head),
            "text_per_sentence": _percentiles(t_text),
            "single_query": _percentiles(single_query),
            "threads": torch.get_num_threads(),
        },
        "predictions": [p.__dict__ for p in preds],
    }


def format_accuracy(acc: dict) -> str:
    lines = ["split      n      Acc@0.25  Acc@0.5"]
    for split in ("overall", "unique", "multiple"):
        a = acc[split]
        lines.append(f"{split:<9} {a['n']:>5}   {a['acc@0.25']:8.4f}  {a['acc@0.5']:7.4f}")
    return "\n".join(lines)


def picked_object(center, boxes) -> int:
    """The scene object a predicted box centre designates, whatever the box's size: the smallest object box that
    contains the centre, else the object whose box is nearest to it (``boxes``: [M, 6] centre + size)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    gap = np.maximum(np.abs(np.asarray(center, dtype=np.float64)[None, :] - boxes[:, :3]) - boxes[:, 3:] / 2, 0.0)
    dist = np.sqrt((gap ** 2).sum(axis=1))
    volume = boxes[:, 3:].prod(axis=1)
    return int(np.lexsort((volume, dist))[0])  # nearest first, the smaller box on a tie (e.g. both contain it)


def curve_metrics(report: dict, dataset) -> dict:
    """What a learning curve shows (``report``: an ``evaluate`` result). Besides Acc@0.25/0.5, the object each
    prediction designates (``picked_object``: independent of how well the box is regressed): ``right_class`` (it
    has the target's class), ``target_in_right_class`` (of those, it is the target: what the sentence adds beyond
    the class) and ``objects_per_scene`` (distinct objects picked per scene, against ``targets_per_scene``; a
    text-blind model picks 1)."""
    anns = {a.ann_id: a for a in dataset.annotations}
    right, target, picked, wanted = [], [], defaultdict(set), defaultdict(set)
    for p in report["predictions"]:
        ann, scene = anns[p["ann_id"]], dataset.scene(p["scene_id"])
        obj = picked_object(p["box"][:3], scene.boxes)
        same = bool(scene.labels) and scene.labels[obj] == scene.labels[ann.target]
        right.append(same)
        if same:
            target.append(obj == ann.target)
        picked[p["scene_id"]].add(obj)
        wanted[p["scene_id"]].add(ann.target)
    acc = report["accuracy"]["overall"]
    return {"acc@0.25": acc["acc@0.25"], "acc@0.5": acc["acc@0.5"],
            "right_class": float(np.mean(right)) if right else 0.0,
            "target_in_right_class": float(np.mean(target)) if target else 0.0,
            "objects_per_scene": float(np.mean([len(v) for v in picked.values()])) if picked else 0.0,
            "targets_per_scene": float(np.mean([len(v) for v in wanted.values()])) if wanted else 0.0}


def error_breakdown(predictions: list[dict], dataset, threshold: float = 0.25) -> dict:
    """Where the misses come from: for each prediction, the scene object its box overlaps most.

    ``hit`` (IoU > threshold with the target), ``other_same_class`` (a miss whose box matches another object of the
    target's class: the sentence was read as far as the class), ``other_class`` (matches an object of another
    class), ``no_object`` (matches no object: a localisation/box error); plus Acc per description kind (the
    dataset's ``tags.kind``, e.g. attribute / relation / superlative) when annotations carry it.
    ``objects_per_scene`` / ``targets_per_scene``: distinct objects the predictions of one scene match (IoU >
    threshold), against its distinct targets, averaged over scenes: a text-blind model picks one object per scene.
    """
    anns = {a.ann_id: a for a in dataset.annotations}
    counts = {"hit": 0, "other_same_class": 0, "other_class": 0, "no_object": 0}
    kinds: dict[str, list[bool]] = defaultdict(list)
    picked: dict[str, set[int]] = defaultdict(set)
    wanted: dict[str, set[int]] = defaultdict(set)
    for p in predictions:
        ann = anns[p["ann_id"]]
        scene = dataset.scene(p["scene_id"])
        ious = axis_aligned_iou(np.asarray(p["box"], dtype=np.float64)[None],
                                np.asarray(scene.boxes, dtype=np.float64))
        best = int(np.argmax(ious))
        wanted[p["scene_id"]].add(ann.target)
        if hit(ious[best], threshold):
            picked[p["scene_id"]].add(best)
        if hit(ious[ann.target], threshold):
            counts["hit"] += 1
        elif not hit(ious[best], threshold):
            counts["no_object"] += 1
        elif scene.labels and scene.labels[best] == scene.labels[ann.target]:
            counts["other_same_class"] += 1
        else:
            counts["other_class"] += 1
        if "kind" in ann.tags:
            kinds[str(ann.tags["kind"])].append(bool(hit(ious[ann.target], threshold)))
    n = max(len(predictions), 1)
    by_kind = {k: {"n": len(v), f"acc@{threshold:g}": float(np.mean(v))} for k, v in sorted(kinds.items())}
    per_scene = {"objects_per_scene": float(np.mean([len(picked[k]) for k in wanted])) if wanted else 0.0,
                 "targets_per_scene": float(np.mean([len(v) for v in wanted.values()])) if wanted else 0.0}
    return {"threshold": threshold, "n": len(predictions), **{k: v / n for k, v in counts.items()},
            "acc_by_kind": by_kind, **per_scene}
