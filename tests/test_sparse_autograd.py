"""float64 gradcheck of the differentiable primitives, on both GEMM backends, and batch > 1 training behaviour."""
from __future__ import annotations

import pytest
import torch

from conftest import random_coords
from tsp3d.sparse import (
    SparseBatchNorm,
    SparseConv3d,
    SparseGenerativeConvTranspose3d,
    SparseMaxPool3d,
    SparseTensor,
    ops,
    set_backend,
    spconv_available,
)

BACKENDS = ["reference"] + (["spconv"] if spconv_available() else [])


@pytest.fixture(params=BACKENDS)
def backend(request):
    set_backend(request.param)
    yield request.param
    set_backend("reference")


@pytest.mark.parametrize("kind,activation", [("same", 0), ("down", 0), ("up", 0), ("same", 1)])
def test_sparse_conv_gradcheck(backend, kind, activation):
    cin = random_coords(8 if kind == "up" else 25, 3, 2, 2, seed=7)
    if kind == "same":
        cout, k, s, tr = cin, 3, 2, False
    elif kind == "down":
        cout, k, s, tr = ops.coords_down(cin, 2, 0), 3, 2, False
    else:
        cout, k, s, tr = ops.coords_up(cin, 2, 0), 3, 1, True
    nbr = ops.kernel_map(cin, cout, k, s, tr)
    f = torch.randn(cin.shape[0], 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(27, 3, 2, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda f, w, b: ops.sparse_conv(f, nbr, w, b, activation), (f, w, b))


def test_max_pool_gradcheck():
    cin = random_coords(60, 3, 1, 2, seed=8)
    nbr = ops.kernel_map(cin, ops.coords_down(cin, 1, 0), 2, 1, False)
    f = torch.randn(cin.shape[0], 3, dtype=torch.float64, requires_grad=True)  # ties have probability 0
    assert torch.autograd.gradcheck(lambda f: ops.sparse_max_pool(f, nbr), (f,))


def test_batches_are_independent():
    """A batch of two scenes gives each scene exactly what it gets alone (no cross-batch neighbours)."""
    torch.manual_seed(0)
    net = torch.nn.Sequential()
    conv1, pool, conv2, up = SparseConv3d(4, 6, 3, 2), SparseMaxPool3d(), SparseConv3d(6, 6, 3, 1), \
        SparseGenerativeConvTranspose3d(6, 5)
    a = random_coords(200, 5, 1, 1, seed=1)
    b = random_coords(200, 5, 1, 1, seed=2)
    fa, fb = torch.randn(a.shape[0], 4), torch.randn(b.shape[0], 4)

    def run(coords, feats):
        return up(conv2(pool(conv1(SparseTensor(feats, coords, 1)))))

    both_c = torch.cat([a, b.clone().index_fill_(1, torch.tensor([0]), 1)])
    both = run(both_c, torch.cat([fa, fb]))
    ya, yb = run(a, fa), run(b, fb)
    sel_a, sel_b = both.batch_rows(0), both.batch_rows(1)
    assert torch.equal(both.coords[sel_a], ya.coords)
    assert torch.allclose(both.feats[sel_a], ya.feats, atol=1e-5)
    assert torch.equal(both.coords[sel_b][:, 1:], yb.coords[:, 1:])
    assert torch.allclose(both.feats[sel_b], yb.feats, atol=1e-5)


def test_training_step_reduces_loss():
    torch.manual_seed(0)
    coords = random_coords(400, 6, 1, 3, seed=4)
    feats = torch.randn(coords.shape[0], 3)
    target = torch.randn(coords.shape[0], 2)
    layers = torch.nn.ModuleList([SparseConv3d(3, 8, 3, 1), SparseBatchNorm(8), SparseConv3d(8, 2, 3, 1)])
    opt = torch.optim.Adam(layers.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        x = SparseTensor(feats, coords, 1)
        y = layers[2](layers[1](layers[0](x)))
        loss = torch.nn.functional.mse_loss(y.feats, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
