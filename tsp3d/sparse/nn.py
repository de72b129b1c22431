"""Sparse layers with MinkowskiEngine parameter layouts (kernel ``(K, Cin, Cout)``, offset order of offsets.py)."""
from __future__ import annotations

import math

import torch
from torch import nn

from tsp3d.errors import SparseInputError
from tsp3d.sparse import ops
from tsp3d.sparse.conv import ACT_NONE, ACT_RELU
from tsp3d.sparse.offsets import kernel_volume
from tsp3d.sparse.tensor import SparseTensor


class _KernelLayer(nn.Module):
    """Parameters shared by the conv layers: ``kernel (K, Cin, Cout)``, optional ``bias``, fused activation."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, bias: bool,
                 activation: int):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.activation = kernel_size, stride, activation
        self.kernel = nn.Parameter(torch.empty(kernel_volume(kernel_size), in_channels, out_channels))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # ME's default: uniform(+-1/sqrt(Cin * K)).
        bound = 1.0 / math.sqrt(self.in_channels * self.kernel.shape[0])
        nn.init.uniform_(self.kernel, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"bias={self.bias is not None}")


class SparseConv3d(_KernelLayer):
    """ME ``MinkowskiConvolution`` (no dilation). ``stride`` 1 keeps the set, 2 goes to its ``down()`` set.

    ``activation`` fuses a ReLU (used once BatchNorm is folded for deployment).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 bias: bool = False, activation: int = ACT_NONE):
        if stride not in (1, 2):
            raise SparseInputError(f"stride must be 1 or 2, got {stride}")
        if stride == 1 and kernel_size == 2:
            raise SparseInputError("an even kernel needs stride 2 (its region starts at the output site)")
        super().__init__(in_channels, out_channels, kernel_size, stride, bias, activation)

    def forward(self, x: SparseTensor) -> SparseTensor:
        if x.feats.shape[1] != self.in_channels:
            raise SparseInputError(f"{self.in_channels} input channels expected, got {x.feats.shape[1]}")
        if self.stride == 1 and self.kernel_size == 1:
            out = x.feats @ self.kernel[0]  # a pointwise conv is a matmul: no kernel map
            if self.bias is not None:
                out = out + self.bias
            return x.replace(out.clamp(min=0) if self.activation == ACT_RELU else out)
        out_set = x.cset if self.stride == 1 else x.cset.down()
        nbr = out_set.kernel_map_from(x.cset, self.kernel_size)
        return SparseTensor(ops.sparse_conv(x.feats, nbr, self.kernel, self.bias, self.activation), cset=out_set)


class SparseGenerativeConvTranspose3d(_KernelLayer):
    """ME ``MinkowskiGenerativeConvolutionTranspose`` k3 s2: every input site emits its 27 children."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool = False, activation: int = ACT_NONE):
        super().__init__(in_channels, out_channels, 3, 2, bias, activation)

    def forward(self, x: SparseTensor) -> SparseTensor:
        out_set = x.cset.up()
        nbr = out_set.kernel_map_from(x.cset, 3, transposed=True)
        return SparseTensor(ops.sparse_conv(x.feats, nbr, self.kernel, self.bias, self.activation), cset=out_set)


class SparseMaxPool3d(nn.Module):
    """ME ``MinkowskiMaxPooling(kernel_size=2, stride=2)``."""

    def forward(self, x: SparseTensor) -> SparseTensor:
        out_set = x.cset.down()
        return SparseTensor(ops.sparse_max_pool(x.feats, out_set.kernel_map_from(x.cset, 2)), cset=out_set)


class SparseBatchNorm(nn.BatchNorm1d):
    """BatchNorm over all voxels of the batch (ME ``MinkowskiBatchNorm``); folded into the conv at export."""

    def forward(self, x: SparseTensor) -> SparseTensor:  # type: ignore[override]
        return x.replace(super().forward(x.feats))


class SparseReLU(nn.Module):
    def forward(self, x: SparseTensor) -> SparseTensor:
        return x.replace(torch.relu(x.feats))
