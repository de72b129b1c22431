"""Fold every BatchNorm into the conv before it, for deployment (eval-mode numerics, fewer graph nodes).

For a conv ``y = W x (+ b)`` followed by BatchNorm with running statistics, ``BN(y) = s (W x + b - mean) + beta``
with ``s = gamma / sqrt(var + eps)``: the folded conv has kernel ``W * s`` (per output channel) and bias
``(b - mean) * s + beta``. A ReLU right after the BatchNorm becomes the conv's fused ``activation``. Replaced modules
become ``nn.Identity`` (which passes a SparseTensor through unchanged), so the forward code is untouched.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from tsp3d.sparse import SparseBatchNorm, SparseReLU
from tsp3d.sparse.conv import ACT_RELU
from tsp3d.sparse.nn import _KernelLayer


def _scale_shift(bn: nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return s, bn.bias - bn.running_mean * s


@torch.no_grad()
def _fold_sparse(conv: _KernelLayer, bn: nn.BatchNorm1d, relu: bool) -> None:
    s, shift = _scale_shift(bn)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(shift)
    conv.kernel.mul_(s[None, None, :])
    conv.bias = nn.Parameter(bias * s + shift)
    if relu:
        conv.activation = ACT_RELU


@torch.no_grad()
def _fold_conv1d(conv: nn.Conv1d, bn: nn.BatchNorm1d) -> None:
    s, shift = _scale_shift(bn)
    conv.weight.mul_(s[:, None, None])
    bias = conv.bias if conv.bias is not None else torch.zeros_like(shift)
    conv.bias = nn.Parameter(bias * s + shift)


def _fold_sequential(seq: nn.Sequential) -> None:
    mods = list(seq)
    for i in range(len(mods) - 1):
        conv, bn = mods[i], mods[i + 1]
        if isinstance(conv, _KernelLayer) and isinstance(bn, SparseBatchNorm):
            relu = i + 2 < len(mods) and isinstance(mods[i + 2], SparseReLU)
            _fold_sparse(conv, bn, relu)
            seq[i + 1] = nn.Identity()
            if relu:
                seq[i + 2] = nn.Identity()
        elif isinstance(conv, nn.Conv1d) and isinstance(bn, nn.BatchNorm1d):
            _fold_conv1d(conv, bn)
            seq[i + 1] = nn.Identity()


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """An eval-mode copy of ``model`` with no BatchNorm left; equal to ``model.eval()`` up to float rounding."""
    folded = copy.deepcopy(model).eval()
    for module in list(folded.modules()):
        if isinstance(module, nn.Sequential):
            _fold_sequential(module)
        for conv_name, bn_name, relu_name in getattr(module, "bn_folds", ()):
            _fold_sparse(getattr(module, conv_name), getattr(module, bn_name), relu_name is not None)
            setattr(module, bn_name, nn.Identity())
            if relu_name is not None:
                setattr(module, relu_name, nn.Identity())
    left = [n for n, m in folded.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if left:
        raise RuntimeError(f"fold_batchnorm left BatchNorm layers unfolded: {left}")
    return folded
