"""TensorRT's ONNX operator support, per release, and the check of one standard ONNX node against it.

The table (``data/trt_onnx_support.json``) is built by ``scripts/trt_support_table.py`` from onnx-tensorrt's
``docs/operators.md``; each release entry names the document and commit it came from. A node is checked for: the
op being supported, its version within the parser's opset range, its data type among the supported ones, and the
restrictions that can be checked from the graph ("`axes` must be an initializer", "... must be a build-time
constant", "Only the first output ... is supported"). Other restriction texts are returned as notes.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from tsp3d.errors import InputFileError, ModelFormatError

TABLE = Path(__file__).resolve().parent / "data" / "trt_onnx_support.json"
ALIASES = {"11.1": "11", "11.0": "11", "10.14.1": "10.14", "10.3.0": "10.3"}
_ELEM_TYPES = {1: "FLOAT", 2: "UINT8", 3: "INT8", 6: "INT32", 7: "INT64", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE",
               16: "BFLOAT16", 17: "FLOAT8E4M3FN", 22: "INT4", 23: "FLOAT4E2M1"}
_MUST_BE_CONSTANT = re.compile(r"`(\w+)`\s+(?:input\s+)?must be (an initializer|a constant tensor|a build-time "
                               r"constant|resolvable to a constant)")


@dataclass
class Problem:
    kind: str  # unsupported | opset | dtype | restriction | plugin | unbounded
    node: str
    message: str


@functools.lru_cache(maxsize=1)
def load_table() -> dict:
    try:
        return json.loads(TABLE.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ModelFormatError(f"cannot read the TensorRT support table {TABLE}: {e}") from e


def releases() -> list[str]:
    return list(load_table()["releases"])


def release_entry(release: str) -> dict:
    key = ALIASES.get(release, release)
    table = load_table()["releases"]
    if key not in table:
        raise InputFileError(f"no TensorRT support table for {release!r}", hint=f"use one of {', '.join(table)}")
    return table[key]


class GraphFacts:
    """What the checks need to know about the graph: producers, constants, element types, opset."""

    def __init__(self, proto):
        g = proto.graph
        self.opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
        self.initializers = {t.name for t in g.initializer}
        self.producers = {o: n for n in g.node for o in n.output if o}
        self.elem = {t.name: t.data_type for t in g.initializer}
        for vi in list(g.input) + list(g.output) + list(g.value_info):
            self.elem[vi.name] = vi.type.tensor_type.elem_type
        self.used = {i for n in g.node for i in n.input} | {o.name for o in g.output}

    def is_initializer(self, name: str) -> bool:
        p = self.producers.get(name)
        return name in self.initializers or (p is not None and p.op_type == "Constant")

    def is_constant(self, name: str, seen=None) -> bool:
        """An initializer, a Constant, or computed from constants only (what constant folding resolves)."""
        if not name or self.is_initializer(name):
            return True
        p = self.producers.get(name)
        seen = seen or set()
        if p is None or p.name in seen:
            return False
        seen.add(p.name)
        return all(self.is_constant(i, seen) for i in p.input)


def _input_names(op: str, opset: int) -> list[str]:
    from onnx import defs

    try:
        return [f.name for f in defs.get_schema(op, opset).inputs]
    except Exception:  # noqa: BLE001 - an op onnx does not know has no named inputs to check
        return []


def check_node(node, facts: GraphFacts, entry: dict) -> tuple[list[Problem], list[str]]:
    """Problems of one standard ONNX node for one release, and the restriction notes not checked."""
    from onnx import defs

    where = f"{node.op_type} node {node.name!r}"
    row = entry["ops"].get(node.op_type)
    if row is None or not row["supported"]:
        why = f" ({row['restrictions']})" if row and row["restrictions"] else ""
        return [Problem("unsupported", node.name, f"{where}: {node.op_type} is not supported{why}")], []
    problems, notes = [], []
    try:
        since = defs.get_schema(node.op_type, facts.opset).since_version
    except Exception:  # noqa: BLE001
        since = facts.opset
    if since > entry["opset_max"]:  # an op unchanged since an old opset is fine: the graph's import is checked apart
        problems.append(Problem("opset", node.name, f"{where}: {node.op_type}-{since} is outside the parser's opset "
                                                    f"range {entry['opset_min']}..{entry['opset_max']}"))
    data = node.input[1] if node.op_type == "Where" and len(node.input) > 1 else (node.input[0] if node.input else "")
    elem = _ELEM_TYPES.get(facts.elem.get(data, 0))
    if row["types"] and elem is not None and elem not in row["types"]:
        problems.append(Problem("dtype", node.name, f"{where}: input {data!r} is {elem}; TensorRT takes "
                                                    f"{', '.join(row['types'])}"))
    text = row["restrictions"]
    names = _input_names(node.op_type, facts.opset)
    for name, kind in _MUST_BE_CONSTANT.findall(text):
        if name not in names or names.index(name) >= len(node.input):
            continue
        value = node.input[names.index(name)]
        strict = kind in ("an initializer", "a constant tensor")
        ok = facts.is_initializer(value) if strict else facts.is_constant(value)
        if not ok:
            problems.append(Problem("restriction", node.name, f"{where}: `{name}` must be {kind} ({value!r} is "
                                                              f"computed at run time)"))
    if "Only the first output" in text and any(o in facts.used for o in node.output[1:]):
        problems.append(Problem("restriction", node.name, f"{where}: only its first output is supported"))
    rest = _MUST_BE_CONSTANT.sub("", text).replace("Only the first output `Y` is supported.", "").strip(" .|")
    if rest:
        notes.append(f"{node.op_type}: {text}")
    return problems, notes
