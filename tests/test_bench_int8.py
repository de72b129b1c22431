"""The INT8 benchmarks' workload matching: the INT8 graph gets Prune thresholds that keep the FP32 graph's counts,
so a speed comparison is made on the same amount of work."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from tsp3d.bench.int8_workload import keep_threshold, match_pruning
from tsp3d.utils.libraries import find_library


def test_keep_threshold_keeps_exactly_k():
    s = np.array([0.9, 0.1, np.nan, 0.5, 0.7, 0.3], np.float32)
    for k in range(6):
        t = keep_threshold(s, k, mode=1)
        assert int((s > t).sum()) == k  # NaN never passes
        t = keep_threshold(s, k, mode=0)
        assert int((s < t).sum()) == k
    assert int((s > keep_threshold(s, 9, 1)).sum()) == 5  # more than there are: every number


def _prune_graph(threshold: float):
    g = np.random.default_rng(0)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["s2"], name="logit"),
             helper.make_node("Reshape", ["s2", "flat"], ["s"], name="flat"),
             helper.make_node("Prune", ["s"], ["kept"], domain="tsp3d", name="prune", threshold=threshold, mode=1,
                              min_keep=1, capacity=0)]
    graph = helper.make_graph(
        nodes, "prune", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 8])],
        [helper.make_tensor_value_info("kept", TensorProto.INT32, ["k"])],
        [numpy_helper.from_array(g.normal(size=(8, 1)).astype(np.float32), "w"),
         numpy_helper.from_array(np.array([-1], np.int64), "flat")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20), helper.make_opsetid("tsp3d", 1)])


@pytest.mark.skipif(find_library("ort") is None, reason="libtsp3d_ort.so not built (scripts/build_plugins.sh)")
def test_match_pruning_gives_the_int8_graph_the_fp32_counts():
    from tsp3d.calibration.layers import find_layers
    from tsp3d.calibration.qdq import quantize_graph
    from tsp3d.runtime.ort_session import make_session

    fp32 = _prune_graph(0.0)
    x = np.random.default_rng(1).normal(size=(400, 8)).astype(np.float32)
    int8 = quantize_graph(fp32, find_layers(fp32), {"x": float(np.abs(x).max()) * 0.1})[0]  # coarse: other counts
    feeds = {"x": x}
    want = make_session(fp32).run(None, feeds)[0].size
    assert make_session(int8).run(None, feeds)[0].size != want  # the setting where matching is needed
    matched, report = match_pruning(int8, fp32, feeds)
    assert report["prune"]["fp32"] == report["prune"]["int8_after"] == want != report["prune"]["int8_before"]
    assert make_session(matched).run(None, feeds)[0].size == want
    assert [n.op_type for n in matched.graph.node] == [n.op_type for n in int8.graph.node]  # thresholds only
