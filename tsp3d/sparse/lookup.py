"""Exact coordinate lookup (MinkowskiEngine ``features_at_coordinates`` on lattice sites)."""
from __future__ import annotations

import torch

from tsp3d.sparse import coords as C
from tsp3d.sparse.table import KeyTable


def lookup(query: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """int32 ``[Q]``: the row of ``table`` equal to each row of ``query``, or -1 when absent.

    ``table`` must not hold duplicate coordinates. Queries outside the coordinate range are simply absent.
    """
    C.check_coords(query, "query", allow_empty=True)
    C.check_coords(table, "table", allow_empty=True)
    return KeyTable(table, "table").find(query)


def gather_rows(feats: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``feats[idx]`` with a zero row where ``idx == -1`` (the value of a missing site). Standard ops only."""
    pad = torch.cat([feats, feats.new_zeros((1, feats.shape[1]))], dim=0)
    safe = torch.where(idx < 0, torch.full_like(idx, feats.shape[0]), idx)
    return pad.index_select(0, safe.long())
