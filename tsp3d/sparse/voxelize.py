"""Voxelization of a point cloud (reference): floor quantization, one deterministic point per voxel.

``coords = floor(xyz / voxel_size)`` computed in float32 (division, not multiplication by the reciprocal, so the
C++/CUDA kernels give bit-identical voxels). When several points fall in one voxel the **first point in input
order** represents it (MinkowskiEngine picks one at random; we do not). Voxels come out sorted by (batch, x, y, z).
"""
from __future__ import annotations

import torch

from tsp3d.errors import SparseInputError
from tsp3d.sparse import coords as C
from tsp3d.sparse.rulebook import _check_capacity


def check_points(points, name: str = "points") -> None:
    if not isinstance(points, torch.Tensor):
        raise SparseInputError(f"{name} must be a torch.Tensor, got {type(points).__name__}")
    if points.dtype != torch.float32:
        raise SparseInputError(f"{name} must be float32, got {points.dtype}")
    if points.dim() != 2 or points.shape[1] < 3:
        raise SparseInputError(f"{name} must have shape [N, >=3] (x, y, z, ...), got {list(points.shape)}")
    if points.shape[0] == 0:
        raise SparseInputError(f"{name} is empty (0 points)")
    if not bool(torch.isfinite(points[:, :3]).all()):
        row = int((~torch.isfinite(points[:, :3])).any(dim=1).nonzero()[0, 0])
        raise SparseInputError(f"{name} has a NaN/Inf coordinate at row {row}: {points[row, :3].tolist()}")


def voxelize(points: torch.Tensor, voxel_size: float, batch: int = 0, capacity: int = 0):
    """Return ``(coords int32 [M, 4], first int64 [M])``: voxel coordinates and the representative point rows."""
    check_points(points)
    if not voxel_size > 0:
        raise SparseInputError(f"voxel_size must be > 0, got {voxel_size}")
    if not 0 <= batch <= C.BATCH_MAX:
        raise SparseInputError(f"batch must be in [0, {C.BATCH_MAX}], got {batch}")
    q = torch.floor(points[:, :3] / torch.tensor(voxel_size, dtype=torch.float32))
    lo, hi = float(q.min()), float(q.max())
    if lo < C.COORD_MIN or hi > C.COORD_MAX:
        raise SparseInputError(
            f"points span voxel coordinates [{lo:.0f}, {hi:.0f}] at voxel size {voxel_size} m, outside "
            f"[{C.COORD_MIN}, {C.COORD_MAX}] (about +-{C.COORD_MAX * voxel_size:.0f} m from the origin)",
            hint="crop or re-centre the scene, or use a larger voxel size",
        )
    coords = torch.empty((points.shape[0], 4), dtype=torch.int32, device=points.device)
    coords[:, 0] = batch
    coords[:, 1:] = q.to(torch.int32)
    keys, order = torch.sort(C.pack(coords), stable=True)
    first_of_run = torch.ones_like(keys, dtype=torch.bool)
    first_of_run[1:] = keys[1:] != keys[:-1]
    first = order[first_of_run]
    _check_capacity(first.shape[0], capacity, "voxelize")
    return coords[first], first
