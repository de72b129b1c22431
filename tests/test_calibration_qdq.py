"""The Q/DQ rewrite on a small hand-built graph (KernelMap -> SparseConv -> MatMul), run in ONNX Runtime with our
library and checked against the INT8 arithmetic written out in numpy. Fast: no model export."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from test_export_shared import needs_ort
from tsp3d.calibration.layers import find_layers, units
from tsp3d.calibration.observers import QMAX
from tsp3d.calibration.qdq import int8_nodes, quantize_graph, weight_scales

C, D, E = 8, 16, 4


def _graph(seed: int = 0, wide_channel: bool = False):
    from tsp3d.export import register_schemas

    register_schemas()
    g = np.random.default_rng(seed)
    w = (g.normal(size=(27, C, D)) * 0.2).astype(np.float32)
    if wide_channel:  # a much larger range in one output channel: per-channel scales keep the others precise
        w[:, :, 3] *= 20.0
    b = g.normal(size=D).astype(np.float32)
    w2 = g.normal(size=(D, E)).astype(np.float32)
    nodes = [
        helper.make_node("KernelMap", ["coords", "coords"], ["nbr"], domain="tsp3d", name="km", kernel_size=3,
                         offset_stride=1, transposed=0),
        helper.make_node("SparseConv", ["feats", "nbr", "net.conv.kernel", "net.conv.bias"], ["h"], domain="tsp3d",
                         name="conv", activation=1),
        helper.make_node("MatMul", ["h", "net.fc.weight"], ["y"], name="fc"),
    ]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("coords", TensorProto.INT32, ["n", 4]),
         helper.make_tensor_value_info("feats", TensorProto.FLOAT, ["n", C])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", E]),
         helper.make_tensor_value_info("nbr", TensorProto.INT32, ["n", 27])],
        [numpy_helper.from_array(w, "net.conv.kernel"), numpy_helper.from_array(b, "net.conv.bias"),
         numpy_helper.from_array(w2, "net.fc.weight")],
        value_info=[helper.make_tensor_value_info("h", TensorProto.FLOAT, ["n", D])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20), helper.make_opsetid("tsp3d", 1)])
    onnx.checker.check_model(model, full_check=True)
    return model, w, b, w2


def _feeds(seed: int, n: int = 300):
    g = np.random.default_rng(100 + seed)
    xyz = np.unique(g.integers(0, 8, size=(n, 3)), axis=0)
    coords = np.concatenate([np.zeros((len(xyz), 1), np.int64), xyz], axis=1).astype(np.int32)
    feats = g.normal(size=(len(coords), C)).astype(np.float32)
    return {"coords": coords, "feats": feats}


def test_layers_and_units_of_a_small_graph():
    model, *_ = _graph()
    layers = find_layers(model)
    assert [(l.node, l.kind, l.input, l.weight, l.unit) for l in layers] == [
        ("conv", "sparse_conv", "feats", "net.conv.kernel", "net.conv"),
        ("fc", "matmul", "h", "net.fc.weight", "fc")]
    assert list(units(layers)) == ["net.conv", "fc"] and all(not l.rules for l in layers)


def test_weight_scales_are_per_output_channel_and_symmetric():
    _, w, _, _ = _graph(wide_channel=True)
    q, scale = weight_scales(w, axis=2)
    assert q.dtype == np.int8 and q.min() >= -QMAX and q.max() <= QMAX and scale.shape == (D,)
    np.testing.assert_allclose(scale, np.abs(w).max(axis=(0, 1)) / QMAX, rtol=1e-6)
    assert np.all(np.abs(q.astype(np.float32) * scale - w) <= scale / 2 + 1e-7)
    assert scale[3] > 10 * np.median(scale)  # the wide channel did not coarsen the others
    zq, zs = weight_scales(np.zeros((2, 3), np.float32), axis=1)
    assert np.all(zs == 1.0) and not zq.any()


@needs_ort
def test_int8_graph_matches_the_int8_arithmetic():
    from tsp3d.calibration.collect import collect_stats
    from tsp3d.runtime.ort_session import make_session

    model, w, b, w2 = _graph()
    layers = find_layers(model)
    stats = collect_stats(model, [l.input for l in layers], [_feeds(s) for s in range(3)])
    amax = {t: s.amax("minmax") for t, s in stats.items()}
    q, report = quantize_graph(model, layers, amax, {"method": "minmax"})
    onnx.checker.check_model(q, full_check=True)
    assert report.quantized == ["conv", "fc"] and not report.skipped
    assert int8_nodes(q) == {"SparseConvInt8": 1, "SparseConv": 0, "QuantizeLinear": 2, "DequantizeLinear": 2}
    inits = {t.name: numpy_helper.to_array(t) for t in q.graph.initializer}
    conv = next(n for n in q.graph.node if n.op_type == "SparseConvInt8")
    feats_scale, w_q, w_scale = inits[conv.input[1]], inits[conv.input[3]], inits[conv.input[4]]
    assert feats_scale.shape == () and feats_scale == pytest.approx(amax["feats"] / QMAX)
    assert w_q.dtype == np.int8 and w_q.shape == w.shape and w_scale.shape == (D,) and (w_scale > 0).all()
    assert "net.conv.kernel" not in inits  # the float weight is gone from the INT8 graph

    feeds = _feeds(7)
    y, nbr = make_session(q).run(None, feeds)
    y32, _ = make_session(model).run(None, feeds)
    # The INT8 math of docs/opset.md, in numpy: exact int32 sum, then the float scaling.
    fq = np.clip(np.rint(feeds["feats"] / feats_scale), -128, 127).astype(np.int64)
    acc = np.zeros((len(nbr), D), np.int64)
    for k in range(27):
        rows = nbr[:, k]
        ok = rows >= 0
        acc[ok] += fq[rows[ok]] @ w_q[k].astype(np.int64)
    h = np.maximum(b + (feats_scale * w_scale) * acc.astype(np.float32), 0)
    s2 = np.float32(amax["h"] / QMAX)
    w2q, w2s = weight_scales(w2, axis=1)
    want = (np.clip(np.rint(h / s2), -128, 127) * s2) @ (w2q.astype(np.float32) * w2s)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    rel = np.abs(y - y32).max() / np.abs(y32).max()
    assert 0 < rel < 0.05  # INT8 is close to FP32, and not secretly FP32


@needs_ort
def test_layers_without_a_range_stay_float():
    from tsp3d.runtime.ort_session import make_session

    model, *_ = _graph()
    layers = find_layers(model)
    q, report = quantize_graph(model, layers, {"feats": 0.0})
    assert report.quantized == [] and set(report.skipped) == {"conv", "fc"}
    assert "zero range" in report.skipped["conv"] and "no calibration range" in report.skipped["fc"]
    assert int8_nodes(q)["SparseConv"] == 1
    feeds = _feeds(1)
    np.testing.assert_array_equal(make_session(q).run(None, feeds)[0], make_session(model).run(None, feeds)[0])


def _projection_graph(seed: int = 0):
    """x -> q/k/v projections as the exporter writes them: MatMul(x, Transpose(Slice(in_proj_weight, rows)))."""
    g = np.random.default_rng(seed)
    w3 = (g.normal(size=(3 * D, D)) * 0.2).astype(np.float32)  # [3C, C] like nn.MultiheadAttention.in_proj_weight
    inits = [numpy_helper.from_array(w3, "attn.in_proj_weight"), numpy_helper.from_array(np.array([0], np.int64), "ax")]
    nodes = []
    for i, name in enumerate("qkv"):
        inits += [numpy_helper.from_array(np.array([i * D], np.int64), f"start_{name}"),
                  numpy_helper.from_array(np.array([(i + 1) * D], np.int64), f"end_{name}")]
        nodes += [helper.make_node("Slice", ["attn.in_proj_weight", f"start_{name}", f"end_{name}", "ax"],
                                   [f"slice_{name}"], name=f"slice_{name}"),
                  helper.make_node("Transpose", [f"slice_{name}"], [f"w_{name}"], name=f"t_{name}", perm=[1, 0]),
                  helper.make_node("MatMul", ["x", f"w_{name}"], [name], name=f"proj_{name}")]
    graph = helper.make_graph(nodes, "proj", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "n", D])],
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, "n", D]) for n in "qkv"],
                              inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), w3


@needs_ort
def test_folded_projection_weights_become_int8_gemms_in_onnx_runtime(tmp_path):
    """The attention projections' weights are Transpose(Slice(W)): the rewrite folds them into int8 initializers,
    drops the chain and the float W, and ONNX Runtime turns every projection into MatMulIntegerToFloat (one
    Q -> DQ pair per consumer: a shared Q blocks that fusion). Results follow the INT8 arithmetic."""
    from tsp3d.runtime.ort_session import make_session, session_options

    model, w3 = _projection_graph()
    layers = find_layers(model)
    assert [(l.node, l.kind, l.input, l.weight) for l in layers] == [
        (f"proj_{n}", "matmul", "x", f"w_{n}") for n in "qkv"]
    x = np.random.default_rng(3).normal(size=(1, 50, D)).astype(np.float32)
    amax = {"x": float(np.abs(x).max())}
    q, report = quantize_graph(model, layers, amax)
    onnx.checker.check_model(q, full_check=True)
    assert report.dense == 3 and {n.op_type for n in q.graph.node} == {"QuantizeLinear", "DequantizeLinear",
                                                                        "MatMul"}
    assert "attn.in_proj_weight" not in {t.name for t in q.graph.initializer}
    so = session_options()
    so.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    import onnxruntime as ort

    ort.InferenceSession(q.SerializeToString(), so, providers=["CPUExecutionProvider"])
    fused = [n.op_type for n in onnx.load(str(tmp_path / "optimized.onnx")).graph.node]
    assert fused.count("MatMulIntegerToFloat") == 3 and "MatMul" not in fused
    outs = make_session(q).run(None, {"x": x})
    s = np.float32(amax["x"] / QMAX)
    xq = np.clip(np.rint(x / s), -128, 127) * s
    for i, out in enumerate(outs):
        wq, ws = weight_scales(w3[i * D:(i + 1) * D].T, axis=1)
        want = xq @ (wq.astype(np.float32) * ws)
        np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_fold_follows_shape_ops_of_constants_only():
    from tsp3d.calibration.fold import chain, fold

    w = np.arange(24, dtype=np.float32).reshape(4, 6)
    inits = {t.name: t for t in [numpy_helper.from_array(w, "w"),
                                 numpy_helper.from_array(np.array([3, 8], np.int64), "shape"),
                                 numpy_helper.from_array(np.array([1], np.int64), "one"),
                                 numpy_helper.from_array(np.array([3], np.int64), "three"),
                                 numpy_helper.from_array(np.array(0, np.int64), "zero")]}
    nodes = [helper.make_node("Slice", ["w", "one", "three", "one"], ["s"]),  # columns 1..2
             helper.make_node("Transpose", ["s"], ["t"]),
             helper.make_node("Reshape", ["w", "shape"], ["r"]),
             helper.make_node("Relu", ["w"], ["relu"]),
             helper.make_node("Transpose", ["relu"], ["tr"]),
             helper.make_node("Transpose", ["x"], ["tx"]),
             helper.make_node("Gather", ["w", "zero"], ["row0"], axis=0),
             helper.make_node("Gather", ["w", "x"], ["rowx"], axis=0)]
    producer = {o: n for n in nodes for o in n.output}
    np.testing.assert_array_equal(fold("t", inits, producer), w[:, 1:3].T)
    np.testing.assert_array_equal(fold("r", inits, producer), w.reshape(3, 8))
    np.testing.assert_array_equal(fold("w", inits, producer), w)
    assert [n.op_type for n in chain("t", inits, producer)] == ["Slice", "Transpose"] and chain("w", inits, {}) == []
    np.testing.assert_array_equal(fold("row0", inits, producer), w[0])
    assert fold("tr", inits, producer) is None and fold("tx", inits, producer) is None  # a Relu; a graph input
    assert fold("rowx", inits, producer) is None  # indices from a graph input


@needs_ort
def test_a_2d_matmul_with_bias_stays_an_int8_gemm(tmp_path):
    """ORT folds a 2-D MatMul + Add into a float Gemm before its Q/DQ fusion; sessions of INT8 graphs disable that
    one fusion (tsp3d.runtime.ort_int8), so the layer runs as MatMulIntegerToFloat."""
    import onnxruntime as ort

    from tsp3d.runtime.ort_int8 import session_kwargs_for
    from tsp3d.runtime.ort_session import session_options

    g = np.random.default_rng(5)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "fuse.weight"], ["h"], name="fuse"),
         helper.make_node("Add", ["h", "fuse.bias"], ["y"], name="fuse_bias")], "fuse",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", D])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", E])],
        [numpy_helper.from_array(g.normal(size=(D, E)).astype(np.float32), "fuse.weight"),
         numpy_helper.from_array(g.normal(size=E).astype(np.float32), "fuse.bias")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    q = quantize_graph(model, find_layers(model), {"x": 3.0})[0]
    data = q.SerializeToString()
    assert session_kwargs_for(model.SerializeToString(), {}) == {}  # FP32 graphs: nothing changes

    def optimized(**kwargs) -> list:
        so = session_options()
        so.optimized_model_filepath = str(tmp_path / "opt.onnx")
        ort.InferenceSession(data, so, providers=["CPUExecutionProvider"], **kwargs)
        return [n.op_type for n in onnx.load(str(tmp_path / "opt.onnx")).graph.node]

    assert "Gemm" in optimized()  # ORT's default: the quantized layer became a float Gemm
    ops = optimized(**session_kwargs_for(data, {}))
    assert "MatMulIntegerToFloat" in ops and "Gemm" not in ops
