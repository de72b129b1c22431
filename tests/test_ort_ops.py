"""The tsp3d ONNX ops in ONNX Runtime (libtsp3d_ort.so) against the PyTorch reference, mmdeploy style: a one-node
graph per case built with onnx.helper, run in ORT with the library, compared with tsp3d.sparse (index outputs
exactly, float outputs within export/opset_spec.py tolerances); empty inputs, an absent optional input, a chain of
ops. The error messages and attribute checks: test_ort_op_errors.py.
"""
from __future__ import annotations

import onnx
import pytest
import torch
from onnx import TensorProto, helper

from ort_one_node import ONNX_TYPE, _torch_one_thread, assert_close, requires_ort, run_op  # noqa: F401 (fixture)
from test_cpu_kernels import random_coords, random_points, rulebook_cases  # same generators as the C ABI tests
from tsp3d.export import opset_spec as spec
from tsp3d.sparse import ops

pytestmark = requires_ort

SPEC_TYPE = {torch.float32: spec.FLOAT, torch.float16: spec.FLOAT16}


# ---------------------------------------------------------------------------------------------- parity


def test_voxelize():
    pts = random_points(2000, seed=2)
    coords, first = run_op("Voxelize", {"points": pts}, 2, voxel_size=0.05, batch=1)
    ref_c, ref_f = ops.voxelize(pts, 0.05, 1, 0)
    assert torch.equal(coords, ref_c) and torch.equal(first, ref_f)


@pytest.mark.parametrize("stride", [1, 2, 4])
def test_coords_down_up(stride):
    c = random_coords(500, stride, seed=stride)
    (down,) = run_op("CoordsDown", {"coords": c}, stride=stride)
    assert torch.equal(down, ops.coords_down(c, stride, 0))
    if stride >= 2:
        (up,) = run_op("CoordsUp", {"coords": c}, stride=stride)
        assert torch.equal(up, ops.coords_up(c, stride, 0))


@pytest.mark.parametrize("stride", [1, 4])
def test_kernel_map(stride):
    c = random_coords(500, stride, seed=20 + stride)
    for name, a, b, ks, s, tr in rulebook_cases(c, stride):
        (nbr,) = run_op("KernelMap", {"in_coords": a, "out_coords": b}, kernel_size=ks, offset_stride=s,
                        transposed=int(tr))
        assert torch.equal(nbr, ops.kernel_map(a, b, ks, s, tr)), name


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("cin,cout,with_bias,act", [(6, 64, False, 0), (64, 32, True, 1), (3, 5, True, 0)])
def test_sparse_conv(dtype, cin, cout, with_bias, act):
    c = random_coords(400, 2, seed=cin)
    g = torch.Generator().manual_seed(cout)
    tol = spec.get("SparseConv").tolerance("out", SPEC_TYPE[dtype])
    for name, a, b, ks, s, tr in rulebook_cases(c, 2):
        nbr = ops.kernel_map(a, b, ks, s, tr)
        feats = torch.randn((a.shape[0], cin), generator=g).to(dtype)
        w = (torch.randn((ks**3, cin, cout), generator=g) / (cin * ks) ** 0.5).to(dtype)
        bias = torch.randn((cout,), generator=g).to(dtype) if with_bias else None
        (out,) = run_op("SparseConv", {"feats": feats, "nbr": nbr, "weight": w, "bias": bias}, activation=act)
        assert_close(out, ops.sparse_conv(feats, nbr, w, bias, act), tol)


def test_sparse_conv_int8():
    c = random_coords(300, seed=4)
    nbr = ops.kernel_map(c, c, 3, 1, False)
    g = torch.Generator().manual_seed(1)
    fq = torch.randint(-127, 128, (c.shape[0], 16), generator=g, dtype=torch.int8)
    wq = torch.randint(-127, 128, (27, 16, 8), generator=g, dtype=torch.int8)
    ws, fs = torch.rand(8, generator=g) * 0.02 + 1e-3, torch.tensor(0.05)
    (out,) = run_op("SparseConvInt8", {"feats": fq, "feats_scale": fs, "nbr": nbr, "weight": wq,
                                       "weight_scale": ws, "bias": None})
    acc = torch.zeros((c.shape[0], 8), dtype=torch.int64)
    for kk in range(27):
        rows = (nbr[:, kk] >= 0).nonzero().squeeze(1)
        acc[rows] += fq[nbr[rows, kk].long()].long() @ wq[kk].long()
    assert_close(out, (fs * ws) * acc.float(), spec.get("SparseConvInt8").tolerance("out", spec.FLOAT))


