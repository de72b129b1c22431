"""Plugin nodes against the creators of ``libtsp3d_trt.so``: what the ONNX parser's fallback importer would find.

The parser imports a node it has no importer for as a plugin: it looks the creator up by op type, the node's
``plugin_version`` attribute (default "1") and ``plugin_namespace`` (default ""), and passes a node attribute to
the plugin only when the creator lists a field of that name (others are dropped silently). The creators' table
(``data/trt_plugin_creators.json``) is the library's own ``getCreators`` output, dumped by
``tsp3d_trt_dump_creators`` (tests/test_trt_plugins.py keeps the copy in sync); required attributes come from the
opset table (export/opset_spec.py).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

from tsp3d.engine.trt_support import Problem
from tsp3d.errors import ModelFormatError

TABLE = Path(__file__).resolve().parent / "data" / "trt_plugin_creators.json"
PARSER_ATTRIBUTES = {"plugin_version", "plugin_namespace", "tensorrt_plugin_shape_input_indices"}
_FIELD_TYPES = {"int32": 2, "int64": 2, "float32": 1, "float64": 1}  # onnx.AttributeProto: INT 2, FLOAT 1


@functools.lru_cache(maxsize=1)
def creators() -> dict:
    """``{(name, version, namespace): {field name: type}}``."""
    try:
        data = json.loads(TABLE.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ModelFormatError(f"cannot read the plugin creators table {TABLE}: {e}") from e
    return {(c["name"], c["version"], c["namespace"]): {f["name"]: f["type"] for f in c["fields"]}
            for c in data["creators"]}


def _required(op: str) -> list[str]:
    from tsp3d.export import opset_spec

    try:
        return [a.name for a in opset_spec.get(op).attributes if a.required]
    except KeyError:
        return []


def check_plugin_node(node) -> list[Problem]:
    from onnx import helper

    attrs = {a.name: a for a in node.attribute}
    version = helper.get_attribute_value(attrs["plugin_version"]).decode() if "plugin_version" in attrs else "1"
    namespace = helper.get_attribute_value(attrs["plugin_namespace"]).decode() if "plugin_namespace" in attrs else ""
    where = f"{node.op_type} node {node.name!r}"
    fields = creators().get((node.op_type, version, namespace))
    if fields is None:
        return [Problem("plugin", node.name, f"{where}: no plugin creator {node.op_type!r} version {version!r} "
                                             f"namespace {namespace!r} in libtsp3d_trt.so (not an op TensorRT or "
                                             f"our plugins know)")]
    problems = []
    for name, attr in attrs.items():
        if name in PARSER_ATTRIBUTES:
            continue
        if name not in fields:
            problems.append(Problem("plugin", node.name, f"{where}: attribute {name!r} is not a field of the "
                                                         f"creator (the parser would drop it; fields: "
                                                         f"{', '.join(fields) or 'none'})"))
        elif attr.type != _FIELD_TYPES.get(fields[name]):
            problems.append(Problem("plugin", node.name, f"{where}: attribute {name!r} has ONNX type "
                                                         f"{attr.type}, the creator's field is {fields[name]}"))
    for name in _required(node.op_type):
        if name not in attrs:
            problems.append(Problem("plugin", node.name, f"{where}: required attribute {name!r} is missing"))
    return problems
