"""Losses of TSP3D (official multilevel_head._loss), reproduced with their label convention and normalisations.

**Label convention (mmdet sigmoid focal loss).** Labels are class indices in ``[0, C]``; index ``C`` (here 1) is
*background*: its one-hot target is all zeros. The official code passes ``inside.long()`` as the label of the keep
head, so a voxel inside a keep cube gets label 1 = background = sigmoid target 0: the keep head learns the
probability that a voxel should be **pruned**, which is why inference keeps ``1 - sigmoid > threshold``. For the
box classifier and CBA the assigned label 0 (a positive) is the sigmoid target 1.

Totals (official): ``cls_loss = sum(focal) / #positives`` over the batch; ``bbox_loss`` = mean DIoU loss over
positives; ``keep_loss`` = per sample, sum over the two levels of ``focal.sum() / (#inside or N)`` / 3, then the
batch mean; ``com_loss = sum(focal) / #CBA positives``. Deviation: where the official code divides by zero
positives (NaN) or concatenates an empty list (crash), we divide by max(1, #positives) and use a zero bbox loss.

Optional terms for short from-scratch training (config ``head``, off in ``base``; docs/model.md): the box loss
on every scene object (``bbox_loss_all_objects``), a softmax ranking term in ``cls_loss`` (``cls_rank_weight``),
positives inside the box (``assigner_mode = "inside"``, assigner.py) and the per-voxel label losses
(``voxel_labels``: ``voxel_<attribute>_loss``, voxel_labels.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from tsp3d.model.assigner import assign, keep_targets
from tsp3d.model.voxel_labels import (BACKGROUND_ATTRIBUTE, balanced_cross_entropy, object_values,
                                      smallest_box_containing, voxel_targets)

EPS = torch.finfo(torch.float32).eps  # mmdet's avg_factor epsilon


def sigmoid_focal_loss(logits: torch.Tensor, labels: torch.Tensor, gamma: float = 2.0,
                       alpha: float = 0.25) -> torch.Tensor:
    """Element-wise focal loss [N, C] for logits [N, C] and mmdet labels [N] in [0, C] (C = background)."""
    c = logits.shape[1]
    target = F.one_hot(labels.long(), num_classes=c + 1)[:, :c].to(logits.dtype)
    p = torch.sigmoid(logits)
    pt = (1 - p) * target + p * (1 - target)
    weight = (alpha * target + (1 - alpha) * (1 - target)) * pt.pow(gamma)
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none") * weight


def boxes_to_corners(boxes: torch.Tensor) -> torch.Tensor:
    """(centre, size) [N, 6] -> (min xyz, max xyz) [N, 6]."""
    return torch.cat([boxes[:, :3] - boxes[:, 3:] / 2, boxes[:, :3] + boxes[:, 3:] / 2], dim=1)


def diou_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Axis-aligned DIoU loss per pair: ``1 - IoU + |centre difference|^2 / diagonal(enclosing box)^2``.

    Boxes are (centre, size) [N, 6]; the union is clamped to >= 1e-6 as in the official IoU.
    """
    p, t = boxes_to_corners(pred), boxes_to_corners(target)
    vol_p = (p[:, 3:] - p[:, :3]).prod(dim=1)
    vol_t = (t[:, 3:] - t[:, :3]).prod(dim=1)
    overlap = (torch.minimum(p[:, 3:], t[:, 3:]) - torch.maximum(p[:, :3], t[:, :3])).clamp(min=0).prod(dim=1)
    iou = overlap / (vol_p + vol_t - overlap).clamp(min=1e-6)
    r2 = ((pred[:, :3] - target[:, :3]) ** 2).sum(dim=1)
    c2 = ((torch.maximum(p[:, 3:], t[:, 3:]) - torch.minimum(p[:, :3], t[:, :3])) ** 2).sum(dim=1)
    return 1 - iou + r2 / c2


@dataclass
class SampleTargets:
    """Ground truth of one training sample (boxes: centre + size, metres)."""

    target_boxes: torch.Tensor  # [K, 6] the referred object(s): assigner positives and regression targets
    aux_boxes: torch.Tensor  # [A, 6] auxiliary (anchor) object, A in {0, 1}: keep GT only (level 0)
    scene_boxes: torch.Tensor  # [M, 6] every object of the scene: keep GT at 64 cm only (level 1)
    object_labels: dict[str, list[str]] | None = None  # attribute -> value per scene object (voxel label losses)


def _focal_sum_and_positives(logits, points, boxes, head_cfg, half_voxel):
    ids = assign(points, boxes, head_cfg.assigner_topk, head_cfg.assigner_mode, half_voxel)
    labels = torch.where(ids >= 0, torch.zeros_like(ids), torch.ones_like(ids))  # 0 = positive, 1 = background
    return sigmoid_focal_loss(logits[:, None], labels).sum(), ids


