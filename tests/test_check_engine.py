"""``tsp3d check-engine`` (tsp3d/engine/preflight.py) on crafted graphs: every way it must fail, and the numbers.

No TensorRT, no GPU: the support table (tsp3d/engine/data/trt_onnx_support.json) and the plugin creators' table
stand for them. The last test checks the exported tiny bundle.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from tsp3d.engine.preflight import GIB, check, require_ok
from tsp3d.errors import ModelFormatError

REPO = Path(__file__).resolve().parents[1]
F, I32, I64 = TensorProto.FLOAT, TensorProto.INT32, TensorProto.INT64


def _save(tmp_path, nodes, inputs, outputs, value_info=(), opset=20, inits=(), name="g.onnx"):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits), value_info=list(value_info))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("tsp3d", 1)])
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def _vi(name, elem, dims):
    return helper.make_tensor_value_info(name, elem, dims)


def _kinds(report, release):
    return [p.kind for p in report.releases[release]["problems"]]


def test_a_plain_graph_passes_on_every_release(tmp_path):
    path = _save(tmp_path, [helper.make_node("Relu", ["x"], ["y"], name="relu")], [_vi("x", F, ["n", 8])],
                 [_vi("y", F, ["n", 8])])
    r = check(path, dims={"n": 100})
    assert set(r.releases) == {"10.3", "10.14", "11"}
    assert r.ok and not any(v["problems"] for v in r.releases.values())
    require_ok(r)


def test_unsupported_op(tmp_path):
    nodes = [helper.make_node("Unique", ["x"], ["y"], name="uniq", sorted=1)]
    path = _save(tmp_path, nodes, [_vi("x", F, [16])], [_vi("y", F, ["k"])])
    r = check(path, trt="10.3")
    assert "unsupported" in _kinds(r, "10.3") and not r.ok
    assert "Unique node 'uniq': Unique is not supported" in r.releases["10.3"]["problems"][0].message
    with pytest.raises(ModelFormatError, match="Unique is not supported"):
        require_ok(r)


def test_op_outside_the_opset_range(tmp_path):
    """Cast-21 (opset 21) is past 10.3's parser range (opset 9..20) but inside 11's (9..24)."""
    nodes = [helper.make_node("Cast", ["x"], ["y"], name="cast", to=I32)]
    path = _save(tmp_path, nodes, [_vi("x", F, [4])], [_vi("y", I32, [4])], opset=21)
    r = check(path)
    assert "opset" in _kinds(r, "10.3")
    assert any("Cast-21 is outside the parser's opset range 9..20" in p.message for p in r.releases["10.3"]["problems"])
    assert not r.releases["11"]["problems"]


def test_dtype_and_restriction_problems(tmp_path):
    """MatMul on int32 (TensorRT: FP32/FP16/BF16), ReduceMax whose axes are computed at run time."""
    nodes = [helper.make_node("MatMul", ["a", "a"], ["m"], name="mm"),
             helper.make_node("Shape", ["x"], ["axes_full"], name="shape"),
             helper.make_node("Slice", ["axes_full", "zero", "one"], ["axes"], name="slice"),
             helper.make_node("ReduceMax", ["x", "axes"], ["r"], name="rmax", keepdims=0)]
    inits = [helper.make_tensor("zero", I64, [1], [0]), helper.make_tensor("one", I64, [1], [1])]
    path = _save(tmp_path, nodes, [_vi("a", I32, [4, 4]), _vi("x", F, [3, 5])],
                 [_vi("m", I32, [4, 4]), _vi("r", F, [5])], value_info=[_vi("axes", I64, [1])], opset=20, inits=inits)
    r = check(path, trt="10.14")
    msgs = [p.message for p in r.releases["10.14"]["problems"]]
    assert any("MatMul node 'mm': input 'a' is INT32" in m for m in msgs), msgs
    assert any("ReduceMax node 'rmax': `axes` must be an initializer" in m for m in msgs), msgs


def test_unbounded_tensor(tmp_path):
    """An input dimension without a profile bound: no worst case, the check fails and names the tensor."""
    path = _save(tmp_path, [helper.make_node("Relu", ["x"], ["y"], name="relu")], [_vi("x", F, ["n", 8])],
                 [_vi("y", F, ["n", 8])], value_info=[])
    r = check(path, trt="11")
    assert r.unbounded and "no bound for the symbol 'n'" in r.unbounded[0].message and not r.ok


def test_plugin_fields_against_the_creators(tmp_path):
    prune = helper.make_node("Prune", ["s"], ["idx"], name="tgp", domain="tsp3d", threshold=0.5, mode=1, min_keep=1,
                             capacity=100, colour=3)
    ghost = helper.make_node("Densify", ["s"], ["d"], name="ghost", domain="tsp3d")
    no_threshold = helper.make_node("Prune", ["s"], ["idx2"], name="tgp2", domain="tsp3d", capacity=100)
    path = _save(tmp_path, [prune, ghost, no_threshold], [_vi("s", F, ["n"])],
                 [_vi("idx", I32, ["m"]), _vi("d", F, ["n"]), _vi("idx2", I32, ["m2"])])
    r = check(path, trt="10.3", dims={"n": 500})
    msgs = [p.message for p in r.releases["10.3"]["problems"]]
    assert any("Prune node 'tgp': attribute 'colour' is not a field of the creator" in m for m in msgs), msgs
    assert any("Densify node 'ghost': no plugin creator 'Densify'" in m for m in msgs), msgs
    assert any("Prune node 'tgp2': required attribute 'threshold' is missing" in m for m in msgs), msgs
    assert len([m for m in msgs if "'tgp'" in m]) == 1  # the valid attributes pass


def test_size_tensor_bounds_chain(tmp_path):
    """Voxelize (capacity 300 of 1000 points) -> Prune (capacity 0: natural bound) -> CoordsUp (27 N, capacity 5000)."""
    nodes = [helper.make_node("Voxelize", ["p"], ["c", "first"], name="vox", domain="tsp3d", voxel_size=0.1,
                              capacity=300),
             helper.make_node("Cast", ["first"], ["score"], name="cast", to=F),
             helper.make_node("Prune", ["score"], ["idx"], name="prune", domain="tsp3d", threshold=0.5, capacity=0),
             helper.make_node("Gather", ["c", "idx"], ["kept"], name="gather", axis=0),
             helper.make_node("CoordsUp", ["kept"], ["up"], name="up", domain="tsp3d", stride=2, capacity=5000)]
    vi = [_vi("c", I32, ["u0", 4]), _vi("first", I32, ["u0"]), _vi("score", F, ["u0"]), _vi("idx", I32, ["u1"]),
          _vi("kept", I32, ["u1", 4])]
    path = _save(tmp_path, nodes, [_vi("p", F, ["points", 6])], [_vi("up", I32, ["u2", 4])], value_info=vi)
    r = check(path, trt="11", dims={"points": 1000})
    assert r.ok, r.unbounded
    shapes = {v: sh for _, v, sh, _, _ in r.memory.largest}
    assert shapes["c"] == "[u0<=300, 4]" and shapes["kept"] == "[u1<=300, 4]"
    assert r.memory.io_bytes == 1000 * 6 * 4 + 5000 * 4 * 4  # CoordsUp: min(5000, 27 * 300)


def _attention(tmp_path, n_max: int):
    """softmax(x x^T * s) x over n rows of 16 channels: a [n, n] score tensor."""
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], name="t", perm=[1, 0]),
             helper.make_node("MatMul", ["x", "xt"], ["qk"], name="qk"),
             helper.make_node("Mul", ["qk", "scale"], ["scaled"], name="scale"),
             helper.make_node("Softmax", ["scaled"], ["w"], name="softmax", axis=-1),
             helper.make_node("MatMul", ["w", "x"], ["y"], name="av")]
    vi = [_vi("xt", F, [16, "n"]), _vi("qk", F, ["n", "n"]), _vi("scaled", F, ["n", "n"]), _vi("w", F, ["n", "n"])]
    inits = [helper.make_tensor("scale", F, [], [0.25])]
    return _save(tmp_path, nodes, [_vi("x", F, ["n", 16])], [_vi("y", F, ["n", 16])], value_info=vi, inits=inits)


def test_attention_scores_and_the_budget(tmp_path):
    path = _attention(tmp_path, 1000)
    score = 1000 * 1000 * 4
    r = check(path, trt="10.3", dims={"n": 1000}, chunk_mb=0)  # the graph as exported
    # Peak: qk and scaled live together at the Mul (xt died at the first MatMul; x is an input, y an output).
    assert r.memory.peak_bytes == 2 * score and r.memory.peak_node == "scale"
    assert [a.softmax for a in r.memory.attention] == ["softmax"]
    assert r.memory.attention[0].scores == ["qk", "scaled", "w"] and r.memory.attention[0].bytes == 3 * score
    assert r.memory.peak_if_fused == 16 * 1000 * 4
    assert r.memory.largest[0][0] == score and r.ok
    small = check(path, trt="10.3", dims={"n": 1000}, budget_gb=score * 1.5 / GIB, chunk_mb=0)
    assert small.over_budget and not small.ok
    with pytest.raises(ModelFormatError, match="exceeds the budget"):
        require_ok(small)


def test_cli_prints_the_report_and_fails(tmp_path):
    path = _attention(tmp_path, 1000)
    out = tmp_path / "report.json"
    r = subprocess.run([sys.executable, "-m", "tsp3d.cli", "check-engine", str(path), "--dim", "n=1000",
                        "--budget-gb", "0.001", "--json", str(out)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode != 0, r.stdout + r.stderr
    assert "verdict: FAIL" in r.stdout and "worst-case activation memory" in r.stdout
    assert r.stderr.strip().splitlines()[0].startswith("error: the engine would not build or not fit")
    data = json.loads(out.read_text())
    assert data["ok"] is False and data["memory"]["attention"][0]["softmax"] == "softmax"
    bad = subprocess.run([sys.executable, "-m", "tsp3d.cli", "check-engine", str(path), "--dim", "n"],
                         capture_output=True, text=True, cwd=REPO)
    assert bad.returncode != 0 and "--dim expects NAME=MAX" in bad.stderr
    for args, fragment in ((["--trt", "9.0"], "no TensorRT support table for '9.0'"),
                           (["--graph", "neck"], "--graph must be single, backbone or head")):
        r = subprocess.run([sys.executable, "-m", "tsp3d.cli", "check-engine", str(path), *args],
                           capture_output=True, text=True, cwd=REPO)
        assert r.returncode != 0 and fragment in r.stderr, r.stderr


@pytest.mark.slow
def test_the_exported_bundle_builds_and_fits_on_every_release():
    """The tiny bundle: every op supported on 10.3, 10.14 and 11 or one of our plugins, every tensor bounded, the
    attention over up_s32 voxels the largest tensors, within 4 GiB; no ArgMax (the top-1 rule, top1.py)."""
    from test_export_shared import shared_bundle, tiny_checkpoint
    from tsp3d.checkpoint import load_checkpoint

    for precision in ("fp32", "fp16"):
        r = check(shared_bundle(), precision=precision)
        assert r.ok and not r.unbounded, [p.message for v in r.releases.values() for p in v["problems"]]
        assert r.plugin_nodes > 40 and r.memory.attention
    caps = load_checkpoint(tiny_checkpoint()).config.capacities
    score = 4 * caps.up_s32 ** 2 * 4  # [1, heads=4, up_s32, up_s32] float32
    fp32 = check(shared_bundle(), chunk_mb=0)  # as exported (chunked: tests/test_attention_chunks_model.py)
    assert fp32.memory.largest[0][0] == score and fp32.memory.peak_bytes < 4 * GIB
    ops = {n.op_type for n in onnx.load(str(shared_bundle() / "model.onnx"), load_external_data=False).graph.node}
    assert "ArgMax" not in ops


def test_support_table_script_reads_operators_md(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("trt_support_table", REPO / "scripts" / "trt_support_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    text = ("# Supported ONNX Operators\n\nTensorRT 10.9 supports operators in the inclusive range of opset 9 to "
            "opset 22. Latest ...\n\n## Operator Support Matrix\n\n| Operator | Supported | Supported Types | "
            "Restrictions |\n|---|---|---|---|\n| Abs | Y | FP32, FP16, INT32 |\n| Bernoulli | N |\n"
            "| DynamicQuantizeLinear | N | Not supported. Use a local function.\n"
            "| ReduceMax | Y | FP32, BF16 | `axes` must be an initializer |\n")
    entry = mod.build_entry(text, document="10.9-GA", source="test", note="")
    assert (entry["header_release"], entry["opset_min"], entry["opset_max"]) == ("10.9", 9, 22)
    assert entry["ops"]["Abs"] == {"supported": True, "types": ["FLOAT", "FLOAT16", "INT32"], "restrictions": ""}
    assert not entry["ops"]["Bernoulli"]["supported"]
    assert entry["ops"]["DynamicQuantizeLinear"]["restrictions"].startswith("Not supported")
    assert entry["ops"]["ReduceMax"]["restrictions"] == "`axes` must be an initializer"
    with pytest.raises(ValueError, match="header"):
        mod.build_entry("no table here", document="x", source="y", note="")
    committed = json.loads((REPO / "tsp3d" / "engine" / "data" / "trt_onnx_support.json").read_text())
    assert mod.dump(committed) == (REPO / "tsp3d" / "engine" / "data" / "trt_onnx_support.json").read_text()
