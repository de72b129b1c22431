"""Property-based tests (hypothesis) of the sparse primitives, on random coordinate sets (also near the edges of
the 16-bit coordinate range) and random scores (with NaN and +-inf):

* lookup inverts append_missing: every site of both sets is found, at one row, and only B's new sites are added;
* prune keeps exactly the passing set (or the ``min_keep`` best when too few pass);
* rulebooks are consistent: every kernel-map entry is the lookup of its offset site, each input row is read at most
  once per offset, the stride-2 k2 map partitions its input, the k3 same-stride map is symmetric, every upsampled
  site is reached by the transposed map;
* every capacity is an error exactly when the natural count is above it, never a shorter result;
* the C++ CPU kernels (libtsp3d_cpu.so, the ONNX Runtime library's kernels) agree with the reference, and an
  over-capacity call writes nothing past the output buffer it was given.
"""
from __future__ import annotations

import ctypes
import os

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsp3d.errors import CapacityError, SparseInputError
from tsp3d.sparse import ops
from tsp3d.sparse.coords import COORD_MAX, COORD_MIN, pack
from tsp3d.sparse.offsets import kernel_offsets
from tsp3d.utils.libraries import find_library

# CI: 40 derandomized examples (the same cases every run). TSP3D_HYPOTHESIS_EXAMPLES=N: a deeper, random search.
_DEEP = os.environ.get("TSP3D_HYPOTHESIS_EXAMPLES")
SETTINGS = settings(max_examples=int(_DEEP or 40), deadline=None, derandomize=not _DEEP, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ORIGINS = (0, COORD_MIN + 256, COORD_MAX + 1 - 256)  # the middle and both ends of the range (multiples of 64)


@st.composite
def coord_sets(draw, stride: int = 1, min_size: int = 0, max_size: int = 60, extent: int = 5, batches: int = 2,
               origin: int | None = None):
    """A set of unique int32 [n, 4] rows (batch, x, y, z) at ``stride``, in random row order."""
    o = draw(st.sampled_from(ORIGINS)) if origin is None else origin
    axis = st.integers(-extent, extent - 1).map(lambda i: o + i * stride)
    rows = draw(st.lists(st.tuples(st.integers(0, batches - 1), axis, axis, axis), min_size=min_size,
                         max_size=max_size, unique=True))
    return torch.tensor(rows, dtype=torch.int32).reshape(-1, 4)


def as_rows(t: torch.Tensor) -> list[tuple]:
    return [tuple(r) for r in t.tolist()]


def assert_canonical(coords: torch.Tensor) -> None:
    """Sorted by (batch, x, y, z) and unique: the order every created set has."""
    keys = pack(coords)
    assert bool((keys[1:] > keys[:-1]).all())


# ---------------------------------------------------------------- lookup and append



def assert_capacity_bound(op, name, coords, stride, cap, full):
    """``op(coords, stride, cap)`` returns ``full`` when it fits in ``cap`` rows, else refuses by name: never truncates."""
    if len(full) > cap:
        with pytest.raises(CapacityError, match=rf"{name}\(stride={stride}\)"):
            op(coords, stride, cap)
    else:
        assert torch.equal(op(coords, stride, cap), full)


@SETTINGS
@given(st.data())
def test_lookup_inverts_append_missing(data):
    origin = data.draw(st.sampled_from(ORIGINS))
    a = data.draw(coord_sets(origin=origin), label="a")
    b = data.draw(coord_sets(origin=origin), label="b")
    out, idx_b = ops.append_missing(a, b, 0)
    assert torch.equal(out[: len(a)], a)
    assert torch.equal(ops.lookup(out, out), torch.arange(len(out), dtype=torch.int32))  # one row per site
    found = ops.lookup(b, out)
    assert bool((found >= 0).all()) and torch.equal(out[found.long()], b)  # every site of b is there
    missing = (ops.lookup(b, a) < 0).nonzero().squeeze(1).to(torch.int32)
    assert torch.equal(idx_b, missing)  # exactly b's new sites, ascending
    assert len(out) == len(a) + len(missing)
    cap = data.draw(st.integers(1, len(a) + len(b) + 2), label="capacity")
    if len(out) > cap:
        with pytest.raises(CapacityError, match="append_missing"):
            ops.append_missing(a, b, cap)
    else:
        got, got_idx = ops.append_missing(a, b, cap)
        assert torch.equal(got, out) and torch.equal(got_idx, idx_b)


@SETTINGS
@given(coord_sets(), coord_sets(extent=7))
def test_lookup_finds_exactly_the_present_rows(table, query):
    got = ops.lookup(query, table)
    index = {r: i for i, r in enumerate(as_rows(table))}
    assert got.tolist() == [index.get(r, -1) for r in as_rows(query)]


# ---------------------------------------------------------------- prune


SCORES = st.lists(st.one_of(st.floats(-3, 3, width=32), st.sampled_from([float("nan"), float("inf"),
                                                                         float("-inf"), 0.5])),
                  min_size=0, max_size=80)


@SETTINGS
@given(SCORES, st.floats(-2, 2, width=32), st.sampled_from([0, 1]), st.integers(0, 6), st.integers(0, 90))
def test_prune_keeps_exactly_the_passing_set(scores, threshold, mode, min_keep, capacity):
    s = torch.tensor(scores, dtype=torch.float32)
    passing = [i for i, v in enumerate(scores) if (v < threshold if mode == 0 else v > threshold)]
    want = min(min_keep, len(scores))
    if len(passing) >= want:
        expect = passing
    else:  # the min_keep best: lowest (mode 0) / highest (mode 1) score, NaN last, ties to the lower row
        def rank(i):
            v = scores[i]
            return (v != v, v if mode == 0 else -v, i)
        expect = sorted(sorted(range(len(scores)), key=rank)[:want])
    if capacity and len(expect) > capacity:
        with pytest.raises(CapacityError, match=f"prune produced {len(expect)} rows, over its capacity"):
            ops.prune(s, threshold, mode, min_keep, capacity)
        return
    got = ops.prune(s, threshold, mode, min_keep, capacity)
    assert got.dtype == torch.int32 and got.tolist() == expect


# ---------------------------------------------------------------- rulebooks


@SETTINGS
@given(st.sampled_from([1, 2, 4, 8]), st.data())
def test_down_rulebooks_are_consistent(stride, data):
    cin = data.draw(coord_sets(stride=stride, min_size=1), label="cin")
    cout = ops.coords_down(cin, stride, 0)
    assert_canonical(cout)
    s2 = 2 * stride
    assert set(as_rows(cout)) == {(b, x // s2 * s2, y // s2 * s2, z // s2 * s2) for b, x, y, z in as_rows(cin)}
    for k in (1, 2, 3):
        nbr = ops.kernel_map(cin, cout, k, stride, False)
        sites = cout[:, None, :].repeat(1, nbr.shape[1], 1)
        sites[:, :, 1:] += kernel_offsets(k) * stride
        assert torch.equal(nbr, ops.lookup(sites.reshape(-1, 4), cin).reshape(nbr.shape))
        for j in range(nbr.shape[1]):  # output-major rulebook: no input read twice by one offset (no atomics)
            col = nbr[:, j][nbr[:, j] >= 0]
            assert len(torch.unique(col)) == len(col)
        if k == 2:  # the k2 s2 cell of an output holds exactly the inputs that map onto it: a partition
            present = nbr[nbr >= 0]
            assert sorted(present.tolist()) == list(range(len(cin)))
    cap = data.draw(st.integers(1, len(cin) + 1), label="capacity")
    assert_capacity_bound(ops.coords_down, "coords_down", cin, stride, cap, cout)


@SETTINGS
@given(st.sampled_from([1, 2, 4]), st.data())
def test_same_stride_k3_rulebook_is_symmetric(stride, data):
    c = data.draw(coord_sets(stride=stride, min_size=1, extent=3), label="c")
    nbr = ops.kernel_map(c, c, 3, stride, False)
    assert torch.equal(nbr[:, 13], torch.arange(len(c), dtype=torch.int32))  # the centre offset is the site
    for o, j in (nbr >= 0).nonzero().tolist():
        assert int(nbr[int(nbr[o, j]), 26 - j]) == o  # i reads o through the opposite offset


@SETTINGS
@given(st.sampled_from([2, 4, 16, 64]), st.data())
def test_up_rulebooks_reach_every_generated_site(stride, data):
    c = data.draw(coord_sets(stride=stride, min_size=1, max_size=20, extent=3), label="c")
    up = ops.coords_up(c, stride, 0)
    assert_canonical(up)
    half = stride // 2
    generated = c[:, None, :].repeat(1, 27, 1)
    generated[:, :, 1:] += kernel_offsets(3) * half
    assert bool((ops.lookup(generated.reshape(-1, 4), up) >= 0).all())
    assert len(up) == len(set(as_rows(generated.reshape(-1, 4))))
    nbr = ops.kernel_map(c, up, 3, half, True)
    assert bool(((nbr >= 0).sum(dim=1) >= 1).all())  # every new site is fed by at least one input
    cap = data.draw(st.integers(1, 27 * len(c)), label="capacity")
    assert_capacity_bound(ops.coords_up, "coords_up", c, stride, cap, up)


@SETTINGS
@given(st.sampled_from([2, 4, 16, 64]), st.integers(0, 2))
def test_sites_beyond_the_coordinate_range_are_an_error_never_a_wrap(stride, axis):
    """Upsampling the lowest site of the 16-bit range would create sites below it: refused, by the reference and
    by the C++ kernels alike (a wrapped key would alias a site on the other side of the scene). At the top, the
    highest multiple of a power-of-two stride upsamples to at most COORD_MAX: no error."""
    low, high = [0, 0, 0, 0], [0, 0, 0, 0]
    low[1 + axis], high[1 + axis] = COORD_MIN, COORD_MAX + 1 - stride
    c = torch.tensor([low], dtype=torch.int32)
    with pytest.raises(SparseInputError, match="coordinate (range|out of range)"):
        ops.coords_up(c, stride, 0)
    if find_library("cpu") is not None:
        from tsp3d.kernels import cpu as cpu_kernels

        with pytest.raises(SparseInputError):
            cpu_kernels.coords_up(c, stride)
    top = ops.coords_up(torch.tensor([high], dtype=torch.int32), stride, 0)
    assert int(top[:, 1:].max()) == COORD_MAX + 1 - stride // 2 <= COORD_MAX


# ---------------------------------------------------------------- the C++ kernels behind ONNX Runtime

needs_cpu = pytest.mark.skipif(find_library("cpu") is None, reason="libtsp3d_cpu.so not built (scripts/setup.sh)")


@needs_cpu
@SETTINGS
@given(st.data())
def test_cpp_kernels_agree_with_the_reference(data):
    from tsp3d.kernels import cpu as k

    origin = data.draw(st.sampled_from(ORIGINS))
    a = data.draw(coord_sets(stride=2, origin=origin, min_size=1), label="a")
    b = data.draw(coord_sets(stride=2, origin=origin), label="b")
    assert torch.equal(k.lookup(b, a), ops.lookup(b, a))
    for got, want in zip(k.append_missing(a, b), ops.append_missing(a, b, 0)):
        assert torch.equal(got, want)
    assert torch.equal(k.coords_down(a, 2), ops.coords_down(a, 2, 0))
    assert torch.equal(k.coords_up(a, 2), ops.coords_up(a, 2, 0))
    for ks, transposed in ((3, False), (2, False), (3, True)):
        assert torch.equal(k.kernel_map(a, b, ks, 2, transposed), ops.kernel_map(a, b, ks, 2, transposed))
    scores = torch.tensor(data.draw(SCORES, label="scores"), dtype=torch.float32)
    mode, min_keep = data.draw(st.sampled_from([0, 1])), data.draw(st.integers(0, 4))
    assert torch.equal(k.prune(scores, 0.25, mode, min_keep), ops.prune(scores, 0.25, mode, min_keep, 0))


GUARD = 32
SENTINEL = -7


@needs_cpu
@SETTINGS
@given(st.data())
def test_cpp_kernels_never_write_past_their_capacity(data):
    """Call the C ABI with an output of ``room`` rows followed by a guard region: over capacity the status says so
    and the guard is untouched (no out-of-bounds write), under it the rows are the reference's."""
    from tsp3d.kernels.cpu import CAPACITY_EXCEEDED, OK, load

    lib = load().lib
    p = ctypes.c_void_p

    def buf(*shape):
        return torch.full(shape, SENTINEL, dtype=torch.int32)

    origin = data.draw(st.sampled_from(ORIGINS))
    a = data.draw(coord_sets(stride=2, min_size=1, origin=origin), label="a")
    b = data.draw(coord_sets(stride=2, min_size=1, origin=origin), label="b")
    count = ctypes.c_int64(-1)

    up = ops.coords_up(a, 2, 0)
    room = data.draw(st.integers(1, len(up) + 2), label="room_up")
    out = buf(room + GUARD, 4)
    st_ = lib.tsp3d_cpu_coords_up(p(a.data_ptr()), len(a), 2, room, p(out.data_ptr()), ctypes.byref(count))
    assert st_ == (CAPACITY_EXCEEDED if len(up) > room else OK)
    assert bool((out[room:] == SENTINEL).all())
    if st_ == OK:
        assert count.value == len(up) and torch.equal(out[: len(up)], up)

    merged, idx_b = ops.append_missing(a, b, 0)
    room = data.draw(st.integers(len(a), len(merged) + 2), label="room_append")
    coords, idx = buf(room + GUARD, 4), buf(room - len(a) + GUARD)
    st_ = lib.tsp3d_cpu_append_missing(p(a.data_ptr()), len(a), p(b.data_ptr()), len(b), room, p(coords.data_ptr()),
                                       p(idx.data_ptr()), ctypes.byref(count))
    assert st_ == (CAPACITY_EXCEEDED if len(merged) > room else OK)
    assert bool((coords[room:] == SENTINEL).all()) and bool((idx[room - len(a):] == SENTINEL).all())
    if st_ == OK:
        assert torch.equal(coords[: len(merged)], merged) and torch.equal(idx[: len(idx_b)], idx_b)

    scores = torch.tensor(data.draw(SCORES.filter(len), label="scores"), dtype=torch.float32)
    kept = ops.prune(scores, 0.25, 0, 1, 0)
    room = data.draw(st.integers(1, len(scores)), label="room_prune")
    out = buf(room + GUARD)
    st_ = lib.tsp3d_cpu_prune_f32(p(scores.data_ptr()), len(scores), 0.25, 0, 1, room, p(out.data_ptr()),
                                  ctypes.byref(count))
    assert st_ == (CAPACITY_EXCEEDED if len(kept) > room else OK)
    assert bool((out[room:] == SENTINEL).all())
    if st_ == OK:
        assert torch.equal(out[: len(kept)], kept)
