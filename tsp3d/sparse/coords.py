"""Coordinates, their 64-bit keys, and the checks every primitive applies to its inputs.

Coordinates are int32 ``[N, 4]`` rows ``(batch, x, y, z)`` in 1-voxel units (MinkowskiEngine convention): a
tensor at stride ``s`` has x, y, z that are multiples of ``s``. Each row packs into one int64 key

    key = batch << 48 | (x + 2^15) << 32 | (y + 2^15) << 16 | (z + 2^15)

so sorting keys sorts rows lexicographically by (batch, x, y, z): the canonical row order of every coordinate set a
primitive creates. The same packing is in plugins/kernels/include/tsp3d/coord_key.h (CPU and CUDA).
"""
from __future__ import annotations

import torch

from tsp3d.errors import SparseInputError

COORD_BITS = 16
COORD_BIAS = 1 << (COORD_BITS - 1)
COORD_MIN = -COORD_BIAS  # -32768
COORD_MAX = COORD_BIAS - 1  # 32767
BATCH_MAX = (1 << 15) - 1  # keys stay positive: 15 batch bits + 48 coordinate bits
_MASK = (1 << COORD_BITS) - 1


def pack(coords: torch.Tensor) -> torch.Tensor:
    """int32 ``[N, 4]`` → int64 ``[N]``. Caller guarantees the range (see ``check_coords``)."""
    c = coords.to(torch.int64)
    return (
        (c[:, 0] << 48)
        | ((c[:, 1] + COORD_BIAS) << 32)
        | ((c[:, 2] + COORD_BIAS) << 16)
        | (c[:, 3] + COORD_BIAS)
    )


def unpack(keys: torch.Tensor) -> torch.Tensor:
    """int64 ``[N]`` → int32 ``[N, 4]``."""
    out = torch.empty((keys.shape[0], 4), dtype=torch.int32, device=keys.device)
    out[:, 0] = (keys >> 48).to(torch.int32)
    out[:, 1] = (((keys >> 32) & _MASK) - COORD_BIAS).to(torch.int32)
    out[:, 2] = (((keys >> 16) & _MASK) - COORD_BIAS).to(torch.int32)
    out[:, 3] = ((keys & _MASK) - COORD_BIAS).to(torch.int32)
    return out


def in_range(coords: torch.Tensor) -> torch.Tensor:
    """Bool ``[N]``: the xyz of each row fit the key (queries outside can never be found)."""
    xyz = coords[:, 1:]
    return ((xyz >= COORD_MIN) & (xyz <= COORD_MAX)).all(dim=1)


def check_coords(coords, name: str = "coords", stride: int | None = None, allow_empty: bool = False) -> None:
    """Raise ``SparseInputError`` naming the problem when ``coords`` is not a valid coordinate tensor."""
    if not isinstance(coords, torch.Tensor):
        raise SparseInputError(f"{name} must be a torch.Tensor, got {type(coords).__name__}")
    if coords.dtype != torch.int32:
        raise SparseInputError(f"{name} must be int32, got {coords.dtype}")
    if coords.dim() != 2 or coords.shape[1] != 4:
        raise SparseInputError(f"{name} must have shape [N, 4] (batch, x, y, z), got {list(coords.shape)}")
    if coords.shape[0] == 0:
        if allow_empty:
            return
        raise SparseInputError(f"{name} is empty (0 rows)")
    lo = coords.amin(dim=0).tolist()
    hi = coords.amax(dim=0).tolist()
    if lo[0] < 0 or hi[0] > BATCH_MAX:
        raise SparseInputError(f"{name}: batch index must be in [0, {BATCH_MAX}], got range [{lo[0]}, {hi[0]}]")
    if min(lo[1:]) < COORD_MIN or max(hi[1:]) > COORD_MAX:
        raise SparseInputError(
            f"{name}: x/y/z must be in [{COORD_MIN}, {COORD_MAX}] voxels, got range "
            f"[{min(lo[1:])}, {max(hi[1:])}]",
            hint="the scene is too large for the voxel size: crop it or use a larger voxel size",
        )
    if stride is not None and stride > 1:
        bad = (coords[:, 1:] % stride != 0).any(dim=1)
        if bool(bad.any()):
            row = int(bad.nonzero()[0, 0])
            raise SparseInputError(
                f"{name}: coordinates must be multiples of the tensor stride {stride}; "
                f"row {row} is {coords[row].tolist()}"
            )


def check_stride(stride, name: str = "stride") -> int:
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise SparseInputError(f"{name} must be a positive int, got {stride!r}")
    return stride


def check_unique_sorted_keys(sorted_keys: torch.Tensor, perm: torch.Tensor, coords: torch.Tensor, name: str) -> None:
    """Duplicate rows make a lookup ambiguous: refuse them (``sorted_keys`` is ``pack(coords)`` sorted)."""
    if sorted_keys.numel() > 1:
        dup = sorted_keys[1:] == sorted_keys[:-1]
        if bool(dup.any()):
            i = int(dup.nonzero()[0, 0])
            a, b = int(perm[i]), int(perm[i + 1])
            raise SparseInputError(
                f"{name} has duplicate coordinates: rows {min(a, b)} and {max(a, b)} are both {coords[a].tolist()}"
            )


def check_batch_match(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    """Two coordinate sets combined row-wise must describe the same batch items."""
    if a.shape[0] == 0 or b.shape[0] == 0:
        return
    ba = torch.unique(a[:, 0])
    bb = torch.unique(b[:, 0])
    if not bool(torch.isin(bb, ba).all()):
        extra = bb[~torch.isin(bb, ba)].tolist()
        raise SparseInputError(f"{name_b} has batch indices {extra} that {name_a} does not have")


def check_feats(feats, n_rows: int, name: str = "feats") -> None:
    if not isinstance(feats, torch.Tensor):
        raise SparseInputError(f"{name} must be a torch.Tensor, got {type(feats).__name__}")
    if not feats.is_floating_point():
        raise SparseInputError(f"{name} must be floating point, got {feats.dtype}")
    if feats.dim() != 2:
        raise SparseInputError(f"{name} must have shape [N, C], got {list(feats.shape)}")
    if feats.shape[0] != n_rows:
        raise SparseInputError(f"{name} has {feats.shape[0]} rows but the coordinates have {n_rows}")
