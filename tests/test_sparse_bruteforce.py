"""Every primitive against a brute-force Python loop over small random sets, and hand-computed tiny cases that pin
MinkowskiEngine's offset order and output-coordinate rules."""
from __future__ import annotations

import math

import pytest
import torch

from conftest import random_coords
from tsp3d.sparse import ops
from tsp3d.sparse.offsets import kernel_offsets


def rows(coords):
    return [tuple(r) for r in coords.tolist()]


def brute_kernel_map(in_coords, out_coords, k, s, transposed):
    index = {r: i for i, r in enumerate(rows(in_coords))}
    offs = kernel_offsets(k).tolist()
    sign = -1 if transposed else 1
    return torch.tensor(
        [[index.get((b, x + sign * dx * s, y + sign * dy * s, z + sign * dz * s), -1) for dx, dy, dz in offs]
         for b, x, y, z in rows(out_coords)],
        dtype=torch.int32,
    ).reshape(len(out_coords), len(offs))


@pytest.mark.parametrize("stride", [1, 2, 4])
@pytest.mark.parametrize("seed", [0, 1])
def test_coords_down_brute(stride, seed):
    c = random_coords(80, 5, stride, 2, seed)
    expect = sorted({(b, math.floor(x / (2 * stride)) * 2 * stride, math.floor(y / (2 * stride)) * 2 * stride,
                      math.floor(z / (2 * stride)) * 2 * stride) for b, x, y, z in rows(c)})
    assert rows(ops.coords_down(c, stride, 0)) == expect


@pytest.mark.parametrize("stride", [2, 8])
def test_coords_up_brute(stride):
    c = random_coords(30, 4, stride, 2, stride)
    h = stride // 2
    expect = sorted({(b, x + dx * h, y + dy * h, z + dz * h) for b, x, y, z in rows(c)
                     for dx, dy, dz in kernel_offsets(3).tolist()})
    assert rows(ops.coords_up(c, stride, 0)) == expect


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("transposed", [False, True])
def test_kernel_map_brute(k, transposed):
    cin = random_coords(120, 4, 2, 2, k)
    cout = random_coords(90, 4, 2, 2, k + 10)
    got = ops.kernel_map(cin, cout, k, 2, transposed)
    assert torch.equal(got, brute_kernel_map(cin, cout, k, 2, transposed))


def test_sparse_conv_brute():
    cin = random_coords(60, 3, 1, 2, 0)
    cout = ops.coords_down(cin, 1, 0)
    nbr = ops.kernel_map(cin, cout, 3, 1, False)
    f = torch.randn(cin.shape[0], 3, dtype=torch.float64)
    w = torch.randn(27, 3, 4, dtype=torch.float64)
    b = torch.randn(4, dtype=torch.float64)
    got = ops.sparse_conv(f, nbr, w, b, 1)
    expect = torch.zeros(cout.shape[0], 4, dtype=torch.float64)
    for o in range(cout.shape[0]):
        acc = b.clone()
        for kk in range(27):
            i = int(nbr[o, kk])
            if i >= 0:
                acc += f[i] @ w[kk]
        expect[o] = acc.clamp(min=0)
    assert torch.allclose(got, expect, atol=1e-12)


def test_max_pool_brute():
    cin = random_coords(80, 4, 1, 1, 2)
    cout = ops.coords_down(cin, 1, 0)
    nbr = ops.kernel_map(cin, cout, 2, 1, False)
    f = torch.randn(cin.shape[0], 3)
    got = ops.sparse_max_pool(f, nbr)
    for o in range(cout.shape[0]):
        members = [int(i) for i in nbr[o] if i >= 0]
        assert members, "every CoordsDown output has at least one input"
        assert torch.equal(got[o], f[members].max(dim=0).values)


def test_lookup_brute():
    table = random_coords(100, 4, 1, 2, 3)
    query = random_coords(100, 4, 1, 2, 4)
    index = {r: i for i, r in enumerate(rows(table))}
    assert ops.lookup(query, table).tolist() == [index.get(r, -1) for r in rows(query)]


@pytest.mark.parametrize("mode", [0, 1])
def test_prune_brute(mode):
    s = torch.rand(50)
    idx = ops.prune(s, 0.4, mode, 1)
    expect = [i for i, v in enumerate(s.tolist()) if (v < 0.4 if mode == 0 else v > 0.4)]
    assert idx.tolist() == expect and idx.dtype == torch.int32


