"""Rulebook application (gather-GEMM-scatter), max-pooling, and their gradients: the reference math.

``out[o] = bias + sum_k W[k]^T feats[nbr[o, k]]`` over the offsets where ``nbr[o, k] >= 0``, with ``W`` in
MinkowskiEngine layout ``(K, Cin, Cout)``. Offsets are accumulated in index order ``k = 0..K-1``; for a fixed
``k`` every output (and every input) appears at most once, so the scatter needs no atomics and the result is
deterministic on CPU and CUDA alike. (The scatter uses ``index_put_(accumulate=True)``: on the CPU it is several
times faster than ``index_add_`` for these shapes; with unique indices both are exact.)
"""
from __future__ import annotations

import torch

from tsp3d.errors import SparseInputError

ACT_NONE = 0
ACT_RELU = 1


def _pairs(nbr_col: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    out_rows = (nbr_col >= 0).nonzero().squeeze(1)
    return nbr_col[out_rows].long(), out_rows


def check_conv_args(feats, nbr, weight, bias) -> None:
    if nbr.dtype != torch.int32 or nbr.dim() != 2:
        raise SparseInputError(f"nbr must be an int32 [M, K] kernel map, got {nbr.dtype} {list(nbr.shape)}")
    if weight.dim() != 3:
        raise SparseInputError(f"weight must have shape [K, Cin, Cout], got {list(weight.shape)}")
    if feats.dim() != 2 or not feats.is_floating_point():
        raise SparseInputError(f"feats must be a float [N, Cin] tensor, got {feats.dtype} {list(feats.shape)}")
    if weight.shape[0] != nbr.shape[1]:
        raise SparseInputError(f"weight has {weight.shape[0]} kernel offsets but the kernel map has {nbr.shape[1]}")
    if weight.shape[1] != feats.shape[1]:
        raise SparseInputError(f"weight expects {weight.shape[1]} input channels, feats have {feats.shape[1]}")
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != weight.shape[2]):
        raise SparseInputError(f"bias must have shape [{weight.shape[2]}], got {list(bias.shape)}")
    if nbr.numel() and int(nbr.max()) >= feats.shape[0]:
        raise SparseInputError(f"kernel map points at row {int(nbr.max())} but feats have {feats.shape[0]} rows")


def conv_forward(feats, nbr, weight, bias, activation: int) -> torch.Tensor:
    m, cout = nbr.shape[0], weight.shape[2]
    # Accumulate in at least fp32 whatever the I/O dtype (the FP16 kernels do the same).
    acc_dtype = torch.promote_types(feats.dtype, torch.float32)
    out = torch.zeros((m, cout), dtype=acc_dtype, device=feats.device)
    f, w = feats.to(acc_dtype), weight.to(acc_dtype)
    for k in range(nbr.shape[1]):
        in_rows, out_rows = _pairs(nbr[:, k])
        if in_rows.numel():
            out.index_put_((out_rows,), f.index_select(0, in_rows) @ w[k], accumulate=True)
    if bias is not None:
        out += bias.to(acc_dtype)
    if activation == ACT_RELU:
        out.clamp_(min=0)
    return out.to(feats.dtype)


def conv_backward(grad_out, feats, nbr, weight, need_feats: bool, need_weight: bool):
    grad_feats = torch.zeros_like(feats) if need_feats else None
    grad_weight = torch.zeros_like(weight) if need_weight else None
    for k in range(nbr.shape[1]):
        in_rows, out_rows = _pairs(nbr[:, k])
        if not in_rows.numel():
            continue
        g = grad_out.index_select(0, out_rows)
        if need_feats:
            grad_feats.index_put_((in_rows,), g @ weight[k].T, accumulate=True)
        if need_weight:
            grad_weight[k] = feats.index_select(0, in_rows).T @ g
    return grad_feats, grad_weight


def max_pool_forward(feats: torch.Tensor, nbr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Max over the present neighbours; also returns the winning input row per (output, channel).

    Ties go to the lowest kernel index. An output with no neighbour (cannot happen for ``coords_down`` outputs)
    gets 0 and winner -1.
    """
    m, c = nbr.shape[0], feats.shape[1]
    best = torch.full((m, c), float("-inf"), dtype=feats.dtype, device=feats.device)
    arg = torch.full((m, c), -1, dtype=torch.int64, device=feats.device)
    for k in range(nbr.shape[1]):
        in_rows, out_rows = _pairs(nbr[:, k])
        if not in_rows.numel():
            continue
        cand = feats.index_select(0, in_rows)
        cur = best.index_select(0, out_rows)
        better = cand > cur
        best[out_rows] = torch.where(better, cand, cur)
        arg[out_rows] = torch.where(better, in_rows[:, None].expand_as(cand), arg.index_select(0, out_rows))
    empty = arg < 0
    best = best.masked_fill(empty, 0)
    return best, arg


def max_pool_backward(grad_out: torch.Tensor, arg: torch.Tensor, n_in: int) -> torch.Tensor:
    grad = torch.zeros((n_in, grad_out.shape[1]), dtype=grad_out.dtype, device=grad_out.device)
    valid = arg >= 0
    cols = torch.arange(grad_out.shape[1], device=grad_out.device).expand_as(arg)
    flat = grad.view(-1)
    flat.index_put_((arg[valid] * grad_out.shape[1] + cols[valid],), grad_out[valid], accumulate=True)
    return grad
