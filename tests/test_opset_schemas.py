"""The tsp3d opset table (export/opset_spec.py) and its ONNX schemas (export/schemas.py) against docs/opset.md."""
from __future__ import annotations

import re
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from tsp3d.export import opset_spec as spec
from tsp3d.export import register_schemas

DOC = Path(__file__).resolve().parents[1] / "docs" / "opset.md"
CHECK_ERRORS = (onnx.checker.ValidationError, onnx.shape_inference.InferenceError)
ELEM = {spec.INT32: TensorProto.INT32, spec.INT8: TensorProto.INT8, spec.FLOAT: TensorProto.FLOAT,
        spec.FLOAT16: TensorProto.FLOAT16}


def _doc_ops() -> list[str]:
    return re.findall(r"^### (\w+)\s*$", DOC.read_text(), flags=re.M)


def _valid_attrs(op: spec.OpSpec) -> dict:
    out = {}
    for a in op.attributes:
        if not a.required:
            out[a.name] = a.default
        elif a.choices:
            out[a.name] = a.choices[-1]
        elif a.type == "float":
            out[a.name] = 0.5
        else:
            out[a.name] = 2
    return out


def _one_node_model(op: spec.OpSpec, elem: str = spec.FLOAT, attrs: dict | None = None, drop_optional=False):
    def vi(t: spec.TensorSpec, rank_hint: str):
        ty = elem if t.type in spec.TYPE_PARAMS else t.type
        rank = 0 if t.shape == "[]" else t.shape.count(",") + 1
        return helper.make_tensor_value_info(f"{rank_hint}_{t.name}", ELEM[ty], [None] * rank)

    inputs = [t for t in op.inputs if not (drop_optional and t.optional)]
    node = helper.make_node(
        op.name, [f"i_{t.name}" for t in inputs], [f"o_{t.name}" for t in op.outputs], domain=spec.DOMAIN,
        name=f"{op.name.lower()}_0", **(attrs if attrs is not None else _valid_attrs(op)),
    )
    graph = helper.make_graph([node], op.name, [vi(t, "i") for t in inputs], [vi(t, "o") for t in op.outputs])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                   helper.make_opsetid(spec.DOMAIN, spec.VERSION)])


def test_every_documented_op_has_a_spec_and_vice_versa():
    documented = _doc_ops()
    assert len(documented) >= 10, "docs/opset.md headings not found"
    assert sorted(documented) == sorted(spec.OPS_BY_NAME)


def test_register_is_idempotent():
    register_schemas()
    assert register_schemas() == []
    for op in spec.OPS:
        s = onnx.defs.get_schema(op.name, spec.VERSION, spec.DOMAIN)
        assert [i.name for i in s.inputs] == [t.name for t in op.inputs]
        assert [o.name for o in s.outputs] == [t.name for t in op.outputs]
        assert sorted(s.attributes) == sorted(a.name for a in op.attributes)
        for a in op.attributes:
            assert s.attributes[a.name].required == a.required


@pytest.mark.parametrize("name", [op.name for op in spec.OPS])
def test_one_node_model_passes_full_check(name):
    register_schemas()
    op = spec.get(name)
    for elem in ({spec.FLOAT, spec.FLOAT16} if any(t.type == "T" for t in op.inputs) else {spec.FLOAT}):
        onnx.checker.check_model(_one_node_model(op, elem), full_check=True)
    if any(t.optional for t in op.inputs):
        onnx.checker.check_model(_one_node_model(op, drop_optional=True), full_check=True)


def test_checker_rejects_wrong_types_and_missing_attributes():
    register_schemas()
    conv = spec.get("SparseConv")
    bad = _one_node_model(conv)
    bad.graph.input[1].type.tensor_type.elem_type = TensorProto.INT64  # nbr must be int32
    with pytest.raises(CHECK_ERRORS, match="nbr"):
        onnx.checker.check_model(bad, full_check=True)
    km = spec.get("KernelMap")
    missing = _one_node_model(km, attrs={"kernel_size": 3})  # offset_stride is required
    with pytest.raises(CHECK_ERRORS, match="offset_stride"):
        onnx.checker.check_model(missing, full_check=True)


def test_attribute_checks():
    up = spec.get("CoordsUp").attribute("stride")
    assert up.check(4) is None
    assert "multiple of 2" in up.check(3)
    assert ">= 2" in up.check(0)
    vs = spec.get("Voxelize").attribute("voxel_size")
    assert "> 0" in vs.check(0.0) and vs.check(0.01) is None
    ks = spec.get("KernelMap").attribute("kernel_size")
    assert "one of" in ks.check(4) and ks.check(2) is None
    assert "must be an int" in spec.get("Prune").attribute("min_keep").check(1.5)


def test_tolerances_cover_every_float_output():
    for op in spec.OPS:
        for out in op.outputs:
            if out.is_index:
                assert op.tolerance(out.name, spec.FLOAT) == spec.EXACT
                continue
            types = spec.TYPE_PARAMS.get(out.type, (out.type,))
            for t in types:
                tol = op.tolerance(out.name, t)
                assert 0 <= tol.rtol < 0.01 and 0 <= tol.atol < 0.01
