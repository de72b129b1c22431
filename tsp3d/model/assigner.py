"""Training targets: the 32-nearest assigner (official TR3DAssigner) and the keep-GT cubes of TGP.

Boxes are axis-aligned ``[K, 6]`` = centre (3) and size (3) in metres; voxel positions are voxel corners in metres.
"""
from __future__ import annotations

import torch

FAR = 1e8  # official "float_max": marks a (voxel, box) pair as excluded


@torch.no_grad()
def assign_nearest(points: torch.Tensor, centers: torch.Tensor, topk: int = 32) -> torch.Tensor:
    """Box index per voxel, or -1. A voxel is positive for box j iff

    1. its squared distance to centre j is strictly below the (topk+1)-th smallest over all voxels
       (so "the 32 nearest", fewer on ties; with n <= topk voxels, all but the farthest);
    2. j is the nearest such box; and 3. j is also the nearest box centre overall.
    """
    n, k = points.shape[0], centers.shape[0]
    if k == 0 or n == 0:
        return torch.full((n,), -1, dtype=torch.long, device=points.device)
    dist = ((points[:, None, :] - centers[None, :, :]) ** 2).sum(dim=-1)  # [n, k]
    kth = torch.topk(dist, min(topk + 1, n), largest=False, dim=0).values[-1]  # [k]
    in_topk = dist < kth[None, :]
    nearest_overall = dist.argmin(dim=1)
    masked = torch.where(in_topk, dist, torch.full_like(dist, FAR))
    best, best_id = masked.min(dim=1)
    ids = torch.where(best < FAR, best_id, torch.full_like(best_id, -1))
    return torch.where(ids == nearest_overall, best_id, torch.full_like(best_id, -1))


@torch.no_grad()
def keep_targets(points: torch.Tensor, centers: torch.Tensor, half_width: float) -> torch.Tensor:
    """Bool per voxel: inside the cube of half-width ``half_width`` around some box centre (box sizes ignored).

    The official test is ``min(p - c + hw, c - p + hw) > 0`` on every axis, i.e. ``|p - c| < hw`` strictly.
    """
    if centers.shape[0] == 0:
        return torch.zeros(points.shape[0], dtype=torch.bool, device=points.device)
    d = points[:, None, :] - centers[None, :, :]
    margin = torch.minimum(d + half_width, half_width - d).amin(dim=-1)  # [n, k]
    return (margin > 0).any(dim=1)
