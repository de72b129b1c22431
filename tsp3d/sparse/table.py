"""Exact coordinate → row lookup, the reference for every hash table in the C++/CUDA kernels.

The reference keeps the table's keys sorted and answers queries with a binary search; the kernels use open
addressing. Both answer the same question: the row whose coordinate equals the query exactly, or -1.
"""
from __future__ import annotations

import torch

from tsp3d.sparse import coords as C


class KeyTable:
    """Rows of a coordinate set indexed by their packed key. Duplicate coordinates are refused."""

    def __init__(self, coords: torch.Tensor, name: str = "table"):
        self.n = coords.shape[0]
        keys = C.pack(coords)
        self.sorted_keys, perm = torch.sort(keys, stable=True)
        self.perm = perm.to(torch.int32)
        C.check_unique_sorted_keys(self.sorted_keys, perm, coords, name)

    def find(self, query: torch.Tensor) -> torch.Tensor:
        """int32 ``[Q]``: row of each query coordinate row (int32 ``[Q, 4]``), -1 when absent."""
        out = torch.full((query.shape[0],), -1, dtype=torch.int32, device=query.device)
        if self.n == 0 or query.shape[0] == 0:
            return out
        valid = C.in_range(query) & (query[:, 0] >= 0) & (query[:, 0] <= C.BATCH_MAX)
        q = C.pack(torch.where(valid[:, None], query, torch.zeros_like(query)))
        pos = torch.searchsorted(self.sorted_keys, q).clamp_(max=self.n - 1)
        hit = valid & (self.sorted_keys[pos] == q)
        out[hit] = self.perm[pos[hit]]
        return out
