"""C++ CPU kernels (libtsp3d_cpu.so through tsp3d.kernels.cpu) against the PyTorch reference (tsp3d.sparse).

Index outputs must match exactly, float outputs within the tolerances of export/opset_spec.py. Random sets have
negative coordinates, two batch items and rows out of canonical order. test_ort_ops.py reuses the generators.
"""
from __future__ import annotations

import pytest
import torch

from tsp3d.errors import CapacityError, SparseInputError
from tsp3d.export import opset_spec as spec
from tsp3d.sparse import ops
from tsp3d.utils.libraries import find_library

pytestmark = pytest.mark.skipif(find_library("cpu") is None,
                                reason="libtsp3d_cpu.so not built (scripts/build_plugins.sh)")


# ---------------------------------------------------------------------------------------------- generators


def random_coords(n: int, stride: int = 1, batches: int = 2, extent: int = 10, seed: int = 0,
                  shuffle: bool = True) -> torch.Tensor:
    """Unique int32 [<=n, 4] rows at tensor stride ``stride`` around the origin (negative coordinates too)."""
    g = torch.Generator().manual_seed(seed)
    xyz = torch.randint(-extent, extent, (n, 3), generator=g) * stride
    b = torch.randint(0, batches, (n, 1), generator=g)
    rows = torch.unique(torch.cat([b, xyz], dim=1), dim=0).to(torch.int32)
    if shuffle:
        rows = rows[torch.randperm(rows.shape[0], generator=g)]
    return rows.contiguous()