def test_sparse_conv_int8_refuses_a_reduction_that_could_overflow():
    cin = 131072  # K * Cin = 131072 > 131071: |acc| could reach 2^31
    inputs = {"feats": torch.ones((2, cin), dtype=torch.int8), "feats_scale": torch.tensor(1.0),
              "nbr": torch.tensor([[0], [1]], dtype=torch.int32), "weight": torch.ones((1, cin, 2), dtype=torch.int8),
              "weight_scale": torch.ones(2)}
    with pytest.raises(Exception, match=r"K \* Cin = 131072 is over 131071"):
        run_op("SparseConvInt8", inputs)


def test_sparse_conv_int8_names_an_invalid_int8_path():
    import os
    import subprocess
    import sys

    code = ("import sys; sys.path.insert(0, 'tests'); import torch; from ort_one_node import run_op\n"
            "run_op('SparseConvInt8', {'feats': torch.zeros(2, 4, dtype=torch.int8), 'feats_scale': torch.tensor(1.0),"
            " 'nbr': torch.zeros(2, 1, dtype=torch.int32), 'weight': torch.zeros(1, 4, 3, dtype=torch.int8),"
            " 'weight_scale': torch.ones(3)})\n")
    env = {**os.environ, "TSP3D_INT8_PATH": "avx1024"}
    from pathlib import Path

    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=Path(__file__).resolve().parents[1])
    assert r.returncode != 0 and "TSP3D_INT8_PATH='avx1024' is not one of auto, portable, avx2, avx512vnni" in r.stderr


def test_sparse_conv_int8_constant_weight_packed_once_same_bits():
    """A constant weight is packed at session creation; the result must be the bits of the per-call packing."""
    c = random_coords(400, seed=8)
    nbr = ops.kernel_map(c, c, 3, 1, False)
    g = torch.Generator().manual_seed(2)
    inputs = {"feats": torch.randint(-128, 128, (c.shape[0], 19), generator=g, dtype=torch.int8),
              "feats_scale": torch.tensor(0.03), "nbr": nbr,
              "weight": torch.randint(-127, 128, (27, 19, 40), generator=g, dtype=torch.int8),
              "weight_scale": torch.rand(40, generator=g) * 0.02 + 1e-3, "bias": torch.randn(40, generator=g)}
    (per_call,) = run_op("SparseConvInt8", inputs, activation=1)
    (packed,) = run_op("SparseConvInt8", inputs, activation=1, constants=("weight", "weight_scale", "bias"))
    assert torch.equal(per_call, packed)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_sparse_max_pool(dtype):
    c = random_coords(500, seed=5)
    nbr = ops.kernel_map(c, ops.coords_down(c, 1, 0), 2, 1, False)
    feats = torch.randn((c.shape[0], 8), generator=torch.Generator().manual_seed(2)).to(dtype)
    (out,) = run_op("SparseMaxPool", {"feats": feats, "nbr": nbr})
    assert torch.equal(out, ops.sparse_max_pool(feats, nbr))


def test_lookup_append_missing():
    table = random_coords(400, seed=6)
    query = torch.cat([table[::2], random_coords(200, seed=7)])
    (idx,) = run_op("Lookup", {"query": query, "table": table})
    assert torch.equal(idx, ops.lookup(query, table))
    a, b = random_coords(300, seed=8), random_coords(300, seed=9)
    coords, idx_b = run_op("AppendMissing", {"coords_a": a, "coords_b": b}, 2)
    ref = ops.append_missing(a, b, 0)
    assert torch.equal(coords, ref[0]) and torch.equal(idx_b, ref[1])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_prune(dtype):
    s = (torch.round(torch.rand(1000, generator=torch.Generator().manual_seed(3)) * 20) / 20).to(dtype)
    s[::11] = float("nan")
    for threshold, mode, min_keep in ((0.3, 0, 1), (0.7, 1, 1), (-1.0, 0, 25), (5.0, 1, 25)):
        (idx,) = run_op("Prune", {"scores": s}, threshold=threshold, mode=mode, min_keep=min_keep)
        assert torch.equal(idx, ops.prune(s, threshold, mode, min_keep))


def test_threads_setting_gives_same_result():
    c = random_coords(1500, seed=10, extent=14)
    nbr = ops.kernel_map(c, c, 3, 1, False)
    feats, w = torch.randn((c.shape[0], 32)), torch.randn((27, 32, 64))
    inputs = {"feats": feats, "nbr": nbr, "weight": w, "bias": None}
    (one,) = run_op("SparseConv", inputs, threads=1)
    (three,) = run_op("SparseConv", inputs, threads=3)
    assert torch.equal(one, three)


