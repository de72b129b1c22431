"""MinkowskiEngine 0.5.4 itself as the oracle for every conv/pool/transposed/lookup primitive.

ME is the library the official TSP3D model runs on: if these pass, official weights mean the same thing here.
The mutation tests at the end check that these comparisons would catch a broken offset order or output rule.
"""
from __future__ import annotations

import pytest
import torch

from conftest import random_coords, sort_rows
from tsp3d.sparse import (
    SparseConv3d,
    SparseGenerativeConvTranspose3d,
    SparseMaxPool3d,
    SparseTensor,
)
from tsp3d.sparse import offsets as offsets_mod
from tsp3d.sparse import rulebook as rulebook_mod

pytestmark = pytest.mark.oracle

CASES = [(3, 1), (3, 2), (2, 2), (1, 2)]  # (kernel_size, stride)


def _me_conv(ME, coords, feats, stride, k, s, cout, seed):
    torch.manual_seed(seed)
    x = ME.SparseTensor(feats, coordinates=coords, tensor_stride=stride)
    conv = ME.MinkowskiConvolution(feats.shape[1], cout, kernel_size=k, stride=s, dimension=3)
    y = conv(x)
    return y.C, y.F.detach(), conv.kernel.detach().reshape(-1, feats.shape[1], cout)


def _ours_conv(coords, feats, stride, k, s, kernel):
    layer = SparseConv3d(feats.shape[1], kernel.shape[2], k, s)
    with torch.no_grad():
        layer.kernel.copy_(kernel)
    y = layer(SparseTensor(feats, coords, stride))
    return y.coords, y.feats.detach()


def conv_agrees(ME, k, s, stride, batches, seed=0, n=400, extent=7):
    coords = random_coords(n, extent, stride, batches, seed)
    feats = torch.randn(coords.shape[0], 5, generator=torch.Generator().manual_seed(seed))
    c_me, f_me, kernel = _me_conv(ME, coords, feats, stride, k, s, 6, seed)
    c_us, f_us = _ours_conv(coords, feats, stride, k, s, kernel)
    c_me, f_me = sort_rows(c_me, f_me)
    c_us, f_us = sort_rows(c_us, f_us)
    if c_me.shape != c_us.shape or not torch.equal(c_me, c_us):
        return False, float("inf")
    return True, float((f_me - f_us).abs().max())


@pytest.mark.parametrize("stride", [1, 2, 4])
@pytest.mark.parametrize("k,s", CASES)
@pytest.mark.parametrize("batches", [1, 3])
def test_conv_matches_me(ME, k, s, stride, batches):
    same_coords, err = conv_agrees(ME, k, s, stride, batches, seed=stride * 10 + k)
    assert same_coords, "output coordinate set differs from MinkowskiEngine"
    assert err < 1e-5


@pytest.mark.parametrize("stride", [1, 2, 4])
@pytest.mark.parametrize("batches", [1, 2])
def test_max_pool_matches_me(ME, stride, batches):
    coords = random_coords(500, 6, stride, batches, seed=stride)
    feats = torch.randn(coords.shape[0], 4)
    y_me = ME.MinkowskiMaxPooling(kernel_size=2, stride=2, dimension=3)(
        ME.SparseTensor(feats, coordinates=coords, tensor_stride=stride)
    )
    y = SparseMaxPool3d()(SparseTensor(feats, coords, stride))
    c_me, f_me = sort_rows(y_me.C, y_me.F)
    c_us, f_us = sort_rows(y.coords, y.feats)
    assert torch.equal(c_me, c_us)
    assert torch.equal(f_me, f_us)  # max is exact


