"""ONNX ``OpSchema`` registration for the ``tsp3d`` opset, built from ``export/opset_spec.py``.

The exporter needs a registered schema per custom op ("No schema registered for ... domain 'tsp3d'"), and
``onnx.checker`` uses it to check nodes. ``register_schemas()`` is idempotent.
"""
from __future__ import annotations

import onnx
from onnx import defs

from tsp3d.export import opset_spec as spec

_ATTR_TYPES = {"int": onnx.AttributeProto.INT, "float": onnx.AttributeProto.FLOAT}


def _formal(t: spec.TensorSpec) -> defs.OpSchema.FormalParameter:
    option = defs.OpSchema.FormalParameterOption.Optional if t.optional else defs.OpSchema.FormalParameterOption.Single
    desc = f"{t.shape} {t.doc}".strip()
    return defs.OpSchema.FormalParameter(t.name, t.type, desc, param_option=option)


def _attribute(a: spec.AttrSpec) -> defs.OpSchema.Attribute:
    desc = a.doc
    if a.required:
        return defs.OpSchema.Attribute(a.name, _ATTR_TYPES[a.type], desc, required=True)
    value = float(a.default) if a.type == "float" else int(a.default)
    return defs.OpSchema.Attribute(a.name, onnx.helper.make_attribute(a.name, value), desc)


def build_schema(op: spec.OpSpec) -> defs.OpSchema:
    used = {t.type for t in op.inputs + op.outputs if t.type in spec.TYPE_PARAMS}
    constraints = [(p, list(spec.TYPE_PARAMS[p]), f"{p} of {op.name}") for p in sorted(used)]
    return defs.OpSchema(
        op.name,
        op.domain,
        op.version,
        op.doc,
        inputs=[_formal(t) for t in op.inputs],
        outputs=[_formal(t) for t in op.outputs],
        type_constraints=constraints,
        attributes=[_attribute(a) for a in op.attributes],
        node_determinism=defs.OpSchema.NodeDeterminism.Deterministic,
    )


def is_registered(op: spec.OpSpec) -> bool:
    if not defs.has(op.name, op.domain):
        return False
    return defs.get_schema(op.name, op.version, op.domain).since_version == op.version


def register_schemas() -> list[str]:
    """Register a schema per op of the opset (skipping those already registered); return the names registered."""
    added = []
    for op in spec.OPS:
        if is_registered(op):
            continue
        defs.register_schema(build_schema(op))
        added.append(op.name)
    return added
