"""The TSP3D model: point cloud + text features -> one axis-aligned 3D box.

``TSP3D`` holds the official top-level modules (``vision_backbone``, ``text_projector``, ``head``); the frozen text
encoder is separate (tsp3d.text) and hands over its last hidden state. Inference is two stages with plain-tensor
interfaces (see stages.py): ``encode_scene(points)`` (sentence independent) and ``ground(levels, text)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from tsp3d.errors import CapacityError, InputFileError
from tsp3d.model.backbone import Backbone
from tsp3d.model.config import ModelConfig
from tsp3d.model.head import COUNT_NAMES, TSPHead
from tsp3d.model.head_train import forward_train
from tsp3d.model.losses import SampleTargets, compute_losses
from tsp3d.sparse import CoordinateSet, SparseTensor, ops
from tsp3d.sparse.voxelize import check_points
from tsp3d.utils.sites import check_cba_sites

Levels = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass
class Grounding:
    """One predicted box (metres) with its score and the voxel counts along the way."""

    center: torch.Tensor  # [3]
    size: torch.Tensor  # [3]
    score: torch.Tensor  # []
    counts: dict[str, int]

    @property
    def box(self) -> torch.Tensor:
        return torch.cat([self.center, self.size])


class TSP3D(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.head.channels
        self.vision_backbone = Backbone(cfg)
        self.text_projector = nn.Sequential(nn.Linear(cfg.text_dim, c), nn.LayerNorm(c, eps=1e-12),
                                            nn.Dropout(cfg.head.dropout))
        self.head = TSPHead(cfg)
        self.register_buffer("rgb_mean", torch.tensor(cfg.rgb_mean, dtype=torch.float32), persistent=False)

    # ------------------------------------------------------------------ input

    def point_features(self, points: torch.Tensor) -> torch.Tensor:
        """[N, 6] (x, y, z, r, g, b in [0, 1]) -> model features: xyz as is, rgb * scale - mean (official norm)."""
        return torch.cat([points[:, :3], points[:, 3:6] * self.cfg.rgb_scale - self.rgb_mean], dim=1)

    def voxelize(self, points: torch.Tensor, batch: int = 0) -> SparseTensor:
        """One voxel per occupied cell (lowest point index represents it; ME picks one at random)."""
        caps = self.cfg.capacities
        coords, first = ops.voxelize(points, self.cfg.voxel_size, batch, caps.voxels_s1)
        feats = self.point_features(points.index_select(0, first.long()))
        return SparseTensor(feats, cset=CoordinateSet(coords, 1, check=False))

    def check_points(self, points: torch.Tensor) -> None:
        check_points(points)
        if points.shape[1] != 6:
            raise InputFileError(f"points must have 6 columns (x, y, z, r, g, b), got {points.shape[1]}")
        if points.shape[0] > self.cfg.capacities.max_points:
            raise CapacityError(f"{points.shape[0]} points exceed capacities.max_points="
                                f"{self.cfg.capacities.max_points}",
                                hint="subsample the scene or raise max_points in the model config")

    def check_text(self, text_feats: torch.Tensor, text_mask: torch.Tensor, batch: int) -> None:
        d = self.cfg.text_dim
        if text_feats.dim() != 3 or text_feats.shape[0] != batch or text_feats.shape[2] != d:
            raise InputFileError(f"text features must be [{batch}, L, {d}] (encoder {self.cfg.text_encoder!r}), "
                                 f"got {list(text_feats.shape)}")
        if text_mask.dtype != torch.bool or text_mask.shape != text_feats.shape[:2]:
            raise InputFileError(f"text mask must be bool {list(text_feats.shape[:2])} (True = padding), "
                                 f"got {text_mask.dtype} {list(text_mask.shape)}")
        if bool(text_mask[:, 0].any()):
            raise InputFileError("the first text token must not be padding (it is the sentence vector)")

    # ------------------------------------------------------------------ batch-1 inference, in two stages

    def encode_scene(self, points: torch.Tensor) -> Levels:
        """Sentence-independent stage: points -> (coords, feats) of V1 (16), V2 (32), V3 (64 voxels)."""
        _, v1, v2, v3 = self.vision_backbone(self.voxelize(points), self.cfg.capacities)
        return v1.coords, v1.feats, v2.coords, v2.feats, v3.coords, v3.feats

    def ground(self, c1, f1, c2, f2, c3, f3, text_feats: torch.Tensor, text_mask: torch.Tensor,
               cba_coords: torch.Tensor | None = None, probes: dict | None = None):
        """Per-sentence stage -> (center [3], size [3], score [], counts int64 [len(COUNT_NAMES)]).

        ``cba_coords`` (int32 [S, 4], V1 sites) replaces the deterministic CBA sample (unchecked here);
        ``probes`` receives the head's intermediate values (``tsp3d.model.head.PROBE_NAMES``)."""
        levels = [SparseTensor(f, cset=CoordinateSet(c, s, check=False)) for c, f, s in
                  ((c1, f1, 16), (c2, f2, 32), (c3, f3, 64))]
        return self.head.forward_test(*levels, self.text_projector(text_feats), text_mask, cba_coords, probes)

    @torch.no_grad()
    def predict(self, points: torch.Tensor, text_feats: torch.Tensor, text_mask: torch.Tensor,
                cba_coords=None) -> Grounding:
        """Checked eager inference for one scene and one sentence (``model.eval()`` first).

        ``cba_coords``: an explicit CBA sample (V1 sites, e.g. the official code's random draw), checked first."""
        self.check_points(points)
        self.check_text(text_feats, text_mask, 1)
        levels = self.encode_scene(points)
        if cba_coords is not None:
            cba_coords = torch.from_numpy(check_cba_sites(cba_coords, levels[0].cpu().numpy())).to(levels[0].device)
        center, size, score, counts = self.ground(*levels, text_feats, text_mask, cba_coords)
        return Grounding(center, size, score, dict(zip(COUNT_NAMES, counts.tolist())))

    # ------------------------------------------------------------------ training

    def forward_train(self, batch) -> dict[str, torch.Tensor]:
        """``batch``: a ``TrainBatch`` (batch.py). Returns the weighted losses and their sum under ``loss``.

        Samples about the same scene (``batch.scene_of``) share one backbone pass: its levels are copied to each
        sample (gradients add up), and the head runs per sample as usual.
        """
        b, s = len(batch), len(batch.points)
        for p in batch.points:
            self.check_points(p)
        self.check_text(batch.text_feats, batch.text_mask, b)
        scene = [self.voxelize(p, i) for i, p in enumerate(batch.points)]
        coords = torch.cat([v.coords for v in scene])  # batch-major, so still canonical
        x = SparseTensor(torch.cat([v.feats for v in scene]), cset=CoordinateSet(coords, 1, check=False))
        _, v1, v2, v3 = self.vision_backbone(x, self.cfg.capacities, s)
        if batch.scene_of is not None:
            v1, v2, v3 = (_per_sample(v, batch.scene_of, s) for v in (v1, v2, v3))
        out = forward_train(self.head, v1, v2, v3, self.text_projector(batch.text_feats), batch.text_mask, b)
        labels = batch.object_labels or [None] * b
        targets = [SampleTargets(t, a, sb, lb) for t, a, sb, lb in zip(batch.target_boxes, batch.aux_boxes,
                                                                        batch.scene_boxes, labels)]
        return compute_losses(out, targets, self.cfg.head, self.head.voxel_probes)


def _per_sample(x: SparseTensor, scene_of: list[int], scenes: int) -> SparseTensor:
    """Rows of scene ``scene_of[i]`` as batch item i, for every sample i (batch-major, so canonical)."""
    from tsp3d.model.tgp import rows_per_sample

    rows = rows_per_sample(x.coords, scenes)
    idx = torch.cat([rows[j] for j in scene_of])
    item = torch.cat([torch.full((rows[j].numel(),), i, dtype=x.coords.dtype, device=x.coords.device)
                      for i, j in enumerate(scene_of)])
    coords = torch.cat([item[:, None], x.coords.index_select(0, idx)[:, 1:]], dim=1)
    return SparseTensor(x.feats.index_select(0, idx), cset=CoordinateSet(coords, x.stride, check=False))
