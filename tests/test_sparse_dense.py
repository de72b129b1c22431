"""Dense oracles: on a fully occupied grid, sparse convs equal F.conv3d / F.conv_transpose3d; spconv's SubMConv3d
equals our k3 stride-1 conv on random sparse sets."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from conftest import random_coords, sort_rows
from tsp3d.sparse import SparseConv3d, SparseGenerativeConvTranspose3d, SparseTensor, spconv_available


def full_grid(g: int, stride: int = 1) -> torch.Tensor:
    r = torch.arange(g) * stride
    x, y, z = torch.meshgrid(r, r, r, indexing="ij")
    return torch.stack([torch.zeros_like(x), x, y, z], dim=-1).reshape(-1, 4).to(torch.int32)


def to_dense(coords: torch.Tensor, feats: torch.Tensor, g: int, stride: int, shift: int = 0) -> torch.Tensor:
    """[1, C, g, g, g] volume with voxel (x, y, z) at index (x / stride + shift, ...)."""
    dense = torch.zeros(1, feats.shape[1], g, g, g, dtype=feats.dtype)
    idx = coords[:, 1:].long() // stride + shift
    dense[0, :, idx[:, 0], idx[:, 1], idx[:, 2]] = feats.T
    return dense


def me_kernel_to_dense(kernel: torch.Tensor, ksize: int) -> torch.Tensor:
    """ME (K, Cin, Cout), x fastest -> torch conv weight (Cout, Cin, kx, ky, kz)."""
    cin, cout = kernel.shape[1], kernel.shape[2]
    return kernel.reshape(ksize, ksize, ksize, cin, cout).permute(4, 3, 2, 1, 0).contiguous()


@pytest.mark.parametrize("k,s,g", [(3, 1, 6), (3, 2, 6), (3, 2, 7), (2, 2, 6), (1, 2, 6)])
def test_conv_equals_dense_on_full_grid(k, s, g):
    torch.manual_seed(k * 10 + g)
    coords = full_grid(g)
    feats = torch.randn(coords.shape[0], 3, dtype=torch.float64)
    layer = SparseConv3d(3, 4, k, s).double()
    y = layer(SparseTensor(feats, coords, 1))
    w = me_kernel_to_dense(layer.kernel.detach(), k)
    pad = 1 if k == 3 else 0
    dense = F.conv3d(to_dense(coords, feats, g, 1), w, stride=s, padding=pad)
    expect = dense[0].permute(1, 2, 3, 0)
    idx = y.coords[:, 1:].long() // s
    assert y.coords.shape[0] == expect.shape[0] * expect.shape[1] * expect.shape[2]
    assert torch.allclose(y.feats, expect[idx[:, 0], idx[:, 1], idx[:, 2]], atol=1e-12)


@pytest.mark.parametrize("g", [3, 4])
def test_generative_transposed_equals_conv_transpose3d(g):
    torch.manual_seed(g)
    coords = full_grid(g, stride=2)
    feats = torch.randn(coords.shape[0], 3, dtype=torch.float64)
    layer = SparseGenerativeConvTranspose3d(3, 2).double()
    y = layer(SparseTensor(feats, coords, 2))
    # conv_transpose3d weight is (Cin, Cout, kx, ky, kz) and out index 2j + i reads in j with W'[i]; padding 0 puts
    # coordinate o at index o + 1.
    kern = layer.kernel.detach().reshape(3, 3, 3, 3, 2).permute(3, 4, 2, 1, 0)
    dense = F.conv_transpose3d(to_dense(coords, feats, g, 2), kern, stride=2)[0].permute(1, 2, 3, 0)
    assert y.coords.shape[0] == dense.shape[0] ** 3  # every site of [-1, 2g-1]^3 is emitted
    idx = y.coords[:, 1:].long() + 1
    assert torch.allclose(y.feats, dense[idx[:, 0], idx[:, 1], idx[:, 2]], atol=1e-12)


@pytest.mark.skipif(not spconv_available(), reason="spconv not installed (pip install spconv-cu126)")
@pytest.mark.parametrize("seed", [0, 1])
def test_k3_stride1_equals_spconv_submconv(seed):
    import spconv.pytorch as spconv
    from spconv.core import ConvAlgo

    coords = random_coords(600, 8, 1, 2, seed)
    feats = torch.randn(coords.shape[0], 5)
    layer = SparseConv3d(5, 7, 3, 1)
    y = layer(SparseTensor(feats, coords, 1))
    sub = spconv.SubMConv3d(5, 7, 3, bias=False, algo=ConvAlgo.Native)
    with torch.no_grad():  # spconv weight (Cout, d0, d1, d2, Cin) with d = input - output along dims (x, y, z)
        sub.weight.copy_(layer.kernel.detach().reshape(3, 3, 3, 5, 7).permute(4, 2, 1, 0, 3))
    shifted = coords.clone()
    shifted[:, 1:] += 8
    out = sub(spconv.SparseConvTensor(feats, shifted, [16, 16, 16], 2))
    c_sp = out.indices.clone()
    c_sp[:, 1:] -= 8
    c_sp, f_sp = sort_rows(c_sp, out.features)
    c_us, f_us = sort_rows(y.coords, y.feats.detach())
    assert torch.equal(c_sp, c_us)
    assert torch.allclose(f_sp, f_us, atol=1e-5)
