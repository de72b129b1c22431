"""The tsp3d ONNX ops in ONNX Runtime (libtsp3d_ort.so) against the PyTorch reference, mmdeploy style: a one-node
graph per case built with onnx.helper, run in ORT with the library, compared with tsp3d.sparse (index outputs
exactly, float outputs within export/opset_spec.py tolerances); plus the error messages and attribute checks.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from test_cpu_kernels import random_coords, random_points, rulebook_cases  # same generators as the C ABI tests
from tsp3d.errors import ModelFormatError
from tsp3d.export import opset_spec as spec
from tsp3d.sparse import ops
from tsp3d.utils.libraries import find_library

pytestmark = pytest.mark.skipif(find_library("ort") is None,
                                reason="libtsp3d_ort.so not built (scripts/build_plugins.sh)")

ONNX_TYPE = {torch.float32: TensorProto.FLOAT, torch.float16: TensorProto.FLOAT16, torch.int32: TensorProto.INT32,
             torch.int8: TensorProto.INT8}
SPEC_TYPE = {torch.float32: spec.FLOAT, torch.float16: spec.FLOAT16}


def run_op(op: str, inputs: dict, n_out: int = 1, threads: int | None = None, node_name: str = "node0",
           constants: tuple = (), **attrs):
    """Run one tsp3d node on torch inputs; return torch outputs. An input given as None is absent: left out of the
    node when trailing (as the exporter does, docs/opset.md), else given the empty name. Inputs named in
    ``constants`` are initializers (as exported weights are) instead of graph inputs."""
    from onnx import numpy_helper

    from tsp3d.runtime.ort_session import make_session

    names = [n if t is not None else "" for n, t in inputs.items()]
    while names and names[-1] == "":
        names.pop()
    outs = [f"out{i}" for i in range(n_out)]
    node = helper.make_node(op, names, outs, domain=spec.DOMAIN, name=node_name, **attrs)
    graph = helper.make_graph(
        [node], op,
        [helper.make_tensor_value_info(n, ONNX_TYPE[t.dtype], list(t.shape)) for n, t in inputs.items()
         if t is not None and n not in constants],
        [onnx.ValueInfoProto(name=o) for o in outs],  # types and shapes come from the op
        [numpy_helper.from_array(inputs[n].numpy(), n) for n in constants])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid(spec.DOMAIN, spec.VERSION)])
    sess = make_session(model, threads=threads)
    feed = {n: t.numpy() for n, t in inputs.items() if t is not None and n not in constants}
    return [torch.from_numpy(np.asarray(v)) for v in sess.run(None, feed)]


def assert_close(out, ref, tol):
    assert out.dtype == ref.dtype
    torch.testing.assert_close(out.float(), ref.float(), rtol=tol.rtol, atol=tol.atol, equal_nan=True)


@pytest.fixture(scope="module", autouse=True)
def _torch_one_thread():
    """See test_cpu_kernels.py: the reference's small torch ops run faster on one thread on a loaded machine."""
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


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

    code = ("import sys; sys.path.insert(0, 'tests'); import torch; from test_ort_ops import run_op\n"
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


# ---------------------------------------------------------------------------------------------- errors


def _error(op, inputs, n_out=1, **attrs) -> str:
    with pytest.raises(Exception) as info:
        run_op(op, inputs, n_out, node_name="my_node", **attrs)
    msg = str(info.value)
    assert f"tsp3d::{op} node 'my_node'" in msg, msg
    return msg


def test_error_messages_name_node_problem_and_fix():
    c = random_coords(200, 2, seed=11)
    n_down = ops.coords_down(c, 2, 0).shape[0]
    msg = _error("CoordsDown", {"coords": c}, stride=2, capacity=n_down - 1)
    assert f"produced {n_down} rows, over its capacity of {n_down - 1}" in msg and "'capacity'" in msg
    assert "capacity" in _error("CoordsUp", {"coords": c}, stride=2, capacity=5)
    assert "capacity" in _error("AppendMissing", {"coords_a": c[:3], "coords_b": c}, 2, capacity=4)
    assert "capacity" in _error("Voxelize", {"points": random_points(100)}, 2, voxel_size=0.01, capacity=2)
    msg = _error("Prune", {"scores": torch.arange(10, dtype=torch.float32)}, threshold=5.0, capacity=4)
    assert "produced 5 rows, over its capacity of 4" in msg
    dup = torch.cat([c, c[5:6]])
    msg = _error("KernelMap", {"in_coords": dup, "out_coords": c}, kernel_size=3, offset_stride=2)
    assert f"input 'in_coords' has duplicate coordinates: rows 5 and {c.shape[0]}" in msg
    assert "duplicate" in _error("Lookup", {"query": c, "table": dup})
    assert "input 'coords_b' has duplicate" in _error("AppendMissing", {"coords_a": c, "coords_b": dup}, 2)
    pts = random_points(60)
    pts[9, 2] = float("inf")
    assert "input 'points' row 9 has a non-finite" in _error("Voxelize", {"points": pts}, 2, voxel_size=0.1)
    off = c.clone()
    off[3, 3] += 1
    msg = _error("CoordsDown", {"coords": off}, stride=2)
    assert "row 3" in msg and "not a multiple of the tensor stride 2" in msg
    assert "not a multiple" in _error("CoordsUp", {"coords": off}, stride=2)
    far = random_points(10)
    far[4, 0] = 1e5
    assert "quantizes outside" in _error("Voxelize", {"points": far}, 2, voxel_size=0.01)
    nbr = ops.kernel_map(c, c, 3, 2, False)
    msg = _error("SparseConv", {"feats": torch.randn(c.shape[0] - 3, 4), "nbr": nbr,
                                "weight": torch.randn(27, 4, 2), "bias": None})
    assert "is not a row of 'feats'" in msg
    msg = _error("SparseConv", {"feats": torch.randn(c.shape[0], 4), "nbr": nbr, "weight": torch.randn(27, 3, 2),
                                "bias": None})
    assert "input 'weight' has shape [27, 3, 2]" in msg


def _valid_inputs(op: str) -> tuple[dict, int]:
    c = random_coords(50, 2, seed=12)
    nbr = ops.kernel_map(c, c, 3, 2, False)
    return {
        "Voxelize": ({"points": random_points(20)}, 2),
        "CoordsDown": ({"coords": c}, 1),
        "CoordsUp": ({"coords": c}, 1),
        "KernelMap": ({"in_coords": c, "out_coords": c}, 1),
        "SparseConv": ({"feats": torch.randn(c.shape[0], 2), "nbr": nbr, "weight": torch.randn(27, 2, 3),
                        "bias": None}, 1),
        "SparseConvInt8": ({"feats": torch.zeros(c.shape[0], 2, dtype=torch.int8), "feats_scale": torch.tensor(1.0),
                            "nbr": nbr, "weight": torch.zeros(27, 2, 3, dtype=torch.int8),
                            "weight_scale": torch.ones(3), "bias": None}, 1),
        "SparseMaxPool": ({"feats": torch.randn(c.shape[0], 2), "nbr": nbr}, 1),
        "Lookup": ({"query": c, "table": c}, 1),
        "Prune": ({"scores": torch.rand(10)}, 1),
        "AppendMissing": ({"coords_a": c, "coords_b": c}, 2),
    }[op]


def _bad_values(a: spec.AttrSpec) -> list:
    bad = []
    if a.choices is not None:
        bad.append(max(a.choices) + 1)
    if a.min is not None:
        bad.append(a.min if a.exclusive_min else (a.min - 1 if a.type == "int" else a.min - 1.0))
    if a.max is not None and a.max < spec.INT64_MAX:
        bad.append(a.max + 1)
    if a.multiple_of:
        bad.append((a.min or 0) + 1 if ((a.min or 0) + 1) % a.multiple_of else (a.min or 0) + 3)
    return bad


def _required_attrs(op: spec.OpSpec) -> dict:
    vals = {}
    for a in op.attributes:
        if a.required:
            vals[a.name] = a.choices[-1] if a.choices else (0.05 if a.type == "float" else 2)
    return vals


@pytest.mark.parametrize("name", [op.name for op in spec.OPS if op.attributes])
def test_attribute_ranges_follow_the_spec(name):
    """Every attribute bound of export/opset_spec.py is enforced at session creation, naming the attribute."""
    op = spec.get(name)
    inputs, n_out = _valid_inputs(name)
    run_op(name, inputs, n_out, **_required_attrs(op))  # the valid configuration loads and runs
    for a in op.attributes:
        for value in _bad_values(a):
            assert a.check(value) is not None, (a.name, value)
            attrs = {**_required_attrs(op), a.name: value}
            with pytest.raises(Exception, match=f"'{a.name}'"):
                run_op(name, inputs, n_out, **attrs)
        if a.required:
            attrs = {k: v for k, v in _required_attrs(op).items() if k != a.name}
            with pytest.raises(Exception, match=f"'{a.name}' is missing"):
                run_op(name, inputs, n_out, **attrs)


def test_other_opset_version_is_refused():
    from tsp3d.runtime.ort_session import make_session

    node = helper.make_node("Lookup", ["q", "t"], ["i"], domain=spec.DOMAIN)
    vi = [helper.make_tensor_value_info(n, TensorProto.INT32, [None, 4]) for n in "qt"]
    graph = helper.make_graph([node], "g", vi, [helper.make_tensor_value_info("i", TensorProto.INT32, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(spec.DOMAIN, 2)])
    with pytest.raises(ModelFormatError, match="version 2"):
        make_session(model)
    with pytest.raises(ModelFormatError, match="version 2"):
        make_session(model.SerializeToString())


def test_library_exports_only_register_custom_ops():
    import subprocess

    lib = find_library("ort")
    out = subprocess.run(["nm", "-D", "--defined-only", str(lib)], capture_output=True, text=True, check=True).stdout
    assert [line.split()[-1] for line in out.splitlines() if line.strip()] == ["RegisterCustomOps"]
    lib_cpu = find_library("cpu")
    if lib_cpu is not None:
        out = subprocess.run(["nm", "-D", "--defined-only", str(lib_cpu)], capture_output=True, text=True,
                             check=True).stdout
        names = [line.split()[-1] for line in out.splitlines() if line.strip()]
        assert names and all(n.startswith("tsp3d_") for n in names), names


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


def test_make_session_bad_model_files(tmp_path):
    from tsp3d.errors import InputFileError
    from tsp3d.runtime.ort_session import make_session

    with pytest.raises(InputFileError, match="not found"):
        make_session(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not an onnx model")
    with pytest.raises(InputFileError, match="not a readable ONNX model"):
        make_session(junk)


def test_run_maps_op_errors_to_typed_exceptions():
    from tsp3d.errors import CapacityError, SparseInputError
    from tsp3d.runtime.ort_session import make_session, run

    node = helper.make_node("CoordsDown", ["c"], ["o"], domain=spec.DOMAIN, name="down0", stride=1, capacity=2)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("c", TensorProto.INT32, [None, 4])],
                              [onnx.ValueInfoProto(name="o")])
    sess = make_session(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                                helper.make_opsetid(spec.DOMAIN, 1)]))
    c = random_coords(50, seed=15)
    with pytest.raises(CapacityError, match="tsp3d::CoordsDown node 'down0'"):
        run(sess, {"c": c.numpy()})
    bad = c.clone()
    bad[0, 1] = 40000
    with pytest.raises(SparseInputError, match="outside the coordinate range"):
        run(sess, {"c": bad.numpy()})
    assert run(sess, {"c": c[:1].numpy()})[0].shape == (1, 4)


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
