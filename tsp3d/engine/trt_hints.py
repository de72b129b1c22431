"""The ``opt_rows`` build hints: the bundle's typical row counts, handed to the plugins through the ONNX parser.

The parser passes a node attribute to a plugin when the creator lists a field of that name; the data-dependent
plugins list ``opt_rows`` (plugins/trt/field_schema.h, a TensorRT build hint, not an opset attribute) and use it as
the auto-tuning value of their size tensors. ``tsp3d build-engine`` parses a copy of the graph with the hints
added; the bundle's own graphs stay checker-valid opset-v1 graphs.
"""
from __future__ import annotations

import json
from pathlib import Path

from tsp3d.export.bounds import DATA_DEPENDENT, DOMAIN, attr_int

FIELD = "opt_rows"


def typical_rows(onnx_path: Path) -> dict[str, int]:
    """``{node name: typical rows}`` from the manifest of the bundle holding ``onnx_path`` (empty when absent)."""
    manifest = Path(onnx_path).parent / "manifest.json"
    try:
        section = json.loads(manifest.read_text()).get("typical_rows") or {}
    except (OSError, json.JSONDecodeError):
        return {}
    if not section.get("measured"):
        return {}
    return {name: int(row["median"]) for name, row in section.get("nodes", {}).items()}


def with_opt_hints(proto, typical: dict[str, int]):
    """(a copy of ``proto`` whose data-dependent nodes carry ``opt_rows``, ``{node: opt_rows}`` applied).

    The hint is the typical count clamped to ``[1, capacity]``; nodes without a measurement get none (the plugin
    then tunes for its capacity)."""
    import onnx

    out = onnx.ModelProto()
    out.CopyFrom(proto)
    applied = {}
    for node in out.graph.node:
        if node.domain != DOMAIN or node.op_type not in DATA_DEPENDENT or node.name not in typical:
            continue
        cap = attr_int(node, "capacity")
        opt = max(1, min(typical[node.name], cap) if cap > 0 else typical[node.name])
        keep = [a for a in node.attribute if a.name != FIELD]
        del node.attribute[:]
        node.attribute.extend(keep + [onnx.helper.make_attribute(FIELD, int(opt))])
        applied[node.name] = int(opt)
    return out, applied
