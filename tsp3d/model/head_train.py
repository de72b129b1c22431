"""Training forward of the head (official TSPHead.forward, §5.5 of the spec), for any batch size.

Differences from inference, all as in the official code: before each keep BiEncoder at most
``train_attn_samples`` voxels per scene are drawn at random and the scene continues with those only (padded to
exactly that many rows with coordinate -1, which the shared position-embedding BatchNorm sees, as officially);
pruning keeps the per-scene top-k of the (detached) negated keep logits interpolated onto the upsampled sites
(k = ``train_topk_32`` at 32 cm, ``randint(train_topk_16)`` at 16 cm); CBA draws its ``cba_samples`` at random.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from tsp3d.model.tgp import interpolate_at, random_rows, rows_per_sample, topk_rows
from tsp3d.sparse import SparseTensor


@dataclass
class TrainOutputs:
    """Per-sample predictions the losses need (positions are voxel corners in metres)."""

    keep_logits: list[list[torch.Tensor]] = field(default_factory=list)  # [level 64, level 32][sample] -> [n]
    keep_points: list[list[torch.Tensor]] = field(default_factory=list)  # same layout -> [n, 3]
    cls_logits: list[torch.Tensor] = field(default_factory=list)  # [sample] -> [n]
    reg: list[torch.Tensor] = field(default_factory=list)  # [sample] -> [n, 6]
    points: list[torch.Tensor] = field(default_factory=list)  # [sample] -> [n, 3]
    com_logits: list[torch.Tensor] = field(default_factory=list)  # [sample] -> [m] (the CBA sample)
    com_points: list[torch.Tensor] = field(default_factory=list)
    # For the per-voxel label losses (config voxel_labels): features [n, C] and corners [n, 3] of the backbone's
    # 16 cm voxels, and the final voxels' features before the text fusion (their corners are ``points``).
    backbone_feats: list[torch.Tensor] = field(default_factory=list)
    backbone_points: list[torch.Tensor] = field(default_factory=list)
    final_feats: list[torch.Tensor] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # voxels over the batch, for logging
    half_voxel: float = 0.0  # half the edge of the 16 cm voxels (m): corner + half_voxel = voxel centre


def _attend_padded(head, encoder, x: SparseTensor, rows: list[torch.Tensor], length: int, text, text_mask):
    """Run ``encoder`` on the rows of each sample padded to ``length``; return the kept rows as a new tensor."""
    feats = torch.stack([F.pad(x.feats[r], (0, 0, 0, length - r.numel())) for r in rows])
    coords = torch.stack([F.pad(x.coords[r], (0, 0, 0, length - r.numel()), value=-1) for r in rows])
    pad = coords[:, :, 0] < 0
    vis, text = encoder(feats, head.position(coords), pad, text, text_mask)
    kept = torch.cat(rows)  # ascending: the rows of sample 0, then 1, ... so the subset stays canonical
    return SparseTensor(vis[~pad], cset=x.cset.subset(kept)), vis, pad, text


def _split(values: torch.Tensor, coords: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    return [values[r] for r in rows_per_sample(coords, batch_size)]


def forward_train(head, v1: SparseTensor, v2: SparseTensor, v3: SparseTensor, text: torch.Tensor,
                  text_mask: torch.Tensor, batch_size: int) -> TrainOutputs:
    h, caps, vs, b = head.cfg.head, head.cfg.capacities, head.voxel_size, batch_size
    out = TrainOutputs(half_voxel=0.5 * v1.stride * vs)
    sentence = head.sentence(text, text_mask)  # the projected text, before the BiEncoders update it
    if head.voxel_probes is not None:
        out.backbone_feats = _split(v1.feats, v1.coords, b)
        out.backbone_points = _split(v1.coords[:, 1:].float() * vs, v1.coords, b)
    x = v3
    # (keep_trans index, lateral block, up block, backbone level added after upsampling, attention cap, up capacity)
    levels = ((1, head.lateral_block_2, 2, v2, h.train_attn_samples[0], caps.up_s32),
              (0, head.lateral_block_1, 1, v1, h.train_attn_samples[1], caps.up_s16))
    for idx, lateral, up_level, backbone_level, cap, up_cap in levels:
        rows = [random_rows(r, cap) for r in rows_per_sample(x.coords, b)]
        x, _, _, text = _attend_padded(head, head.keep_trans[idx], x, rows, cap, text, text_mask)
        keep = head.keep_conv[idx](x).feats
        out.keep_logits.append(_split(keep[:, 0], x.coords, b))
        out.keep_points.append(_split(x.coords[:, 1:].float() * vs, x.coords, b))
        x = lateral(x)
        coarse_coords, coarse_stride = x.coords, x.stride
        x.cset.up(up_cap * b)
        x = getattr(head, f"up_block_{up_level}")(x)
        with torch.no_grad():
            score = interpolate_at(-keep.detach(), coarse_coords, coarse_stride, x.coords)[:, 0]
        k = h.train_topk_32 if up_level == 2 else int(torch.randint(h.train_topk_16[0], h.train_topk_16[1], ()))
        x = x.select(topk_rows(score, rows_per_sample(x.coords, b), k))
        x = x.replace(x.feats + backbone_level.features_at(x.coords))
        out.counts[f"up{x.stride}_kept"] = len(x)
    # CBA on a random sample of V1; confident sites missing from x are appended with their com_trans features.
    rows = [random_rows(r, h.cba_samples) for r in rows_per_sample(v1.coords, b)]
    sample, vis, pad, text = _attend_padded(head, head.com_trans, v1, rows, h.cba_samples, text, text_mask)
    com = head.com_logits(vis)[~pad]
    out.com_logits = _split(com, sample.coords, b)
    out.com_points = _split(sample.coords[:, 1:].float() * vs, sample.coords, b)
    confident = sample.select((torch.sigmoid(com.detach()) > h.cba_threshold).nonzero().squeeze(1))
    x = x.append_missing(confident, caps.final_s16 * b)
    out.counts.update(cba_sampled=len(sample), cba_confident=len(confident), final=len(x))
    x, reg, cls, pre = head.box_head(x, text[:, 0], sentence)
    out.reg = _split(reg, x.coords, b)
    if head.voxel_probes is not None:
        out.final_feats = _split(pre, x.coords, b)
    out.cls_logits = _split(cls, x.coords, b)
    out.points = _split(x.coords[:, 1:].float() * vs, x.coords, b)
    return out
