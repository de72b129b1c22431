"""The FP16 graph pass on small hand-made graphs: types, casts, keep rules, constants."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from tsp3d.errors import ModelFormatError
from tsp3d.export import fp16, register_schemas

F32, F16 = TensorProto.FLOAT, TensorProto.FLOAT16


def _init(name, arr):
    return numpy_helper.from_array(np.asarray(arr, np.float32), name)


def _dense_model(w1=None):
    """x [N, 4] -> MatMul -> Add -> Softmax -> LayerNorm -> MatMul -> Reshape -> Sigmoid -> score [N];
    plus idx int64 [N] -> Cast(float) -> Mul(0.01) -> + zeros(ConstantOfShape) -> corner [N] (coordinates)."""
    rng = np.random.default_rng(0)
    inits = [_init("w1", rng.normal(size=(4, 8)) if w1 is None else w1), _init("b1", rng.normal(size=8)),
             _init("ln_s", np.ones(8)), _init("ln_b", np.zeros(8)), _init("w2", rng.normal(size=(8, 1))),
             _init("voxel", [0.01]), numpy_helper.from_array(np.array([-1], np.int64), "flat")]
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Add", ["h", "b1"], ["h1"]),
        helper.make_node("Softmax", ["h1"], ["p"], axis=-1),
        helper.make_node("LayerNormalization", ["p", "ln_s", "ln_b"], ["n"], axis=-1),
        helper.make_node("MatMul", ["n", "w2"], ["logit2d"]),
        helper.make_node("Reshape", ["logit2d", "flat"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["score"]),
        helper.make_node("Cast", ["idx"], ["idx_f"], to=F32), helper.make_node("Mul", ["idx_f", "voxel"], ["metres"]),
        helper.make_node("Shape", ["idx"], ["n_shape"]), helper.make_node("ConstantOfShape", ["n_shape"], ["zeros"]),
        helper.make_node("Add", ["metres", "zeros"], ["center"]),
    ]
    vi = helper.make_tensor_value_info
    graph = helper.make_graph(
        nodes, "dense", [vi("x", F32, ["N", 4]), vi("idx", TensorProto.INT64, ["N"])],
        [vi("score", F32, ["N"]), vi("center", F32, ["N"])], inits,
        value_info=[vi(v, F32, None) for v in ("h", "h1", "p", "n", "logit2d", "logit", "idx_f", "metres", "zeros")]
        + [vi("n_shape", TensorProto.INT64, [1])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])


def _types(model):
    g = model.graph
    out = {v.name: v.type.tensor_type.elem_type for v in list(g.input) + list(g.output) + list(g.value_info)}
    out.update({t.name: t.data_type for t in g.initializer})
    return out


def _node(model, op):
    return next(n for n in model.graph.node if n.op_type == op)


def _run(model, n=5):
    rng = np.random.default_rng(1)
    feeds = {"x": rng.normal(size=(n, 4)).astype(np.float32), "idx": np.arange(n, dtype=np.int64) * 700}
    return ort.InferenceSession(model.SerializeToString()).run(None, feeds)


def test_all_fp16_keeps_the_interface_and_runs_close_to_fp32():
    model = _dense_model()
    half, report = fp16.convert(model, keep=())
    onnx.checker.check_model(half, full_check=True)
    types = _types(half)
    assert types["x"] == F32 and types["score"] == F32 and types["center"] == F32  # interface unchanged
    mm = _node(half, "MatMul")
    assert types[mm.input[1]] == F16 and mm.input[0] == "x__to_fp16"  # fp16 weight copy, cast activation
    assert _node(half, "Cast").attribute[0].i == F16  # int -> float casts now produce float16
    cos = _node(half, "ConstantOfShape")
    assert numpy_helper.to_array(cos.attribute[0].t).dtype == np.float16
    assert report.nodes_fp32 == 0 and report.nodes_fp16 > 8
    want, got = _run(model), _run(half)
    np.testing.assert_allclose(got[0], want[0], atol=3e-3)
    # 0.01 * 2800 in float16: the reason the "coordinates" rule exists (metres lose ~1 mm at 28 m)
    assert np.abs(got[1] - want[1]).max() > 1e-3


def test_keep_rules_put_their_nodes_in_fp32():
    model = _dense_model()
    half, report = fp16.convert(model, keep=("softmax", "box", "coordinates"))
    onnx.checker.check_model(half, full_check=True)
    types = _types(half)
    assert types[_node(half, "Softmax").output[0]] == F32
    assert types[_node(half, "LayerNormalization").output[0]] == F16
    second = [n for n in half.graph.node if n.op_type == "MatMul"][1]  # the logit head feeding the box output
    assert types[second.input[1]] == F32 and types[second.output[0]] == F32
    assert types["metres"] == F32 and types["center"] == F32
    # box: Sigmoid, Reshape, the logit MatMul; and the centre path: Add, Mul, Cast, ConstantOfShape
    assert report.fp32_by_rule["softmax"] == 1 and report.fp32_by_rule["box"] == 7
    want, got = _run(model), _run(half)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6)  # the coordinate path is exact again
    with pytest.raises(ValueError, match="unknown FP16 keep rule"):
        fp16.convert(model, keep=("everything",))


def test_scores_rule_keeps_the_prune_compare_in_fp32():
    register_schemas()
    vi = helper.make_tensor_value_info
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("MatMul", ["h", "w2"], ["l2"]),
             helper.make_node("Reshape", ["l2", "flat"], ["l"]), helper.make_node("Sigmoid", ["l"], ["p"]),
             helper.make_node("Sub", ["one", "p"], ["keep"]),
             helper.make_node("Prune", ["keep"], ["idx"], domain="tsp3d", threshold=0.5, mode=1, capacity=100)]
    inits = [_init("w", np.eye(4)), _init("w2", np.ones((4, 1))), _init("one", [1.0]),
             numpy_helper.from_array(np.array([-1], np.int64), "flat")]
    graph = helper.make_graph(nodes, "g", [vi("x", F32, ["N", 4])], [vi("idx", TensorProto.INT32, ["M"])], inits,
                              value_info=[vi(v, F32, None) for v in ("h", "l2", "l", "p", "keep")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20), helper.make_opsetid("tsp3d", 1)])
    plain, _ = fp16.convert(model, keep=())
    kept, _ = fp16.convert(model, keep=("scores",))
    for m in (plain, kept):
        onnx.checker.check_model(m, full_check=True)
    assert _types(plain)[_node(plain, "Prune").input[0]] == F16
    types = _types(kept)
    assert _node(kept, "Prune").input[0] == "keep" and types["keep"] == F32 and types["l2"] == F32
    assert types["h"] == F16  # the big layer before the logit head stays fp16


def test_weights_beyond_fp16_range_are_an_error_but_mask_sentinels_become_inf():
    with pytest.raises(ModelFormatError, match="beyond float16"):
        fp16.convert(_dense_model(w1=np.full((4, 8), 1e5)), keep=())
    sentinel = np.full((4, 8), 0.5)
    sentinel[0, 0] = -3.0e38  # e.g. finfo(float32).min used as a mask value
    half, _ = fp16.convert(_dense_model(w1=sentinel), keep=())
    w = numpy_helper.to_array(next(t for t in half.graph.initializer if t.name == "w1__fp16"))
    assert w[0, 0] == -np.inf and w[1, 1] == np.float16(0.5)


def test_voxelize_stays_fp32_by_its_schema():
    register_schemas()
    vi = helper.make_tensor_value_info
    graph = helper.make_graph(
        [helper.make_node("Voxelize", ["points"], ["coords", "first"], domain="tsp3d", voxel_size=0.1,
                          capacity=10)],
        "g", [vi("points", F32, ["N", 6])], [vi("coords", TensorProto.INT32, ["M", 4]),
                                             vi("first", TensorProto.INT32, ["M"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20), helper.make_opsetid("tsp3d", 1)])
    half, report = fp16.convert(model, keep=())
    assert _node(half, "Voxelize").input[0] == "points" and report.fp32_ops == {"Voxelize": 1}
