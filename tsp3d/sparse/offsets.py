"""Kernel offsets in MinkowskiEngine's order, so ME kernels ``(K, Cin, Cout)`` load without re-layout.

Odd kernel (k=3): offsets ``d in {-1, 0, 1}^3``, index ``(dx+1) + 3(dy+1) + 9(dz+1)`` (x fastest).
Even kernel (k=2): offsets ``d in {0, 1}^3``, index ``dx + 2 dy + 4 dz`` (the region starts at the output site).
k=1: the single offset ``(0, 0, 0)``.
The same table is in plugins/kernels/include/tsp3d/kernel_offsets.h.
"""
from __future__ import annotations

import functools

import torch

from tsp3d.errors import SparseInputError

SUPPORTED_KERNEL_SIZES = (1, 2, 3)


@functools.lru_cache(maxsize=None)
def _offsets_list(kernel_size: int) -> tuple[tuple[int, int, int], ...]:
    if kernel_size not in SUPPORTED_KERNEL_SIZES:
        raise SparseInputError(f"kernel_size must be one of {SUPPORTED_KERNEL_SIZES}, got {kernel_size}")
    if kernel_size % 2:
        r = range(-(kernel_size // 2), kernel_size // 2 + 1)
    else:
        r = range(kernel_size)
    return tuple((dx, dy, dz) for dz in r for dy in r for dx in r)


def kernel_offsets(kernel_size: int, device=None) -> torch.Tensor:
    """int32 ``[K, 3]`` offsets (dx, dy, dz) in kernel-index order, in units of the offset stride."""
    return torch.tensor(_offsets_list(kernel_size), dtype=torch.int32, device=device)


def kernel_volume(kernel_size: int) -> int:
    return len(_offsets_list(kernel_size))
