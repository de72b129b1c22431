"""SparseTensor/CoordinateSet behaviour: rulebook caching, pruning and appending, determinism."""
from __future__ import annotations

import torch

from conftest import random_coords
from tsp3d.sparse import SparseConv3d, SparseMaxPool3d, SparseTensor, ops
from tsp3d.sparse import tensor as tensor_mod


def test_convs_on_one_set_share_one_rulebook(monkeypatch):
    calls = []
    real = tensor_mod.ops.kernel_map

    def counting(*args):
        calls.append(args[2:])
        return real(*args)

    monkeypatch.setattr(tensor_mod.ops, "kernel_map", counting)
    coords = random_coords(300, 6, 1, 2, seed=0)
    x = SparseTensor(torch.randn(coords.shape[0], 4), coords, 1)
    a, b = SparseConv3d(4, 4, 3, 1), SparseConv3d(4, 4, 3, 1)
    y = b(a(x))  # same set: one k3 map
    assert y.cset is x.cset
    s2a, s2b = SparseConv3d(4, 4, 3, 2), SparseConv3d(4, 4, 1, 2)
    z = s2a(y) + s2b(y)  # strided k3 and k1: two maps onto one shared output set
    SparseMaxPool3d()(y)  # k2 map onto the same output set
    SparseConv3d(4, 4, 3, 1)(z)
    assert calls == [(3, 1, False), (3, 1, False), (1, 1, False), (2, 1, False), (3, 2, False)]


def test_prune_select_append_roundtrip():
    coords = random_coords(200, 5, 2, 1, seed=1)
    feats = torch.randn(coords.shape[0], 3)
    x = SparseTensor(feats, coords, 2)
    scores = torch.rand(len(x))
    kept = x.prune(scores, 0.5)
    assert torch.equal(kept.coords, coords[scores < 0.5])
    assert torch.equal(kept.feats, feats[scores < 0.5])
    back = kept.append_missing(x)  # appending the full set restores every site exactly once
    assert len(back) == len(x)
    assert torch.equal(back.features_at(coords), feats)
    assert torch.equal(x.select_mask(scores < 0.5).coords, kept.coords)


def test_features_at_missing_sites_is_zero():
    coords = random_coords(50, 4, 1, 1, seed=2)
    x = SparseTensor(torch.ones(coords.shape[0], 2), coords, 1)
    far = torch.tensor([[0, 100, 100, 100], [1, 0, 0, 0]], dtype=torch.int32)
    assert torch.equal(x.features_at(far), torch.zeros(2, 2))


def test_inference_is_bit_identical_across_runs():
    torch.manual_seed(0)
    layers = [SparseConv3d(3, 8, 3, 2), SparseConv3d(8, 8, 3, 1)]
    pts = torch.rand(5000, 6) * 3
    outs = []
    for _ in range(2):
        coords, first = ops.voxelize(pts, 0.02, 0, 0)
        y = SparseTensor(pts[first.long(), 3:], coords, 1)
        for layer in layers:
            y = layer(y)
        outs.append((y.coords.clone(), y.feats.detach().clone()))
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])
