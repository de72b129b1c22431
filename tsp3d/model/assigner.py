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
def assign_inside(points: torch.Tensor, boxes: torch.Tensor, topk: int = 32, half_voxel: float = 0.0) -> torch.Tensor:
    """Box index per voxel, or -1, with the positives on the box (config ``assigner_mode = "inside"``).

    Voxel centres are ``points + half_voxel`` (points are voxel corners). A voxel is positive for box j iff its
    centre lies inside box j (closed) and is strictly nearer to centre j than the (topk+1)-th nearest such voxel
    (so every inside voxel when there are at most topk); a voxel inside several boxes goes to the nearest centre.
    A box that contains no voxel centre falls back to the official rule (``assign_nearest``) for its voxels.
    ``boxes``: [K, 6] centre + size. The official rule puts 41 % of the positives off the target (docs/model.md).
    """
    n, k = points.shape[0], boxes.shape[0]
    if k == 0 or n == 0:
        return torch.full((n,), -1, dtype=torch.long, device=points.device)
    centres = points + half_voxel
    dist = ((centres[:, None, :] - boxes[None, :, :3]) ** 2).sum(dim=-1)  # [n, k]
    inside = ((centres[:, None, :] - boxes[None, :, :3]).abs() <= boxes[None, :, 3:] / 2).all(dim=-1)
    far = torch.full_like(dist, FAR)
    d = torch.where(inside, dist, far)
    if n > topk:  # the (topk+1)-th nearest inside voxel; FAR when at most topk lie inside
        selected = inside & (d < torch.topk(d, topk + 1, largest=False, dim=0).values[-1][None, :])
    else:
        selected = inside
    has_inside = inside.any(dim=0)
    if not bool(has_inside.all()):  # the official rule for the boxes without a voxel inside
        fallback = assign_nearest(points, boxes[:, :3], topk)
        official = fallback[:, None] == torch.arange(k, device=points.device)[None, :]
        selected = torch.where(has_inside[None, :], selected, official)
    best, best_id = torch.where(selected, dist, far).min(dim=1)
    return torch.where(best < FAR, best_id, torch.full_like(best_id, -1))


def assign(points: torch.Tensor, boxes: torch.Tensor, topk: int, mode: str = "nearest",
           half_voxel: float = 0.0) -> torch.Tensor:
    """The configured assigner (``head.assigner_mode``): "nearest" (official) or "inside"."""
    if mode == "inside":
        return assign_inside(points, boxes, topk, half_voxel)
    return assign_nearest(points, boxes[:, :3], topk)


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