def random_points(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    pts = torch.randn((n, 6), generator=g) * 0.7
    pts[: n // 4, :3] = torch.round(pts[: n // 4, :3] / 0.05) * 0.05  # points on voxel borders
    return pts.float().contiguous()


# (name, kernel_size, make out set, offset stride, transposed) for a set at tensor stride s
def rulebook_cases(c: torch.Tensor, s: int):
    yield "same k3", c, c, 3, s, False
    down = ops.coords_down(c, s, 0)
    for k in (1, 2, 3):
        yield f"down k{k}", c, down, k, s, False
    if s >= 2:
        yield "up k3", c, ops.coords_up(c, s, 0), 3, s // 2, True


def assert_close(out: torch.Tensor, ref: torch.Tensor, tol: spec.Tolerance) -> None:
    torch.testing.assert_close(out.float(), ref.float(), rtol=tol.rtol, atol=tol.atol, equal_nan=True)


@pytest.fixture(scope="module", autouse=True)
def _torch_one_thread():
    """The reference runs many small torch ops; on a loaded 2-core machine their intra-op threads wait for each
    other far longer than they compute. One thread keeps this module fast (the kernels use their own pool)."""
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


@pytest.fixture(scope="module")
def k():
    from tsp3d.kernels.cpu import load

    return load()


# ---------------------------------------------------------------------------------------------- coordinates


@pytest.mark.parametrize("voxel_size,batch", [(0.05, 0), (0.013, 3)])
def test_voxelize(k, voxel_size, batch):
    pts = random_points(3000, seed=1)
    coords, first = k.voxelize(pts, voxel_size, batch)
    ref_c, ref_f = ops.voxelize(pts, voxel_size, batch, 0)
    assert torch.equal(coords, ref_c) and torch.equal(first, ref_f)


@pytest.mark.parametrize("stride", [1, 2, 4])
def test_coords_down_and_up(k, stride):
    c = random_coords(600, stride, seed=stride)
    assert torch.equal(k.coords_down(c, stride), ops.coords_down(c, stride, 0))
    if stride >= 2:
        assert torch.equal(k.coords_up(c, stride), ops.coords_up(c, stride, 0))


@pytest.mark.parametrize("stride", [1, 2])
def test_kernel_map(k, stride):
    c = random_coords(700, stride, seed=10 + stride)
    for name, a, b, ks, s, tr in rulebook_cases(c, stride):
        ref = ops.kernel_map(a, b, ks, s, tr)
        assert torch.equal(k.kernel_map(a, b, ks, s, tr), ref), name
        perm = torch.randperm(b.shape[0], generator=torch.Generator().manual_seed(3))
        assert torch.equal(k.kernel_map(a, b[perm].contiguous(), ks, s, tr), ref[perm]), f"{name}, shuffled out"


def test_lookup_and_append_missing(k):
    table = random_coords(500, 2, seed=5)
    query = torch.cat([table[::3], random_coords(300, 2, seed=6)])
    assert torch.equal(k.lookup(query, table), ops.lookup(query, table))
    a, b = random_coords(400, seed=7), random_coords(400, seed=8)
    got, ref = k.append_missing(a, b), ops.append_missing(a, b, 0)
    assert torch.equal(got[0], ref[0]) and torch.equal(got[1], ref[1])


@pytest.mark.parametrize("mode", [0, 1])
def test_prune(k, mode):
    g = torch.Generator().manual_seed(mode)
    s = torch.round(torch.rand(2000, generator=g) * 50) / 50  # many ties
    s[::17] = float("nan")
    s[5], s[6], s[7] = float("inf"), float("-inf"), torch.finfo(torch.float32).max  # infinities rank as numbers
    for threshold, min_keep in ((0.5, 1), (-1.0 if mode == 0 else 2.0, 37), (0.3, 0), (0.3, 5000)):
        assert torch.equal(k.prune(s, threshold, mode, min_keep), ops.prune(s, threshold, mode, min_keep))
    assert torch.equal(k.prune(s.half(), 0.5, mode, 1), ops.prune(s.half(), 0.5, mode, 1))


# ---------------------------------------------------------------------------------------------- rulebook application


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("cin,cout", [(1, 1), (6, 64), (64, 64), (32, 17)])
def test_sparse_conv(k, dtype, cin, cout):
    c = random_coords(500, 2, seed=cin + cout)
    g = torch.Generator().manual_seed(cout)
    tol = spec.get("SparseConv").tolerance("out", spec.FLOAT if dtype == torch.float32 else spec.FLOAT16)
    for name, a, b, ks, s, tr in rulebook_cases(c, 2):
        nbr = ops.kernel_map(a, b, ks, s, tr)
        feats = torch.randn((a.shape[0], cin), generator=g).to(dtype)
        w = (torch.randn((ks**3, cin, cout), generator=g) / (cin * ks) ** 0.5).to(dtype)
        bias = torch.randn((cout,), generator=g).to(dtype)
        for b_, act in ((None, 0), (bias, 1)):
            out = k.sparse_conv(feats, nbr, w, b_, act)
            assert out.dtype == dtype
            assert_close(out, ops.sparse_conv(feats, nbr, w, b_, act), tol)


def int8_reference_acc(fq: torch.Tensor, nbr: torch.Tensor, wq: torch.Tensor) -> torch.Tensor:
    """The exact integer sums of SparseConvInt8 (int64): sum_k sum_ci feats[nbr[o, k], ci] * weight[k, ci, c]."""
    acc = torch.zeros((nbr.shape[0], wq.shape[2]), dtype=torch.int64)
    for kk in range(nbr.shape[1]):
        rows = (nbr[:, kk] >= 0).nonzero().squeeze(1)
        acc[rows] += fq[nbr[rows, kk].long()].long() @ wq[kk].long()
    return acc


def _int8_case(seed: int, cin: int, cout: int):
    c = random_coords(500, seed=seed)
    nbr = ops.kernel_map(c, c, 3, 1, False)
    g = torch.Generator().manual_seed(seed)
    fq = torch.randint(-128, 128, (c.shape[0], cin), generator=g, dtype=torch.int8)  # QuantizeLinear's range
    wq = torch.randint(-127, 128, (27, cin, cout), generator=g, dtype=torch.int8)
    return nbr, fq, wq, g


@pytest.fixture
def int8_path(k):
    """Restore the automatic int8 path after a test that forces one."""
    yield k
    k.set_int8_path("auto")


@pytest.mark.parametrize("path", ["portable", "avx2", "avx512vnni"])
def test_sparse_conv_int8(int8_path, path):
    k = int8_path
    if path not in k.int8_paths():
        pytest.skip(f"this CPU has no {path} path (the portable path runs everywhere)")
    k.set_int8_path(path)
    assert k.int8_path() == path
    nbr, fq, wq, g = _int8_case(21, 32, 24)
    ws = torch.rand(24, generator=g) * 0.01 + 1e-3
    bias = torch.randn(24, generator=g)
    fs = 0.021
    out = k.sparse_conv_int8(fq, fs, nbr, wq, ws, bias, 1)
    acc = int8_reference_acc(fq, nbr, wq)
    ref = (bias + (torch.tensor(fs) * ws) * acc.float()).clamp(min=0)
    assert_close(out, ref, spec.get("SparseConvInt8").tolerance("out", spec.FLOAT))


@pytest.mark.parametrize("cin,cout", [(3, 5), (64, 64), (128, 80)])
def test_int8_accumulators_bit_identical_on_every_path(int8_path, cin, cout):
    k = int8_path
    nbr, fq, wq, _ = _int8_case(cin + cout, cin, cout)
    ref = int8_reference_acc(fq, nbr, wq)
    outs = {}
    for path in k.int8_paths():
        k.set_int8_path(path)
        outs[path] = k.sparse_conv_int8_acc(fq, nbr, wq)
        assert torch.equal(outs[path].long(), ref), path
    assert "portable" in outs and len({o.numpy().tobytes() for o in outs.values()}) == 1


def test_int8_path_from_the_environment():
    import os
    import subprocess
    import sys

    code = ("from tsp3d.kernels import cpu as k; import torch\n"
            "print(k.load().int8_path())\n"
            "k.sparse_conv_int8(torch.zeros(2, 4, dtype=torch.int8), 1.0, torch.zeros(2, 1, dtype=torch.int32),"
            " torch.zeros(1, 4, 3, dtype=torch.int8), torch.ones(3))\n")

    def run(value: str):
        env = {**os.environ, "TSP3D_INT8_PATH": value}
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)

    ok = run("portable")
    assert ok.returncode == 0 and ok.stdout.strip() == "portable", ok.stderr
    bad = run("sse9")
    assert bad.returncode != 0 and "TSP3D_INT8_PATH='sse9' is not one of auto, portable, avx2, avx512vnni" in bad.stderr


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_sparse_max_pool(k, dtype):
    c = random_coords(600, seed=31)
    nbr = ops.kernel_map(c, ops.coords_down(c, 1, 0), 2, 1, False)
    feats = torch.randn((c.shape[0], 16), generator=torch.Generator().manual_seed(1)).to(dtype)
    feats[::7, 3] = float("nan")
    out = k.sparse_max_pool(feats, nbr)
    assert out.dtype == dtype and torch.equal(out, ops.sparse_max_pool(feats, nbr))


def test_results_do_not_depend_on_thread_count(k):
    c = random_coords(3000, seed=41, extent=16)
    nbr = ops.kernel_map(c, c, 3, 1, False)
    feats, w = torch.randn((c.shape[0], 64)), torch.randn((27, 64, 128))
    prev = k.set_num_threads(1)
    try:
        one = k.sparse_conv(feats, nbr, w)
        k.set_num_threads(3)
        assert torch.equal(k.sparse_conv(feats, nbr, w), one)
        assert torch.equal(k.kernel_map(c, c, 3, 1), nbr)
    finally:
        k.set_num_threads(prev)


def test_forked_child_gets_a_working_pool(k):
    """A child forked after the pool started (DataLoader workers, multiprocessing) must not hang on its workers."""
    import os

    c = random_coords(2000, seed=42, extent=14)
    nbr = ops.kernel_map(c, c, 3, 1, False)
    feats, w = torch.randn((c.shape[0], 16)), torch.randn((27, 16, 16))
    prev = k.set_num_threads(2)
    try:
        ref = k.sparse_conv(feats, nbr, w)  # starts the pool's worker
        pid = os.fork()
        if pid == 0:  # child: exit code 0 only if the kernels run and agree
            ok = torch.equal(k.sparse_conv(feats, nbr, w), ref)
            os._exit(0 if ok else 1)
        import time

        deadline = time.monotonic() + 60
        while True:  # a child stuck waiting for workers it does not have must fail the test, not hang it
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                pytest.fail("the forked child hung in the kernels' thread pool")
            time.sleep(0.05)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    finally:
        k.set_num_threads(prev)


# ---------------------------------------------------------------------------------------------- errors


def test_capacity_errors(k):
    c = random_coords(200, 2, seed=51)
    n_down = ops.coords_down(c, 2, 0).shape[0]
    assert k.coords_down(c, 2, capacity=n_down).shape[0] == n_down
    with pytest.raises(CapacityError, match=f"produced {n_down} rows, over its capacity of {n_down - 1}"):
        k.coords_down(c, 2, capacity=n_down - 1)
    with pytest.raises(CapacityError):
        k.coords_up(c, 2, capacity=10)
    with pytest.raises(CapacityError):
        k.voxelize(random_points(100), 0.01, capacity=3)
    with pytest.raises(CapacityError):
        k.append_missing(c[:5], random_coords(50, 2, seed=52), capacity=6)
    scores = torch.arange(10, dtype=torch.float32)
    assert k.prune(scores, 5.0, 0, 1, capacity=5).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(CapacityError, match="produced 5 rows, over its capacity of 4"):
        k.prune(scores, 5.0, 0, 1, capacity=4)


def test_capacity_zero_queries_the_count(k):
    import ctypes

    c = random_coords(200, seed=53)
    count = ctypes.c_int64(-1)
    st = k.lib.tsp3d_cpu_coords_down(ctypes.c_void_p(c.data_ptr()), c.shape[0], 1, 0, None, ctypes.byref(count))
    assert st == 1 and count.value == ops.coords_down(c, 1, 0).shape[0]


def test_bad_input_errors(k):
    c = random_coords(100, 2, seed=61)
    dup = torch.cat([c, c[3:4]])
    with pytest.raises(SparseInputError, match="duplicate"):
        k.kernel_map(dup, c, 3, 2)
    with pytest.raises(SparseInputError, match="duplicate"):
        k.lookup(c, dup)
    with pytest.raises(SparseInputError, match="duplicate"):
        k.append_missing(c, dup)
    pts = random_points(50)
    pts[7, 1] = float("nan")
    with pytest.raises(SparseInputError, match="non-finite"):
        k.voxelize(pts, 0.05)
    off = c.clone()
    off[4, 2] += 1
    with pytest.raises(SparseInputError, match="multiple of the tensor stride"):
        k.coords_down(off, 2)
    with pytest.raises(SparseInputError, match="multiple of the tensor stride"):
        k.coords_up(off, 2)
    far = c.clone()
    far[0, 1] = 40000
    with pytest.raises(SparseInputError, match="out of range"):
        k.coords_down(far, 1)
    nbr = ops.kernel_map(c, c, 3, 2, False)
    with pytest.raises(SparseInputError, match="kernel map index out of range"):
        k.sparse_conv(torch.randn(c.shape[0] - 1, 4), nbr, torch.randn(27, 4, 8))
    with pytest.raises(SparseInputError, match="weight"):
        k.sparse_conv(torch.randn(c.shape[0], 4), nbr, torch.randn(27, 5, 8))


def test_module_level_shortcuts_use_the_default_library():
    from tsp3d.kernels import cpu as cpu_kernels

    c = random_coords(100, seed=71)
    assert torch.equal(cpu_kernels.coords_down(c, 1), ops.coords_down(c, 1, 0))
    nbr = cpu_kernels.kernel_map(c, c, 3, 1)
    feats, w = torch.randn((c.shape[0], 4)), torch.randn((27, 4, 5))
    assert torch.equal(cpu_kernels.sparse_conv(feats, nbr, w), cpu_kernels.load().sparse_conv(feats, nbr, w))