def test_prune_min_keep_fallback_and_ties():
    s = torch.tensor([0.9, 0.5, 0.95, 0.5, float("nan")])
    assert ops.prune(s, 0.3, 0, 1).tolist() == [1]  # lowest score, tie -> lower row
    assert ops.prune(s, 0.3, 0, 2).tolist() == [1, 3]
    assert ops.prune(s, 0.99, 1, 2).tolist() == [0, 2]  # mode 1 falls back to the highest
    assert ops.prune(s, 0.3, 0, 0).tolist() == []
    assert ops.prune(torch.tensor([float("nan"), 0.2]), 0.1, 0, 1).tolist() == [1]  # NaN ranks last
    inf = float("inf")
    assert ops.prune(torch.tensor([float("nan"), inf, 3e38]), 0.0, 0, 2).tolist() == [1, 2]  # +inf before NaN
    assert ops.prune(torch.tensor([3e38, inf, 1.0]), 5e38, 1, 1).tolist() == [1]  # +inf is the highest


def test_append_missing_brute():
    a = random_coords(40, 3, 1, 2, 5)
    b = random_coords(40, 3, 1, 2, 6)
    coords, idx = ops.append_missing(a, b, 0)
    present = set(rows(a))
    expect_idx = [i for i, r in enumerate(rows(b)) if r not in present]
    assert idx.tolist() == expect_idx
    assert rows(coords) == rows(a) + [rows(b)[i] for i in expect_idx]


def test_voxelize_brute():
    g = torch.Generator().manual_seed(0)
    pts = torch.rand(300, 6, generator=g) * 0.2 - 0.1
    coords, first = ops.voxelize(pts, 0.03, 1, 0)
    seen = {}
    for i, (x, y, z) in enumerate(pts[:, :3].tolist()):
        key = (1,) + tuple(math.floor(torch.tensor(v, dtype=torch.float32) / torch.tensor(0.03)) for v in (x, y, z))
        seen.setdefault(key, i)
    expect = sorted(seen.items())
    assert rows(coords) == [k for k, _ in expect]
    assert first.tolist() == [v for _, v in expect]


# ---------------------------------------------------------------- hand-computed cases pinning ME's rules


def test_offset_order_is_x_fastest():
    offs = kernel_offsets(3).tolist()
    assert offs[0] == [-1, -1, -1] and offs[1] == [0, -1, -1] and offs[3] == [-1, 0, -1] and offs[9] == [-1, -1, 0]
    assert offs[13] == [0, 0, 0]
    assert kernel_offsets(2).tolist() == [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1],
                                          [0, 1, 1], [1, 1, 1]]


def test_hand_computed_strided_rules():
    c = torch.tensor([[0, -1, 0, 0], [0, 1, 0, 0], [0, 2, 0, 0], [0, 3, 5, -3]], dtype=torch.int32)
    # floor(c/2)*2: -1 -> -2, 1 -> 0, 2 -> 2, (3,5,-3) -> (2,4,-4)
    assert rows(ops.coords_down(c, 1, 0)) == [(0, -2, 0, 0), (0, 0, 0, 0), (0, 2, 0, 0), (0, 2, 4, -4)]
    out = ops.coords_down(c, 1, 0)
    nbr3 = ops.kernel_map(c, out, 3, 1, False)
    # output (0,0,0,0) reads (1,0,0) at offset dx=+1 -> index 14 and (-1,0,0) at dx=-1 -> index 12
    assert nbr3[1, 14] == 1 and nbr3[1, 12] == 0 and nbr3[1, 13] == -1
    nbr2 = ops.kernel_map(c, out, 2, 1, False)
    # even kernel reads o + {0,1}^3: output 0 reads x=1 at index 1; output -2 reads x=-1 at index 1
    assert nbr2[1].tolist() == [-1, 1, -1, -1, -1, -1, -1, -1]
    assert nbr2[0].tolist() == [-1, 0, -1, -1, -1, -1, -1, -1]
    nbr1 = ops.kernel_map(c, out, 1, 1, False)
    # k1 s2 reads only the exact strided site: (2,0,0) exists, (0,0,0) does not
    assert nbr1[:, 0].tolist() == [-1, -1, 2, -1]


def test_hand_computed_generative_transposed():
    c = torch.tensor([[0, 4, 4, 4]], dtype=torch.int32)
    out = ops.coords_up(c, 4, 0)
    assert out.shape[0] == 27 and rows(out)[0] == (0, 2, 2, 2) and rows(out)[-1] == (0, 6, 6, 6)
    nbr = ops.kernel_map(c, out, 3, 2, True)
    # output c + d*2 reads the input through kernel index k(d): output (2,2,2) = d (-1,-1,-1) -> index 0
    assert nbr[0].tolist().index(0) == 0
    assert nbr[rows(out).index((0, 6, 4, 4))].tolist().index(0) == 14
