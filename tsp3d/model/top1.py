"""The top-1 rule, written so that every runtime picks the same voxel, ties included.

``ArgMax`` does not say which index wins a tie on every backend (TensorRT does not promise the first), so the rule
is spelled out with ops whose results are exact: the maximum, equality with it, and the smallest index among the
hits. NaN ranks above every number (as in ``torch.argmax``); among several NaN and +inf entries the lowest index
wins. The exported graph holds ReduceMax, IsNaN, Where, Equal, Range and ReduceMin instead of ArgMax.
"""
from __future__ import annotations

import torch


def first_argmax(scores: torch.Tensor) -> torch.Tensor:
    """int64 ``[1]``: the lowest index among the maxima of the 1-D ``scores`` (non-empty)."""
    key = torch.where(torch.isnan(scores), torch.full_like(scores, float("inf")), scores)
    hit = key == key.max()
    rows = torch.arange(scores.shape[0], device=scores.device, dtype=torch.int64)
    return torch.where(hit, rows, scores.shape[0]).min().reshape(1)
