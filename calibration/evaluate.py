"""Task accuracy of a graph pair (backbone + head, FP32 or INT8) in ONNX Runtime, and agreement between two.

The backbone runs once per scene and the head once per sentence (the bundle's split form: same nodes as the
single graph). Acc@k counts IoU with the ground truth strictly above k (``tsp3d.data.boxes.hit``). Agreement with
a reference run (FP32) is measured on the top-1 boxes: ``same_object`` = IoU >= 0.5 with the reference box,
``identical`` = IoU >= 0.999.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from tsp3d.calibration.data import Sample

LEVELS = ("v1_coords", "v1_feats", "v2_coords", "v2_feats", "v3_coords", "v3_feats")
THRESHOLDS = (0.25, 0.5)
SAME_OBJECT_IOU = 0.5
IDENTICAL_IOU = 0.999


@dataclass
class EvalResult:
    label: str
    boxes: np.ndarray  # [S, 6]
    ious: np.ndarray  # [S] IoU with the ground truth
    scores: list = field(default_factory=list)
    counts: list = field(default_factory=list)
    scene_ms: list = field(default_factory=list)
    sentence_ms: list = field(default_factory=list)

    @property
    def accuracy(self) -> dict:
        from tsp3d.data.boxes import hit

        return {f"acc@{t}": float(np.mean([hit(i, t) for i in self.ious])) if len(self.ious) else float("nan")
                for t in THRESHOLDS}

    def agreement(self, ref: "EvalResult") -> dict:
        from tsp3d.data.boxes import axis_aligned_iou

        iou = np.asarray(axis_aligned_iou(self.boxes, ref.boxes), dtype=np.float64).reshape(-1)
        return {"same_object": float(np.mean(iou >= SAME_OBJECT_IOU)),
                "identical": float(np.mean(iou >= IDENTICAL_IOU)), "mean_iou": float(np.mean(iou))}

    def latency(self) -> dict:
        def med(xs):
            return float(np.median(xs)) if xs else None

        return {"scene_median_ms": med(self.scene_ms), "sentence_median_ms": med(self.sentence_ms)}


class GraphPair:
    """ONNX Runtime sessions (our library) of a backbone graph and a head graph."""

    def __init__(self, backbone, head, threads: int | None = None):
        from tsp3d.runtime.ort_session import make_session

        self.backbone = make_session(backbone, threads=threads) if backbone is not None else None
        self.head = make_session(head, threads=threads)

    def levels(self, points: np.ndarray) -> dict:
        from tsp3d.runtime.ort_session import run

        return dict(zip(LEVELS, run(self.backbone, {"points": points})))

    def ground(self, levels: dict, sample: Sample) -> list:
        from tsp3d.runtime.ort_session import run

        return run(self.head, {**levels, "text_feats": sample.text_feats, "text_mask": sample.text_mask})


def evaluate(pair: GraphPair, groups: list, label: str, levels: list | None = None,
             progress=None) -> tuple[EvalResult, list]:
    """Run every (scene, sentences) group -> ``(EvalResult, per-scene levels)``.

    ``levels``: per-scene backbone outputs to reuse (when the backbone is the same as the run that made them).
    """
    from tsp3d.data.boxes import axis_aligned_iou

    boxes, ious, scores, counts, scene_ms, sentence_ms, all_levels = [], [], [], [], [], [], []
    done = 0
    for g, (points, samples) in enumerate(groups):
        if levels is not None:
            lv = levels[g]
        else:
            t0 = time.perf_counter()
            lv = pair.levels(points)
            scene_ms.append(1e3 * (time.perf_counter() - t0))
        all_levels.append(lv)
        for s in samples:
            t0 = time.perf_counter()
            center, size, score, count = pair.ground(lv, s)[:4]
            sentence_ms.append(1e3 * (time.perf_counter() - t0))
            box = np.concatenate([center.reshape(3), size.reshape(3)]).astype(np.float64)
            boxes.append(box)
            ious.append(float(axis_aligned_iou(box, s.box)))
            scores.append(float(np.asarray(score).reshape(())))
            counts.append([int(c) for c in np.asarray(count).reshape(-1)])
            done += 1
            if progress:
                progress(done)
    result = EvalResult(label, np.asarray(boxes).reshape(-1, 6), np.asarray(ious), scores, counts, scene_ms,
                        sentence_ms)
    return result, all_levels