def compute_losses(out, targets: list[SampleTargets], head_cfg, probes=None) -> dict[str, torch.Tensor]:
    """``out``: TrainOutputs of head_train.forward_train; ``probes``: the head's VoxelLabelHeads (when the config
    has voxel_labels). Returns the four weighted losses (plus ``voxel_<attribute>_loss`` each) and their sum
    ``loss``."""
    half = out.half_voxel
    cls_sum, com_sum, n_pos, n_pos_com, keep_total, bbox_terms, rank_terms = 0.0, 0.0, 0, 0, 0.0, [], []
    for i, tgt in enumerate(targets):
        level0 = torch.cat([tgt.target_boxes, tgt.aux_boxes])[:, :3]
        level_centers = (torch.cat([tgt.scene_boxes[:, :3], level0]), level0)  # (64 cm, 32 cm)
        for j in range(2):
            logits, points = out.keep_logits[j][i], out.keep_points[j][i]
            inside = keep_targets(points, level_centers[j], head_cfg.keep_gt_half_width[j]).long()
            avg = inside.sum() if bool(inside.any()) else inside.numel()
            keep_total = keep_total + sigmoid_focal_loss(logits[:, None], inside).sum() / (avg + EPS) / 3
        s, ids = _focal_sum_and_positives(out.cls_logits[i], out.points[i], tgt.target_boxes, head_cfg, half)
        cls_sum, n_pos = cls_sum + s, n_pos + int((ids >= 0).sum())
        if head_cfg.cls_rank_weight and bool((ids >= 0).any()):  # -log P(top-1 voxel is a positive), softmax
            logits = out.cls_logits[i]
            rank_terms.append(torch.logsumexp(logits, 0) - torch.logsumexp(logits[ids >= 0], 0))
        box_ids, boxes = ids, tgt.target_boxes
        if head_cfg.bbox_loss_all_objects:  # every scene object's 32 nearest voxels regress their object's box
            boxes = torch.cat([tgt.target_boxes, tgt.scene_boxes])
            box_ids = assign(out.points[i], boxes, head_cfg.assigner_topk, head_cfg.assigner_mode, half)
        pos = box_ids >= 0
        if bool(pos.any()):
            reg = out.reg[i][pos]
            pred = torch.cat([out.points[i][pos] + reg[:, :3], torch.exp(reg[:, 3:6])], dim=1)
            bbox_terms.append(diou_loss(pred, boxes[box_ids[pos]]))
        s, ids = _focal_sum_and_positives(out.com_logits[i], out.com_points[i], tgt.target_boxes, head_cfg, half)
        com_sum, n_pos_com = com_sum + s, n_pos_com + int((ids >= 0).sum())
    w = head_cfg.loss_weights
    anchor = out.cls_logits[0]
    losses = {
        "cls_loss": w["cls_loss"] * (cls_sum / max(n_pos, 1) + (
            head_cfg.cls_rank_weight * torch.stack(rank_terms).mean() if rank_terms else 0.0)),
        "bbox_loss": w["bbox_loss"] * (torch.cat(bbox_terms).mean() if bbox_terms else anchor.sum() * 0.0),
        "keep_loss": w["keep_loss"] * keep_total / len(targets),
        "com_loss": w["com_loss"] * com_sum / max(n_pos_com, 1),
    }
    if probes is not None:
        losses.update(voxel_label_losses(out, targets, head_cfg, probes))
    losses["loss"] = sum(losses.values())
    return losses


def voxel_label_losses(out, targets: list[SampleTargets], head_cfg, probes) -> dict[str, torch.Tensor]:
    """``voxel_<attribute>_loss``: weight x (balanced CE on the backbone's 16 cm voxels + on the final voxels)."""
    levels = {"backbone": (out.backbone_feats, out.backbone_points), "final": (out.final_feats, out.points)}
    losses = {}
    for name, vocabulary in head_cfg.voxel_labels.items():
        background = name == BACKGROUND_ATTRIBUTE
        total = None
        for level, (feats, points) in levels.items():
            labels = []
            for i, tgt in enumerate(targets):
                owner = smallest_box_containing(points[i] + out.half_voxel, tgt.scene_boxes)
                values = object_values((tgt.object_labels or {}).get(name), vocabulary, owner.device)
                labels.append(voxel_targets(owner, values, len(vocabulary), background))
            ce = balanced_cross_entropy(probes.probe(level, name)(torch.cat(feats)), torch.cat(labels))
            if ce is not None:
                total = ce if total is None else total + ce
        anchor = out.cls_logits[0].sum() * 0.0  # a zero that keeps the graph when no voxel has a label
        losses[f"voxel_{name}_loss"] = head_cfg.voxel_label_weights[name] * (total if total is not None else anchor)
    return losses
