"""Batch-1 inference as ``nn.Module``s with plain-tensor interfaces: what ``torch.export`` / ONNX export trace.

* ``SceneStage``: points [N, 6] -> (c1, f1, c2, f2, c3, f3): coordinates int32 [Ni, 4] and features [Ni, C] of the
  16/32/64-voxel levels. Independent of the sentence: run once per scene.
* ``GroundingStage``: those six tensors + text features [1, L, D] + text mask bool [1, L] (True = padding)
  -> (center [3], size [3], score [], counts int64 [9]) (count names: ``tsp3d.model.head.COUNT_NAMES``).
* ``FullStage``: both in one graph.
Use them on an eval-mode model, normally ``fold_batchnorm(model)``. They do no input checks (a graph cannot raise
typed errors); ``TSP3D.predict`` is the checked eager entry point.
"""
from __future__ import annotations

import torch
from torch import nn

from tsp3d.model.grounder import TSP3D


class SceneStage(nn.Module):
    def __init__(self, model: TSP3D):
        super().__init__()
        self.model = model

    def forward(self, points: torch.Tensor):
        return self.model.encode_scene(points)


class GroundingStage(nn.Module):
    def __init__(self, model: TSP3D):
        super().__init__()
        self.model = model

    def forward(self, c1, f1, c2, f2, c3, f3, text_feats, text_mask):
        return self.model.ground(c1, f1, c2, f2, c3, f3, text_feats, text_mask)


class FullStage(nn.Module):
    def __init__(self, model: TSP3D):
        super().__init__()
        self.model = model

    def forward(self, points, text_feats, text_mask):
        return self.model.ground(*self.model.encode_scene(points), text_feats, text_mask)


def example_dynamic_shapes(stage: nn.Module):
    """``dynamic_shapes`` for ``torch.export.export``: point, voxel and token counts are dynamic."""
    n, l = torch.export.Dim("points"), torch.export.Dim("tokens")
    if isinstance(stage, SceneStage):
        return ({0: n},)
    text = ({1: l}, {1: l})
    if isinstance(stage, FullStage):
        return ({0: n},) + text
    v1, v2, v3 = torch.export.Dim("v1"), torch.export.Dim("v2"), torch.export.Dim("v3")
    return ({0: v1}, {0: v1}, {0: v2}, {0: v2}, {0: v3}, {0: v3}) + text
