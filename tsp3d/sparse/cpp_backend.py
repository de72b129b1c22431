"""The ``cpp`` backend: the primitives run by our C++ CPU kernels (``libtsp3d_cpu.so``, the same code as the ONNX
Runtime library) instead of the PyTorch reference. Same semantics (the kernels are parity-tested against the
reference in tests/test_cpu_kernels.py); used to make CPU training and evaluation fast.

``sparse_conv``'s backward: the input gradient is itself a sparse conv, over the inverted kernel map with the
transposed weights (for a fixed offset every input has at most one output, so the inversion is exact); the weight
gradient is one gathered GEMM per offset in PyTorch.
"""
from __future__ import annotations

import torch


def kernels():
    from tsp3d.kernels import cpu as cpu_kernels

    return cpu_kernels.load()


def invert_kernel_map(nbr: torch.Tensor, n_in: int) -> torch.Tensor:
    """``inv[i, k] = o`` where ``nbr[o, k] = i`` (-1 elsewhere)."""
    m, k = nbr.shape
    inv = torch.full((n_in, k), -1, dtype=torch.int32)
    present = nbr >= 0
    o = torch.arange(m, dtype=torch.int32)[:, None].expand(m, k)[present]
    kk = torch.arange(k, dtype=torch.int64)[None, :].expand(m, k)[present]
    inv[nbr[present].long(), kk] = o
    return inv


def conv_forward(feats, nbr, weight, bias, activation: int) -> torch.Tensor:
    return kernels().sparse_conv(feats, nbr, weight, bias, activation)


def conv_backward(grad_out, feats, nbr, weight, need_feats: bool, need_weight: bool):
    grad_feats = grad_weight = None
    if need_feats:
        inv = invert_kernel_map(nbr, feats.shape[0])
        grad_feats = kernels().sparse_conv(grad_out.contiguous(), inv, weight.transpose(1, 2).contiguous(), None, 0)
    if need_weight:
        grad_weight = torch.zeros_like(weight)
        for k in range(nbr.shape[1]):
            out_rows = (nbr[:, k] >= 0).nonzero().squeeze(1)
            if out_rows.numel():
                in_rows = nbr[out_rows, k].long()
                grad_weight[k] = feats.index_select(0, in_rows).T @ grad_out.index_select(0, out_rows)
    return grad_feats, grad_weight
