"""Rulebooks: output coordinates and kernel maps, with MinkowskiEngine's rules (reference implementation).

A rulebook is two explicit tensors: the output coordinates ``[M, 4]`` and the kernel map ``nbr`` (int32
``[M, K]``): ``nbr[o, k]`` is the input row that kernel offset ``k`` of output ``o`` reads, or -1. Every (input,
output) pair of offset ``k`` is ``(nbr[o, k], o)`` for the rows where it is not -1. Each conv on the same pair of
coordinate sets reuses one kernel map (see ``CoordinateSet``).

Rules (checked against MinkowskiEngine 0.5.4 in tests/test_sparse_oracle_me.py):
  * down (strided conv, k3/k2/k1 at stride 2, max-pool k2 s2): input stride ``s`` → output stride ``2s``; output
    sites are ``{floor(c / 2s) * 2s}`` over occupied inputs; output ``o`` reads input ``o + d * s``.
  * same (k3 stride 1): output sites = input sites; output ``o`` reads input ``o + d * s``.
  * up (generative transposed conv k3 s2): input stride ``s`` → output stride ``s/2``; every input ``c`` emits the
    27 sites ``c + d * s/2``; output ``o`` reads input ``o - d * s/2`` (``transposed=True``).
New coordinate sets are sorted by (batch, x, y, z).
"""
from __future__ import annotations

import torch

from tsp3d.errors import CapacityError, SparseInputError
from tsp3d.sparse import coords as C
from tsp3d.sparse.offsets import kernel_offsets
from tsp3d.sparse.table import KeyTable


def _check_capacity(count: int, capacity: int, what: str) -> None:
    if capacity > 0 and count > capacity:
        raise CapacityError(
            f"{what} produced {count} rows, over its capacity of {capacity}",
            hint="raise the capacity (model config 'capacities' / export --capacity) or use fewer points",
        )


def _unique_sorted(coords: torch.Tensor) -> torch.Tensor:
    return C.unpack(torch.unique(C.pack(coords), sorted=True))


def coords_down(coords: torch.Tensor, stride: int, capacity: int = 0) -> torch.Tensor:
    """Output sites of a stride-2 conv/pool on a set at tensor stride ``stride``: ``{floor(c / 2s) * 2s}``."""
    C.check_stride(stride)
    C.check_coords(coords, "coords", stride=stride, allow_empty=True)
    s2 = 2 * stride
    out = coords.clone()
    out[:, 1:] = torch.div(coords[:, 1:], s2, rounding_mode="floor") * s2
    if out.shape[0] and not bool(C.in_range(out).all()):  # only possible for strides that are not powers of two
        raise SparseInputError(f"coords_down(stride={stride}) would leave the coordinate range "
                               f"[{C.COORD_MIN}, {C.COORD_MAX}]")
    out = _unique_sorted(out)
    _check_capacity(out.shape[0], capacity, f"coords_down(stride={stride})")
    return out


def coords_up(coords: torch.Tensor, stride: int, capacity: int = 0) -> torch.Tensor:
    """Output sites of a generative transposed k3 s2 conv on a set at ``stride``: ``{c + d * stride/2}``."""
    C.check_stride(stride)
    if stride < 2 or stride % 2:
        raise SparseInputError(f"coords_up needs an even input stride >= 2, got {stride}")
    C.check_coords(coords, "coords", stride=stride, allow_empty=True)
    half = stride // 2
    offs = kernel_offsets(3, coords.device) * half
    out = coords[:, None, :].repeat(1, offs.shape[0], 1)
    out[:, :, 1:] += offs[None]
    out = out.reshape(-1, 4)
    if out.shape[0] and not bool(C.in_range(out).all()):
        raise SparseInputError(
            f"coords_up(stride={stride}) would leave the coordinate range [{C.COORD_MIN}, {C.COORD_MAX}]",
            hint="the scene is too large for the voxel size",
        )
    out = _unique_sorted(out)
    _check_capacity(out.shape[0], capacity, f"coords_up(stride={stride})")
    return out


def kernel_map(
    in_coords: torch.Tensor,
    out_coords: torch.Tensor,
    kernel_size: int,
    offset_stride: int,
    transposed: bool = False,
) -> torch.Tensor:
    """int32 ``[M, K]``: input row read by offset ``k`` of output ``o``, or -1.

    Non-transposed: input ``o + d_k * offset_stride``; transposed: input ``o - d_k * offset_stride``.
    """
    C.check_stride(offset_stride, "offset_stride")
    C.check_coords(in_coords, "in_coords", allow_empty=True)
    C.check_coords(out_coords, "out_coords", allow_empty=True)
    offs = kernel_offsets(kernel_size, out_coords.device) * offset_stride
    if transposed:
        offs = -offs
    m, k = out_coords.shape[0], offs.shape[0]
    query = out_coords[:, None, :].repeat(1, k, 1)
    query[:, :, 1:] += offs[None]
    return KeyTable(in_coords, "in_coords").find(query.reshape(-1, 4)).reshape(m, k)
