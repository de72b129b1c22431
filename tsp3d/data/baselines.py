"""Text-blind baselines on a dataset split, computed exactly in expectation (no sampling, so deterministic).

- ``random``: pick one of the scene's objects uniformly at random;
- ``class_only``: know the target's class, pick uniformly among the scene's objects of that class.

Acc@k of a baseline on one annotation is the fraction of its possible picks whose box has IoU > k with the target
box; the split's Acc@k is the mean over annotations, reported overall and on the unique / multiple subsets.
A model that reads the sentence must beat ``class_only`` on "multiple" to show that it uses more than the class.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from tsp3d.data.boxes import axis_aligned_iou, hit
from tsp3d.data.types import Annotation, Scene

THRESHOLDS = (0.25, 0.5)
SUBSETS = ("overall", "unique", "multiple")


@dataclass
class BaselineScores:
    """Acc@k per subset: ``acc[subset][k]`` in [0, 1]; ``count[subset]`` annotations behind each number."""

    name: str
    thresholds: tuple[float, ...] = THRESHOLDS
    acc: dict[str, dict[float, float]] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "count": dict(self.count),
            "acc": {s: {f"{k:g}": v for k, v in a.items()} for s, a in self.acc.items()},
        }


def expected_hits(scene: Scene, ann: Annotation, thresholds=THRESHOLDS) -> dict[str, np.ndarray]:
    """Per baseline, the probability (for each threshold) that its pick hits the target of ``ann``."""
    boxes = np.asarray(scene.boxes, dtype=np.float64)
    if not 0 <= ann.target < boxes.shape[0]:
        raise ValueError(
            f"annotation {ann.ann_id}: target {ann.target} outside scene {scene.scene_id} ({boxes.shape[0]} objects)"
        )
    iou = axis_aligned_iou(boxes, boxes[ann.target][None, :])  # [M]
    hits = np.stack([hit(iou, k) for k in thresholds], axis=1).astype(np.float64)  # [M, T]
    if not scene.labels:
        raise ValueError(f"scene {scene.scene_id} has no labels: the class-only baseline needs them")
    labels = np.asarray(scene.labels)
    same = labels == labels[ann.target]
    return {"random": hits.mean(axis=0), "class_only": hits[same].mean(axis=0)}


def compute_baselines(samples: Iterable[tuple[Scene, Annotation]], thresholds=THRESHOLDS) -> dict[str, BaselineScores]:
    """Both baselines over ``(Scene, Annotation)`` pairs (e.g. a ``GroundingDataset``)."""
    thresholds = tuple(float(k) for k in thresholds)
    sums = {b: {s: np.zeros(len(thresholds)) for s in SUBSETS} for b in ("random", "class_only")}
    count = dict.fromkeys(SUBSETS, 0)
    for scene, ann in samples:
        subset = "unique" if ann.unique else "multiple"
        count["overall"] += 1
        count[subset] += 1
        for name, p in expected_hits(scene, ann, thresholds).items():
            sums[name]["overall"] += p
            sums[name][subset] += p
    out = {}
    for name, per_subset in sums.items():
        acc = {
            s: {k: (float(per_subset[s][i] / count[s]) if count[s] else float("nan")) for i, k in enumerate(thresholds)}
            for s in SUBSETS
        }
        out[name] = BaselineScores(name, thresholds, acc, dict(count))
    return out


def format_table(scores: dict[str, BaselineScores]) -> str:
    """A plain-text table (for reports and the CLI)."""
    first = next(iter(scores.values()))
    cols = [f"{s}@{k:g}" for s in SUBSETS for k in first.thresholds]
    lines = ["baseline     " + "  ".join(f"{c:>14}" for c in cols)]
    for name, sc in scores.items():
        vals = [sc.acc[s][k] * 100 for s in SUBSETS for k in sc.thresholds]
        lines.append(f"{name:<12} " + "  ".join(f"{v:14.2f}" for v in vals))
    lines.append("counts: " + ", ".join(f"{s}={first.count[s]}" for s in SUBSETS))
    return "\n".join(lines)
