"""The TensorRT form of the attention (tsp3d/engine/attention_chunks.py) on crafted graphs: which blocks are
rewritten, the chunk plan, the values ONNX Runtime computes before and after (n = 1, n < K, n = K, n not divisible
by K, the bound), and what check-engine reports. The exported models: tests/test_attention_chunks_model.py."""
from __future__ import annotations

import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tsp3d.engine.attention_chunks import MAX_CHUNKS, MIB, find_blocks, plan_chunks, rewrite_for_tensorrt
from tsp3d.engine.preflight import check
from tsp3d.engine.tensor_bounds import TensorBound

F = TensorProto.FLOAT
H, D, N_MAX = 2, 8, 1000
SCORES = H * N_MAX * N_MAX * 4  # the block's worst-case score tensor, float32


def _block(scale: float = 0.25, masked: bool = False, extra_reader: bool = False):
    """softmax(q k^T * scale [masked]) v over [1, H, n, D] inputs, the pattern the exporter writes."""
    nodes = [helper.make_node("Transpose", ["k"], ["kt"], name="kt", perm=[0, 1, 3, 2]),
             helper.make_node("MatMul", ["q", "kt"], ["qk"], name="qk"),
             helper.make_node("Mul", ["qk", "s"], ["scaled"], name="scale")]
    scores = "scaled"
    inputs = [helper.make_tensor_value_info(x, F, [1, H, "n", D]) for x in "qkv"]
    inits = [helper.make_tensor("s", F, [], [scale])]
    if masked:
        nodes.append(helper.make_node("Where", ["mask", "ninf", "scaled"], ["masked"], name="mask"))
        inputs.append(helper.make_tensor_value_info("mask", TensorProto.BOOL, [1, 1, 1, "n"]))
        inits.append(helper.make_tensor("ninf", F, [], [-np.inf]))
        scores = "masked"
    nodes += [helper.make_node("Softmax", [scores], ["p"], name="softmax", axis=-1),
              helper.make_node("MatMul", ["p", "v"], ["o"], name="pv")]
    outputs = [helper.make_tensor_value_info("o", F, [1, H, "n", D])]
    if extra_reader:
        nodes.append(helper.make_node("Relu", ["qk"], ["seen"], name="reader"))
        outputs.append(helper.make_tensor_value_info("seen", F, [1, H, "n", "n"]))
    info = [helper.make_tensor_value_info(v, F, [1, H, "n", "n"]) for v in ("qk", "scaled", "masked", "p")]
    graph = helper.make_graph(nodes, "attention", inputs, outputs, initializer=inits,
                              value_info=info + [helper.make_tensor_value_info("kt", F, [1, H, D, "n"])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])


def _run(proto, feeds: dict) -> list:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(proto.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, feeds)


def _feeds(n: int, seed: int = 0, masked: bool = False) -> dict:
    rng = np.random.default_rng(seed)
    feeds = {x: rng.normal(size=(1, H, n, D)).astype(np.float32) for x in "qkv"}
    if masked:
        feeds["mask"] = (rng.uniform(size=(1, 1, 1, n)) < 0.3) & (np.arange(n) > 0)  # key 0 always visible
    return feeds


def test_the_plan_is_the_fewest_chunks_that_fit():
    score = TensorBound("qk", F, [1, H, "n", "n"], [1, H, N_MAX, N_MAX])
    assert plan_chunks(score, SCORES) is None and plan_chunks(score, 0) is None  # fits / no chunks
    k, rows = plan_chunks(score, MIB)
    per_row = H * N_MAX * 4
    assert rows * per_row <= MIB < (math.ceil(N_MAX / (k - 1)) * per_row)  # fits, and one chunk fewer would not
    assert (k, rows) == (8, 125)
    assert plan_chunks(score, 1) == (MAX_CHUNKS, math.ceil(N_MAX / MAX_CHUNKS))  # capped: still over, reported
    unbounded = TensorBound("qk", F, [1, H, "n", "n"], None, "no bound")
    assert plan_chunks(unbounded, MIB) is None


