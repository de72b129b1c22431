"""Per-voxel auxiliary labels (training only; config ``head.voxel_labels``; issue 12).

For each configured attribute ("class", "color", "size", ...) a linear probe per feature level (the backbone's
16 cm voxels, and the final voxels before the text fusion) predicts the value of the smallest ground-truth box that
contains the voxel's centre. "class" has one more output, background, for voxels in no box; the other attributes
ignore such voxels. The loss is class-balanced cross-entropy (each label present in the batch weighs the same,
i.e. inverse-frequency weights): unweighted, the frequent background wins and the features learn nothing
(measured, docs/model.md). The probes never run at inference.
"""
from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

LEVELS = ("backbone", "final")
BACKGROUND_ATTRIBUTE = "class"  # the attribute whose voxels outside every box are labelled (background)


class VoxelLabelHeads(nn.Module):
    """``probe(level, attribute)``: Linear(C, values (+1 background for "class"))."""

    def __init__(self, channels: int, labels: dict[str, list[str]]):
        super().__init__()
        self.probes = nn.ModuleDict({level: nn.ModuleDict({
            _key(name): nn.Linear(channels, len(values) + (name == BACKGROUND_ATTRIBUTE))
            for name, values in labels.items()}) for level in LEVELS})

    def probe(self, level: str, attribute: str) -> nn.Module:
        return self.probes[level][_key(attribute)]


def _key(attribute: str) -> str:
    """A module name that is a valid identifier whatever the attribute ("class" is a Python keyword, and traced
    graphs name parameters after their module path)."""
    return "attr_" + re.sub(r"\W", "_", attribute)


def object_values(names: list[str] | None, vocabulary: list[str], device=None) -> torch.Tensor:
    """Vocabulary index of each object's value, -1 for a value outside the vocabulary or a missing list."""
    index = {v: i for i, v in enumerate(vocabulary)}
    if names is None:
        return torch.zeros(0, dtype=torch.long, device=device)
    return torch.tensor([index.get(str(n), -1) for n in names], dtype=torch.long, device=device)


@torch.no_grad()
def smallest_box_containing(centers: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Index of the smallest box (centre, size [M, 6]) containing each point [n, 3] (closed box), -1 for none."""
    if boxes.shape[0] == 0 or centers.shape[0] == 0:
        return torch.full((centers.shape[0],), -1, dtype=torch.long, device=centers.device)
    inside = ((centers[:, None, :] - boxes[None, :, :3]).abs() <= boxes[None, :, 3:] / 2).all(dim=-1)  # [n, M]
    volume = boxes[:, 3:].prod(dim=1)
    masked = torch.where(inside, volume[None, :].expand_as(inside), torch.full_like(inside, float("inf"),
                                                                                   dtype=volume.dtype))
    best, idx = masked.min(dim=1)
    return torch.where(torch.isfinite(best), idx, torch.full_like(idx, -1))


def voxel_targets(owner: torch.Tensor, values: torch.Tensor, n_values: int, background: bool) -> torch.Tensor:
    """Per voxel: the value of its box (``owner`` from smallest_box_containing); in no box: ``n_values`` when
    ``background`` else -1 (ignored); a box whose value is unknown (-1) is ignored, and so is every voxel of a
    scene without values (no background-only labels)."""
    if values.numel() == 0:
        return torch.full_like(owner, -1)
    out = torch.full_like(owner, n_values if background else -1)
    has = owner >= 0
    out[has] = values[owner[has]]
    return out


def balanced_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor | None:
    """Mean over the labels present (>= 0) of their mean cross-entropy; None when no voxel has a label."""
    valid = labels >= 0
    if not bool(valid.any()):
        return None
    logits, labels = logits[valid], labels[valid]
    ce = F.cross_entropy(logits, labels, reduction="none")
    counts = torch.bincount(labels, minlength=logits.shape[1]).to(ce.dtype)
    weights = (1.0 / counts.clamp(min=1.0))[labels]
    return (ce * weights).sum() / (counts > 0).sum()
