"""export/bounds.py: interval bounds of symbolic dimensions, the row bounds the plugins declare, and the export
pass that writes them back as capacities."""
from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

from tsp3d.export.bounds import DimBounds, Unbounded, propagate, row_bounds, tighten_capacities


def test_intervals_of_exported_dimension_expressions():
    b = DimBounds()
    b.set("u10", 65536)
    b.set("u13", 2400)
    b.set("v1", 32768, lo=1)
    assert b.upper("u10 + u13") == 67936
    assert b.upper("2*v1") == 65536 and b.upper(7) == 7
    assert b.upper("Max(1, u13)") == 2400 and b.upper("Min(u10, 100)") == 100
    assert b.upper("floor(v1/2)") == 32768  # division bounds stay valid (not tight)
    assert b.upper("u10 - u13") == 65536  # lower bound of a row count is 0
    b.pin("u10 + u13", 67000)
    assert b.upper("u13 + u10") == 67000  # a pinned expression, in any order
    with pytest.raises(Unbounded, match="no bound for the symbol 'w'"):
        b.upper("w + 1")
    with pytest.raises(Unbounded, match="unknown size"):
        b.upper(None)


def test_row_bounds_are_min_of_capacity_and_natural():
    assert row_bounds("Prune", 100_000, [2048]) == [2048]
    assert row_bounds("Prune", 512, [32768]) == [512]
    assert row_bounds("CoordsUp", 8192, [2048]) == [8192] and row_bounds("CoordsUp", 0, [10]) == [270]
    assert row_bounds("AppendMissing", 67936, [65536, 2400]) == [67936, 2400]
    assert row_bounds("AppendMissing", 1000, [900, 2400]) == [1000, 1000]


def _graph():
    nodes = [helper.make_node("Voxelize", ["p"], ["c", "f"], name="vox", domain="tsp3d", voxel_size=0.1,
                              capacity=5000),
             helper.make_node("Cast", ["f"], ["s"], name="cast", to=TensorProto.FLOAT),
             helper.make_node("Prune", ["s"], ["idx"], name="prune", domain="tsp3d", threshold=0.5, capacity=99999),
             helper.make_node("Prune", ["q"], ["idx2"], name="free", domain="tsp3d", threshold=0.5, capacity=777)]
    vi = [helper.make_tensor_value_info("c", TensorProto.INT32, ["u0", 4]),
          helper.make_tensor_value_info("f", TensorProto.INT32, ["u0"]),
          helper.make_tensor_value_info("s", TensorProto.FLOAT, ["u0"]),
          helper.make_tensor_value_info("idx", TensorProto.INT32, ["u1"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("p", TensorProto.FLOAT, ["points", 6]),
                                           helper.make_tensor_value_info("q", TensorProto.FLOAT, ["other"])],
                              [helper.make_tensor_value_info("idx", TensorProto.INT32, ["u1"]),
                               helper.make_tensor_value_info("idx2", TensorProto.INT32, ["u2"])], value_info=vi)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20), helper.make_opsetid("tsp3d", 1)])


def test_tighten_writes_the_bounds_and_leaves_unbounded_nodes():
    proto = _graph()
    table = tighten_capacities(proto, {"points": 3000})
    caps = {n.name: next(a.i for a in n.attribute if a.name == "capacity") for n in proto.graph.node
            if n.domain == "tsp3d"}
    assert caps == {"vox": 3000, "prune": 3000, "free": 777}  # 'other' has no bound: its node keeps its capacity
    assert table["prune"]["natural"] == [3000] and table["free"]["bounds"] is None
    onnx.checker.check_model(proto)


def test_propagate_strict_names_the_node():
    b = DimBounds()
    b.set("points", 10, lo=1)
    with pytest.raises(Unbounded, match="Prune node 'free'"):
        propagate(_graph(), b)
