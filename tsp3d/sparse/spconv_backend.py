"""``sparse_conv`` through spconv's native gather-GEMM-scatter (``ConvAlgo.Native``; the only algo on CPU).

Our kernel map becomes spconv's pair list ``[2, K, P]`` (input rows, output rows per offset) and our ME-layout
weight ``(K, Cin, Cout)`` becomes spconv's KRSC ``(Cout, K, Cin)``: the offset order is ours, spconv just runs it.
"""
from __future__ import annotations

import torch


def _spconv_pairs(nbr: torch.Tensor):
    m, k = nbr.shape
    counts = (nbr >= 0).sum(dim=0).to(torch.int32)
    p = max(int(counts.max()) if k else 0, 1)
    pairs = torch.full((2, k, p), -1, dtype=torch.int32, device=nbr.device)
    for j in range(k):
        rows = (nbr[:, j] >= 0).nonzero().squeeze(1)
        pairs[0, j, : rows.numel()] = nbr[rows, j]
        pairs[1, j, : rows.numel()] = rows.to(torch.int32)
    return pairs, counts


def conv_forward(feats, nbr, weight, bias, activation: int) -> torch.Tensor:
    from spconv.core import ConvAlgo
    from spconv.pytorch import ops

    pairs, counts = _spconv_pairs(nbr)
    filters = weight.permute(2, 0, 1).contiguous()
    out = ops.indice_conv(feats.contiguous(), filters, pairs, counts, nbr.shape[0], False, False, ConvAlgo.Native)
    if bias is not None:
        out = out + bias
    if activation == 1:
        out = out.clamp(min=0)
    return out


def conv_backward(grad_out, feats, nbr, weight, need_feats: bool, need_weight: bool):
    from spconv.core import ConvAlgo
    from spconv.pytorch import ops

    pairs, counts = _spconv_pairs(nbr)
    filters = weight.permute(2, 0, 1).contiguous()
    gf, gw = ops.indice_conv_backward(
        feats.contiguous(), filters, grad_out.contiguous(), pairs, counts, False, False, ConvAlgo.Native
    )
    return (gf if need_feats else None), (gw.reshape(filters.shape).permute(1, 2, 0) if need_weight else None)