@pytest.mark.parametrize("scale", [0.25, 8 ** -0.5])
def test_chunks_compute_the_same_rows(scale):
    """Every n the plan can meet: 1, fewer rows than chunks, exactly K, not divisible by K, the bound."""
    proto = _block(scale)
    engine, rw = rewrite_for_tensorrt(proto, {"n": N_MAX}, MIB)
    assert [(b.softmax, b.chunks, b.chunk_rows, b.query_rows) for b in rw.chunked] == [("softmax", 8, 125, N_MAX)]
    assert rw.scale_moved == ["softmax"] and sorted(rw.symbols.values()) == [125] * 8
    onnx.checker.check_model(engine)
    ops = [n.op_type for n in engine.graph.node]
    assert ops.count("Softmax") == 8 and ops.count("Slice") == 8 and ops.count("Concat") == 1
    mul = next(n for n in engine.graph.node if n.op_type == "Mul" and "q" in n.input)
    assert list(mul.input) == ["q", "s"]  # the scale multiplies Q before the first MatMul
    for n in (1, 3, 8, 537, 999, N_MAX):
        feeds = _feeds(n, seed=n)
        want, got = _run(proto, feeds)[0], _run(engine, feeds)[0]
        assert got.shape == want.shape == (1, H, n, D)
        err = np.abs(got - want).max() / max(1.0, np.abs(want).max())
        assert err <= 1e-6, (n, err)  # not bitwise: the GEMM kernel may sum in another order for fewer rows


def test_masked_blocks_keep_their_form_with_the_scale_on_q():
    proto = _block(8 ** -0.5, masked=True)
    engine, rw = rewrite_for_tensorrt(proto, {"n": N_MAX}, MIB)
    assert not rw.chunked and rw.scale_moved == ["softmax"]
    onnx.checker.check_model(engine)
    assert [n.op_type for n in engine.graph.node] == ["Transpose", "Mul", "MatMul", "Where", "Softmax", "MatMul"]
    feeds = _feeds(300, masked=True)
    np.testing.assert_allclose(_run(engine, feeds)[0], _run(proto, feeds)[0], rtol=0, atol=1e-6)


def test_what_is_left_alone():
    """A score tensor with another reader, a graph under the chunk budget, and chunk budget 0 (as exported)."""
    shared = _block(extra_reader=True)
    assert not find_blocks(shared.graph)
    engine, rw = rewrite_for_tensorrt(shared, {"n": N_MAX}, MIB)
    assert not rw.changed and engine.graph == shared.graph
    small, rw = rewrite_for_tensorrt(_block(), {"n": N_MAX}, SCORES)
    assert not rw.chunked and rw.scale_moved == ["softmax"]
    same, rw = rewrite_for_tensorrt(_block(), {"n": N_MAX}, 0)
    assert not rw.changed and same.graph == _block().graph


def test_check_engine_reports_before_and_after(tmp_path):
    path = tmp_path / "attention.onnx"
    onnx.save(_block(), str(path))
    plain = check(path, dims={"n": N_MAX}, chunk_mb=0)
    assert plain.memory.peak_bytes == 2 * SCORES and plain.exported_memory is None  # scores + probabilities
    r = check(path, dims={"n": N_MAX}, chunk_mb=1)
    assert all(not v["problems"] for v in r.releases.values()), r.releases  # Slice, Concat, int64 math: 10.3..11
    assert r.ok and not r.unbounded
    assert r.exported_memory.peak_bytes == 2 * SCORES
    chunk = H * 125 * N_MAX * 4
    assert r.memory.largest[0][0] == chunk and "softmax_q" in r.memory.largest[0][2]
    small = H * N_MAX * D * 4  # q scaled, k transposed, the chunks' outputs: [1, H, <= n, D] each
    assert 2 * chunk < r.memory.peak_bytes <= 2 * chunk + 3 * small
    assert len(r.memory.attention) == 8  # each chunk is a MatMul-Softmax-MatMul block


def test_blocks_without_node_names_get_distinct_chunks():
    """Two unnamed blocks in one graph: what replaces each is named after its Softmax output."""
    from onnx import compose

    one, two = _block(), compose.add_prefix(_block(), "b_")
    graph = one.graph
    for field in ("node", "input", "output", "initializer", "value_info"):
        getattr(graph, field).extend(getattr(two.graph, field))
    for n in graph.node:
        n.name = ""
    engine, rw = rewrite_for_tensorrt(one, {"n": N_MAX, "b_n": N_MAX}, MIB)
    assert [b.softmax for b in rw.chunked] == ["p", "b_p"]
    onnx.checker.check_model(engine)
    feeds = {**_feeds(77), **{f"b_{k}": v for k, v in _feeds(77, seed=1).items()}}
    for got, want in zip(_run(engine, feeds), _run(one, feeds)):
        assert np.abs(got - want).max() <= 1e-6 * max(1.0, np.abs(want).max())
