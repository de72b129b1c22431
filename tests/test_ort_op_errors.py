"""The tsp3d ONNX ops' refusals in ONNX Runtime (libtsp3d_ort.so): error messages that name the node, the problem
and the fix; every attribute bound of export/opset_spec.py; another opset version; bad model files; op errors as
typed exceptions; the library's exported symbols. The ops' results: test_ort_ops.py.
"""
from __future__ import annotations

import onnx
import pytest
import torch
from onnx import TensorProto, helper

from ort_one_node import _torch_one_thread, requires_ort, run_op  # noqa: F401 (fixture)
from test_cpu_kernels import random_coords, random_points
from tsp3d.errors import ModelFormatError
from tsp3d.export import opset_spec as spec
from tsp3d.sparse import ops
from tsp3d.utils.libraries import find_library

pytestmark = requires_ort


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
