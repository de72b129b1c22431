"""Sparse building blocks: conv+BN+ReLU, generative upsampling, the ResNet BasicBlock, text fusion.

Module names follow the official checkpoint (``lateral_block_0.0.kernel``, ``layer1.0.norm1`` ...; our BatchNorm is
the ``.bn`` of MinkowskiBatchNorm). ``fold.py`` folds every BatchNorm into the conv before it and fuses the ReLU
into the conv's ``activation``; the replaced modules become ``nn.Identity``, which passes a SparseTensor through.
"""
from __future__ import annotations

import torch
from torch import nn

from tsp3d.sparse import (SparseBatchNorm, SparseConv3d, SparseGenerativeConvTranspose3d, SparseReLU,
                          SparseTensor)


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    """Official ``make_block``: stride-1 conv (no bias), BatchNorm, ReLU."""
    return nn.Sequential(SparseConv3d(in_channels, out_channels, kernel_size), SparseBatchNorm(out_channels),
                         SparseReLU())


def up_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """Official ``make_up_block(generative=True)``: generative transposed conv k3 s2, BatchNorm, ReLU."""
    return nn.Sequential(SparseGenerativeConvTranspose3d(in_channels, out_channels), SparseBatchNorm(out_channels),
                         SparseReLU())


class BasicBlock(nn.Module):
    """MinkowskiEngine ResNet BasicBlock: conv k3 (stride) -> BN -> ReLU -> conv k3 -> BN, + shortcut, ReLU.

    The shortcut is ``downsample`` (conv k1 with the same stride + BN) when the stride or width changes.
    """

    def __init__(self, in_channels: int, channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = SparseConv3d(in_channels, channels, 3, stride)
        self.norm1 = SparseBatchNorm(channels)
        self.act1 = SparseReLU()
        self.conv2 = SparseConv3d(channels, channels, 3, 1)
        self.norm2 = SparseBatchNorm(channels)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(SparseConv3d(in_channels, channels, 1, stride),
                                            SparseBatchNorm(channels))
        self.act_out = SparseReLU()

    # (conv, norm, activation fused after folding); read by fold.py
    bn_folds = (("conv1", "norm1", "act1"), ("conv2", "norm2", None))

    def forward(self, x: SparseTensor) -> SparseTensor:
        out = self.norm2(self.conv2(self.act1(self.norm1(self.conv1(x)))))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.act_out(out + shortcut)


class FeatureFusion(nn.Module):
    """Official ``MinkowskiFeatureFusionBlock``: concat each voxel with its sample's text vector, conv k1, BN, ReLU."""

    def __init__(self, voxel_channels: int, text_channels: int, out_channels: int):
        super().__init__()
        self.conv = SparseConv3d(voxel_channels + text_channels, out_channels, 1)
        self.norm = SparseBatchNorm(out_channels)
        self.relu = SparseReLU()

    bn_folds = (("conv", "norm", "relu"),)

    def forward(self, x: SparseTensor, text_vec: torch.Tensor) -> SparseTensor:
        """``text_vec`` [B, C_text]: one vector per batch item (the first token after the BiEncoders)."""
        per_voxel = text_vec.index_select(0, x.coords[:, 0].long())
        return self.relu(self.norm(self.conv(x.replace(torch.cat([x.feats, per_voxel], dim=1)))))
