"""Pruning by score threshold, and appending the sites of one set that another lacks (reference)."""
from __future__ import annotations

import torch

from tsp3d.errors import SparseInputError
from tsp3d.sparse import coords as C
from tsp3d.sparse.rulebook import _check_capacity
from tsp3d.sparse.table import KeyTable

KEEP_BELOW = 0  # keep rows with score <  threshold
KEEP_ABOVE = 1  # keep rows with score >  threshold


def prune(scores: torch.Tensor, threshold: float, mode: int = KEEP_BELOW, min_keep: int = 1,
          capacity: int = 0) -> torch.Tensor:
    """int32 ascending row indices of the kept rows.

    If fewer than ``min_keep`` rows pass, the ``min_keep`` best rows are kept instead (lowest score for
    ``KEEP_BELOW``, highest for ``KEEP_ABOVE``; ties go to the lower row), so a scene never loses every voxel.
    NaN scores never pass and rank last (after +-inf). More kept rows than a positive ``capacity`` is an error.
    """
    if not isinstance(scores, torch.Tensor) or scores.dim() != 1 or not scores.is_floating_point():
        raise SparseInputError(f"scores must be a float [N] tensor, got {getattr(scores, 'shape', scores)}")
    if mode not in (KEEP_BELOW, KEEP_ABOVE):
        raise SparseInputError(f"prune mode must be {KEEP_BELOW} (below) or {KEEP_ABOVE} (above), got {mode}")
    if min_keep < 0:
        raise SparseInputError(f"min_keep must be >= 0, got {min_keep}")
    s = scores.float()
    keep = s < threshold if mode == KEEP_BELOW else s > threshold
    idx = keep.nonzero().squeeze(1)
    want = min(min_keep, s.shape[0])
    if idx.shape[0] < want:
        key = s if mode == KEEP_BELOW else -s
        nan = torch.isnan(key)
        order = torch.sort(key.masked_fill(nan, float("inf")), stable=True).indices
        order = order[torch.sort(nan[order].to(torch.int8), stable=True).indices]  # NaN after +inf
        idx = torch.sort(order[:want]).values
    _check_capacity(idx.shape[0], capacity, "prune")
    return idx.to(torch.int32)


def append_missing(coords_a: torch.Tensor, coords_b: torch.Tensor, capacity: int = 0):
    """``(coords, idx_b)``: ``coords = cat(coords_a, coords_b[idx_b])`` where ``idx_b`` (int32, ascending) are
    the rows of ``coords_b`` whose site is not in ``coords_a``. Features are appended the same way by the caller.
    """
    C.check_coords(coords_a, "coords_a", allow_empty=True)
    C.check_coords(coords_b, "coords_b", allow_empty=True)
    KeyTable(coords_b, "coords_b")  # duplicates in b would be appended twice: refuse them
    found = KeyTable(coords_a, "coords_a").find(coords_b)
    idx_b = (found < 0).nonzero().squeeze(1).to(torch.int32)
    out = torch.cat([coords_a, coords_b.index_select(0, idx_b.long())], dim=0)
    _check_capacity(out.shape[0], capacity, "append_missing")
    return out, idx_b
