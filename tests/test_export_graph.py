"""Export building blocks on small graphs: the tsp3d op translation, exact integer division, graph cuts."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

from test_export_shared import needs_ort
from tsp3d.errors import CapacityError, ModelFormatError
from tsp3d.export import exact_int_div, register_schemas, torch_ops
from tsp3d.export.graph import extract
from tsp3d.sparse import ops


class _SparseNet(torch.nn.Module):
    """voxelize -> stride-2 conv without bias -> prune: the translation's corner cases in one graph."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(27, 6, 4, generator=torch.Generator().manual_seed(0)))

    def forward(self, points):
        coords, first = ops.voxelize(points, 0.05, 0, 5000)
        down = ops.coords_down(coords, 1, 4000)
        nbr = ops.kernel_map(coords, down, 3, 1, False)
        feats = ops.sparse_conv(points.index_select(0, first.long()), nbr, self.weight, None, 1)
        keep = ops.prune(feats[:, 0], 0.5, 1, 1)
        return down.index_select(0, keep.long()), feats


def _export(module, args, table, dynamic=None):
    register_schemas()
    return torch.onnx.export(module, args, dynamo=True, custom_translation_table=table, verbose=False,
                             dynamic_shapes=dynamic).model_proto


@pytest.fixture(scope="module")
def sparse_graph():
    points = torch.rand(3000, 6) * torch.tensor([2.0, 2.0, 1.0, 1, 1, 1])
    dim = ({0: torch.export.Dim("points", min=1)},)
    return _export(_SparseNet().eval(), (points,), torch_ops.translation_table(prune_bound=6000), dim)


def test_translation_emits_one_checked_node_per_op(sparse_graph):
    onnx.checker.check_model(sparse_graph, full_check=True)
    nodes = {n.op_type: n for n in sparse_graph.graph.node if n.domain == "tsp3d"}
    assert set(nodes) == {"Voxelize", "CoordsDown", "KernelMap", "SparseConv", "Prune"}
    assert list(nodes["SparseConv"].input).count("") == 0 and len(nodes["SparseConv"].input) == 3  # no bias
    attrs = {op: {a.name: helper.get_attribute_value(a) for a in n.attribute} for op, n in nodes.items()}
    assert attrs["Voxelize"] == {"voxel_size": pytest.approx(0.05), "batch": 0, "capacity": 5000}
    assert attrs["CoordsDown"] == {"stride": 1, "capacity": 4000}
    assert attrs["KernelMap"] == {"kernel_size": 3, "offset_stride": 1, "transposed": 0}
    assert attrs["SparseConv"] == {"activation": 1}
    assert attrs["Prune"] == {"threshold": 0.5, "mode": 1, "min_keep": 1, "capacity": 6000}  # the fallback bound


@needs_ort
def test_translated_graph_runs_in_onnx_runtime_like_pytorch(sparse_graph):
    from tsp3d.runtime.ort_session import make_session

    sess = make_session(sparse_graph, threads=1)
    net = _SparseNet().eval()
    for seed in (1, 2):
        points = torch.rand(2000 + 500 * seed, 6, generator=torch.Generator().manual_seed(seed)) * 2
        got = sess.run(None, {sess.get_inputs()[0].name: points.numpy()})
        with torch.no_grad():
            want = net(points)
        assert np.array_equal(got[0], want[0].numpy())
        np.testing.assert_allclose(got[1], want[1].numpy(), rtol=1e-5, atol=1e-5)


def test_capacity_rules_of_exported_nodes():
    assert torch_ops.checked_capacity("CoordsUp", 7) == 7
    for bad in (0, -1, 2**31):
        with pytest.raises(CapacityError):
            torch_ops.checked_capacity("CoordsUp", bad)
    with pytest.raises(CapacityError, match="Prune"):  # no capacity from the model and no fallback
        torch_ops.prune(None, 0.5, 1, 1, capacity=0)


class _IntDiv(torch.nn.Module):
    def forward(self, a, b):
        return torch.div(a, b, rounding_mode="floor"), torch.div(a, b, rounding_mode="trunc")


def test_integer_division_stays_exact_beyond_float32():
    a = torch.tensor([123456789, -7, 7, -123456791, 0, 99999999, 2**40 + 3], dtype=torch.int64)
    b = torch.tensor([32771, 2, -2, 1000003, 5, 3, 7], dtype=torch.int64)
    proto = _export(_IntDiv().eval(), (a, b), exact_int_div.translation_table())
    assert not any(n.op_type in ("Floor", "Cast") for n in proto.graph.node)  # no detour through float
    got = ort.InferenceSession(proto.SerializeToString()).run(None, {"a": a.numpy(), "b": b.numpy()})
    want = _IntDiv()(a, b)
    assert np.array_equal(got[0], want[0].numpy()) and np.array_equal(got[1], want[1].numpy())


def _chain():
    """x -> Relu -> Neg -> y, with Neg also reading a second input z (for an unclean cut)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, [2])
    mid = helper.make_tensor_value_info("mid", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    nodes = [helper.make_node("Relu", ["x"], ["mid"]), helper.make_node("Add", ["mid", "z"], ["y"])]
    graph = helper.make_graph(nodes, "g", [x, z], [y, mid])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])


def test_extract_cuts_cleanly_or_refuses():
    model = _chain()
    tail = extract(model, ["mid", "z"], ["y"], "tail")
    assert [n.op_type for n in tail.graph.node] == ["Add"] and [i.name for i in tail.graph.input] == ["mid", "z"]
    onnx.checker.check_model(tail, full_check=True)
    head = extract(model, ["x"], ["mid"], "head")
    assert [n.op_type for n in head.graph.node] == ["Relu"]
    with pytest.raises(ModelFormatError, match="not computed from"):
        extract(model, ["mid"], ["y"], "bad")  # y also needs z