def transposed_agrees(ME, stride, batches, seed=0):
    coords = random_coords(150, 5, stride, batches, seed)
    feats = torch.randn(coords.shape[0], 4, generator=torch.Generator().manual_seed(seed))
    torch.manual_seed(seed)
    conv = ME.MinkowskiGenerativeConvolutionTranspose(4, 3, kernel_size=3, stride=2, dimension=3)
    y_me = conv(ME.SparseTensor(feats, coordinates=coords, tensor_stride=stride))
    layer = SparseGenerativeConvTranspose3d(4, 3)
    with torch.no_grad():
        layer.kernel.copy_(conv.kernel.detach())
    y = layer(SparseTensor(feats, coords, stride))
    assert y.stride == y_me.tensor_stride[0]
    c_me, f_me = sort_rows(y_me.C, y_me.F.detach())
    c_us, f_us = sort_rows(y.coords, y.feats.detach())
    if c_me.shape != c_us.shape or not torch.equal(c_me, c_us):
        return False, float("inf")
    return True, float((f_me - f_us).abs().max())


@pytest.mark.parametrize("stride", [2, 4, 8])
@pytest.mark.parametrize("batches", [1, 2])
def test_generative_transposed_matches_me(ME, stride, batches):
    same, err = transposed_agrees(ME, stride, batches, seed=stride)
    assert same and err < 1e-5


@pytest.mark.parametrize("stride", [1, 4])
def test_features_at_coordinates_matches_me(ME, stride):
    coords = random_coords(300, 6, stride, 2, seed=5)
    feats = torch.randn(coords.shape[0], 3)
    x_me = ME.SparseTensor(feats, coordinates=coords, tensor_stride=stride)
    present = coords[::3]
    absent = random_coords(200, 6, stride, 2, seed=99)
    query = torch.cat([present, absent])
    f_me = x_me.features_at_coordinates(query.float())
    f_us = SparseTensor(feats, coords, stride).features_at(query)
    assert torch.allclose(f_me, f_us, atol=1e-7)
    assert (f_us[: len(present)] != 0).any(dim=1).all()


def test_residual_block_shares_output_set(ME):
    """k3 s2 conv and k1 s2 downsample of one input land on one coordinate set (ME's residual block rule)."""
    coords = random_coords(300, 6, 2, 1, seed=3)
    x = SparseTensor(torch.randn(coords.shape[0], 4), coords, 2)
    a = SparseConv3d(4, 4, 3, 2)(x)
    b = SparseConv3d(4, 4, 1, 2)(x)
    assert a.cset is b.cset
    _ = a + b


# ---------------------------------------------------------------- the oracle catches broken semantics


def _y_fastest(kernel_size):
    r = range(-1, 2) if kernel_size == 3 else range(kernel_size)
    return tuple((dx, dy, dz) for dz in r for dx in r for dy in r)


def _centred_even(kernel_size):
    if kernel_size == 2:
        return tuple((dx, dy, dz) for dz in (-1, 0) for dy in (-1, 0) for dx in (-1, 0))
    return _ORIGINAL_OFFSETS(kernel_size)


_ORIGINAL_OFFSETS = offsets_mod._offsets_list.__wrapped__


def _trunc_down(coords, stride, capacity=0):
    out = coords.clone()
    out[:, 1:] = torch.div(coords[:, 1:], 2 * stride, rounding_mode="trunc") * 2 * stride
    return rulebook_mod._unique_sorted(out)


@pytest.mark.parametrize(
    "mutation",
    ["offset order y-fastest", "even kernel centred", "floor replaced by truncation", "transposed sign flipped"],
)
def test_oracle_detects_mutations(ME, monkeypatch, mutation):
    if mutation == "offset order y-fastest":
        monkeypatch.setattr(offsets_mod, "_offsets_list", _y_fastest)
        same, err = conv_agrees(ME, 3, 1, 1, 1)
    elif mutation == "even kernel centred":
        monkeypatch.setattr(offsets_mod, "_offsets_list", _centred_even)
        same, err = conv_agrees(ME, 2, 2, 1, 1)
    elif mutation == "floor replaced by truncation":
        monkeypatch.setattr(rulebook_mod, "coords_down", _trunc_down)
        same, err = conv_agrees(ME, 3, 2, 1, 1)
    else:
        original = rulebook_mod.kernel_map
        monkeypatch.setattr(
            rulebook_mod, "kernel_map", lambda i, o, k, s, t=False: original(i, o, k, s, not t)
        )
        same, err = transposed_agrees(ME, 2, 1)
    assert not (same and err < 1e-5), f"the ME comparison did not notice: {mutation}"
