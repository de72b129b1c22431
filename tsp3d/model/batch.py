"""The training batch ``TSP3D.forward_train`` expects, and how to build one from dataset records.

A batch of B samples (one scene + one referring expression each; a scene may repeat):
  points        list of S float32 [N_s, 6]: x, y, z (m), r, g, b in [0, 1] (already augmented), one per scene
  scene_of      None (S = B, sample i is scene i) or a list of B scene indices: samples about the same scene
                share one entry of ``points`` and one backbone pass
  text_feats    float32 [B, L, D]: the frozen encoder's last hidden state (padded to the longest)
  text_mask     bool [B, L]: True at padding
  target_boxes  list of B float32 [K_i, 6] (centre, size; m): the referred object (K_i = 1), every object a
                detection prompt names, or target + anchor for SR3D-style "detect intermediate" training;
                positives of the assigner and regression targets
  aux_boxes     list of B float32 [A_i, 6], A_i in {0, 1}: the auxiliary object (keep GT of both TGP levels)
  scene_boxes   list of B float32 [M_i, 6]: every object of the scene (keep GT of the 64 cm level)
  object_labels list of B dicts, attribute -> one value per object of the scene ({"class": labels, "color":
                ...}): the per-voxel label losses (config voxel_labels); empty dicts when the data has none
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class TrainBatch:
    points: list[torch.Tensor]
    text_feats: torch.Tensor
    text_mask: torch.Tensor
    target_boxes: list[torch.Tensor]
    aux_boxes: list[torch.Tensor]
    scene_boxes: list[torch.Tensor]
    scene_of: list[int] | None = None
    object_labels: list[dict[str, list[str]]] | None = None

    def __len__(self) -> int:
        return len(self.target_boxes)

    def scene_index(self) -> list[int]:
        """Scene (entry of ``points``) of each sample."""
        return list(range(len(self.points))) if self.scene_of is None else list(self.scene_of)

    def to(self, device) -> "TrainBatch":
        move = lambda ts: [t.to(device) for t in ts]  # noqa: E731
        return TrainBatch(move(self.points), self.text_feats.to(device), self.text_mask.to(device),
                          move(self.target_boxes), move(self.aux_boxes), move(self.scene_boxes), self.scene_of,
                          self.object_labels)


def _boxes(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float32).reshape(-1, 6))


def make_train_batch(items, text_source, points=None, scene_of=None) -> TrainBatch:
    """``items``: (Scene, Annotation) pairs (tsp3d.data.types). ``text_source``: a TextEncoder or TextFeatureCache.

    The auxiliary box is the annotation's first anchor, if any (the official pseudo-label comes from a spaCy parse;
    ours from the dataset's anchors). ``points`` optionally replaces each scene's points (e.g. augmented copies).
    ``scene_of`` (with ``points``, one entry per distinct scene): the scene of each item; items that share a scene
    must carry the same boxes (the same augmented copy).
    """
    if scene_of is not None:
        if points is None or len(scene_of) != len(items) or sorted(set(scene_of)) != list(range(len(points))):
            raise ValueError("scene_of needs points with one entry per scene, and a scene index per item")
    texts = [ann.text for _, ann in items]
    text = text_source.encode(texts)
    pts = points if points is not None else [torch.as_tensor(np.ascontiguousarray(s.points, np.float32))
                                             for s, _ in items]
    targets, aux, scene_boxes, labels = [], [], [], []
    for scene, ann in items:
        labels.append(object_labels(scene))
        boxes = _boxes(scene.boxes)
        targets.append(boxes[[ann.target, *ann.extra_targets]])
        aux.append(boxes[ann.anchors[0]:ann.anchors[0] + 1] if ann.anchors else boxes[:0])
        scene_boxes.append(boxes)
    return TrainBatch(list(pts), text.feats, text.pad_mask, targets, aux, scene_boxes, scene_of, labels)


def object_labels(scene) -> dict[str, list[str]]:
    """``{"class": labels, <attribute>: values, ...}`` of a Scene: what the per-voxel label losses read."""
    out = {"class": list(scene.labels)} if scene.labels else {}
    m = scene.boxes.shape[0]
    for name, values in (scene.object_attributes or {}).items():
        if isinstance(values, (list, tuple)) and len(values) == m:
            out[name] = [str(v) for v in values]
    return out
