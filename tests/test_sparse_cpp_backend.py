"""The ``cpp`` backend (C++ kernels behind the same custom ops) gives the reference's results, forward and backward."""
from __future__ import annotations

import pytest
import torch

from conftest import random_coords
from tsp3d.sparse import (
    SparseConv3d,
    SparseGenerativeConvTranspose3d,
    SparseMaxPool3d,
    SparseTensor,
    ops,
    set_backend,
)
from tsp3d.sparse.backend import cpp_available

pytestmark = pytest.mark.skipif(not cpp_available(), reason="libtsp3d_cpu.so not built (scripts/build_plugins.sh)")


def _net_run(backend: str, coords, feats, layers):
    set_backend(backend)
    try:
        f = feats.clone().requires_grad_(True)
        x = SparseTensor(f, coords, 1)
        conv1, pool, conv2, up, conv3 = layers
        z = conv1(x)
        y = conv3(up(conv2(pool(z))))
        y = y.prune(y.feats[:, 0], 0.0, keep_below=True).append_missing(z.select(torch.arange(0, len(z), 7)))
        loss = (y.feats ** 2).sum()
        loss.backward()
        grads = [p.grad.clone() for layer in layers for p in layer.parameters()]
        for layer in layers:
            layer.zero_grad()
        return y.coords, y.feats.detach(), f.grad, grads
    finally:
        set_backend("reference")


def test_cpp_backend_matches_reference():
    torch.manual_seed(0)
    coords = random_coords(3000, 14, 1, 2, seed=3)
    feats = torch.randn(coords.shape[0], 4)
    layers = [SparseConv3d(4, 8, 3, 2, bias=True), SparseMaxPool3d(), SparseConv3d(8, 8, 3, 1),
              SparseGenerativeConvTranspose3d(8, 6), SparseConv3d(6, 8, 3, 1)]
    ref = _net_run("reference", coords, feats, layers)
    cpp = _net_run("cpp", coords, feats, layers)
    assert torch.equal(ref[0], cpp[0])
    assert torch.allclose(ref[1], cpp[1], rtol=1e-4, atol=1e-5)
    assert torch.allclose(ref[2], cpp[2], rtol=1e-4, atol=1e-4)
    for a, b in zip(ref[3], cpp[3]):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-3)


def test_cpp_backend_voxelize_and_errors():
    pts = torch.rand(2000, 6) * 2 - 1
    ref = ops.voxelize(pts, 0.05, 0, 0)
    set_backend("cpp")
    try:
        got = ops.voxelize(pts, 0.05, 0, 0)
        with pytest.raises(ValueError, match="capacity"):
            ops.coords_down(ref[0], 1, 3)
    finally:
        set_backend("reference")
    assert torch.equal(ref[0], got[0]) and torch.equal(ref[1], got[1])