def test_empty_inputs():
    empty = torch.zeros((0, 4), dtype=torch.int32)
    c = random_coords(30, seed=13)
    assert run_op("CoordsDown", {"coords": empty}, stride=1)[0].shape == (0, 4)
    (nbr,) = run_op("KernelMap", {"in_coords": c, "out_coords": empty}, kernel_size=3, offset_stride=1)
    assert nbr.shape == (0, 27)
    (nbr,) = run_op("KernelMap", {"in_coords": empty, "out_coords": c}, kernel_size=2, offset_stride=1)
    assert nbr.shape == (c.shape[0], 8) and bool((nbr == -1).all())
    assert run_op("Prune", {"scores": torch.zeros(0)}, threshold=0.5)[0].shape == (0,)
    (out,) = run_op("SparseConv", {"feats": torch.zeros(0, 3), "nbr": torch.full((4, 27), -1, dtype=torch.int32),
                                   "weight": torch.randn(27, 3, 2), "bias": torch.ones(2)}, activation=0)
    assert torch.equal(out, torch.ones(4, 2))  # no neighbour: act(bias)


def test_optional_bias_absent_by_empty_name():
    c = random_coords(100, seed=14)
    nbr = ops.kernel_map(c, c, 3, 1, False)
    feats, w = torch.randn((c.shape[0], 4)), torch.randn((27, 4, 6))
    from tsp3d.runtime.ort_session import make_session

    node = helper.make_node("SparseConv", ["feats", "nbr", "weight", ""], ["out"], domain=spec.DOMAIN)
    vi = [helper.make_tensor_value_info(n, ONNX_TYPE[t.dtype], list(t.shape))
          for n, t in (("feats", feats), ("nbr", nbr), ("weight", w))]
    graph = helper.make_graph([node], "g", vi, [onnx.ValueInfoProto(name="out")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(spec.DOMAIN, 1)])
    (out,) = make_session(model).run(None, {"feats": feats.numpy(), "nbr": nbr.numpy(), "weight": w.numpy()})
    assert_close(torch.from_numpy(out), ops.sparse_conv(feats, nbr, w, None, 0),
                 spec.get("SparseConv").tolerance("out", spec.FLOAT))


def test_chain_of_ops_with_data_dependent_shapes():
    """Voxelize -> Gather -> CoordsDown -> KernelMap -> SparseConv (ReLU) -> SparseMaxPool in one graph."""
    from tsp3d.runtime.ort_session import make_session, run

    pts = random_points(3000, seed=16)
    w = torch.randn((27, 6, 16), generator=torch.Generator().manual_seed(0)) * 0.3
    nodes = [
        helper.make_node("Voxelize", ["points"], ["c1", "first"], domain=spec.DOMAIN, voxel_size=0.05),
        helper.make_node("Gather", ["points", "first"], ["f1"], axis=0),
        helper.make_node("CoordsDown", ["c1"], ["c2"], domain=spec.DOMAIN, stride=1),
        helper.make_node("KernelMap", ["c1", "c2"], ["nbr"], domain=spec.DOMAIN, kernel_size=3, offset_stride=1),
        helper.make_node("SparseConv", ["f1", "nbr", "w"], ["f2"], domain=spec.DOMAIN, activation=1),
        helper.make_node("CoordsDown", ["c2"], ["c4"], domain=spec.DOMAIN, stride=2),
        helper.make_node("KernelMap", ["c2", "c4"], ["nbr2"], domain=spec.DOMAIN, kernel_size=2, offset_stride=2),
        helper.make_node("SparseMaxPool", ["f2", "nbr2"], ["f4"], domain=spec.DOMAIN),
    ]
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("points", TensorProto.FLOAT, [None, 6])],
                              [onnx.ValueInfoProto(name="c4"), onnx.ValueInfoProto(name="f4")],
                              initializer=[onnx.numpy_helper.from_array(w.numpy(), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(spec.DOMAIN, 1)])
    c4, f4 = run(make_session(model, threads=2), {"points": pts.numpy()})
    c1, first = ops.voxelize(pts, 0.05, 0, 0)
    c2 = ops.coords_down(c1, 1, 0)
    f2 = ops.sparse_conv(pts[first.long()], ops.kernel_map(c1, c2, 3, 1, False), w, None, 1)
    ref_c4 = ops.coords_down(c2, 2, 0)
    ref_f4 = ops.sparse_max_pool(f2, ops.kernel_map(c2, ref_c4, 2, 2, False))
    assert torch.equal(torch.from_numpy(c4), ref_c4)
    assert_close(torch.from_numpy(f4), ref_f4, spec.get("SparseConv").tolerance("out", spec.FLOAT))
