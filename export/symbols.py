"""One name per symbolic dimension across a whole exported graph.

The exporter writes its own symbols (``s57``, ``u4``) everywhere; ``graph._name_dims`` gives the interface values
documented names (``tokens``, ``v1``). These helpers carry those names into every ``value_info`` entry too, so a
dimension has the same name wherever it appears, including values that stop being graph outputs in the single
graph (the levels) or start being inputs in the head graph: bounds and profiles then line up by name.
"""
from __future__ import annotations

import re

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def dims_of(value_info) -> list:
    return [d.dim_param if d.dim_param else int(d.dim_value) for d in value_info.type.tensor_type.shape.dim]


def interface_renames(proto, wanted: dict[str, list]) -> dict[str, str]:
    """``{exporter symbol: documented name}`` from the interface values' current and ``wanted`` dims.

    A symbol that would get two different names keeps its own (the graph stays consistent either way).
    """
    out, clash = {}, set()
    for vi in list(proto.graph.input) + list(proto.graph.output):
        want = wanted.get(vi.name)
        if want is None or not vi.type.tensor_type.HasField("shape"):
            continue
        for have, new in zip(dims_of(vi), want):
            if isinstance(have, str) and isinstance(new, str) and _IDENT.fullmatch(have) and have != new:
                if out.get(have, new) != new:
                    clash.add(have)
                out[have] = new
    return {k: v for k, v in out.items() if k not in clash}


def rename_symbols(proto, renames: dict[str, str]) -> None:
    """Replace the symbols ``renames`` (whole identifiers, also inside expressions) in every value_info."""
    if not renames:
        return

    def sub(text: str) -> str:
        return _IDENT.sub(lambda m: renames.get(m.group(0), m.group(0)), text)

    for vi in proto.graph.value_info:
        for d in vi.type.tensor_type.shape.dim:
            if d.dim_param:
                d.dim_param = sub(d.dim_param)
