"""Upper bounds of the symbolic dimensions of an exported graph, and of every data-dependent row count in it.

The exporter names every data-dependent size with a symbol (``u7``) or an expression of symbols (``u10 + u13``)
in the graph's ``value_info``; the interface dimensions have their own names (``points``, ``tokens``, ``v1``...).
``DimBounds`` evaluates any such dimension to an interval from the bounds of its symbols. ``propagate`` walks the
graph in topological order and gives each row count created by a ``tsp3d`` op the bound that op declares
(``row_bounds``): ``min(capacity, natural bound)``, the natural bound computed from the bounds of its inputs,
exactly as the TensorRT plugins declare it (plugins/trt/op_helpers.cpp ``declare_rows``).

``tighten_capacities`` (export) writes those bounds back as the nodes' ``capacity`` attributes, so each node
carries the tightest bound the config implies; ``tsp3d check-engine`` uses the same pass for worst-case sizes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tsp3d.errors import CapacityError

DOMAIN = "tsp3d"
DATA_DEPENDENT = ("Voxelize", "CoordsDown", "CoordsUp", "Prune", "AppendMissing")
INT32_MAX = 2**31 - 1


class Unbounded(ValueError):
    """A dimension whose upper bound cannot be derived (unknown symbol, or an expression that is not monotone)."""


@dataclass
class DimBounds:
    """Intervals of symbols (``{name: (lo, hi)}``) and pinned bounds of whole expressions (``{"u10 + u13": hi}``)."""

    symbols: dict = field(default_factory=dict)
    pinned: dict = field(default_factory=dict)

    def set(self, name: str, hi: int, lo: int = 0) -> None:
        self.symbols[name] = (int(lo), int(hi))

    def pin(self, expr: str, hi: int) -> None:
        self.pinned[_canonical(expr)] = int(hi)

    def upper(self, dim) -> int:
        """The upper bound of ``dim`` (an int, a symbol or an expression); ``Unbounded`` when there is none."""
        if dim is None:
            raise Unbounded("a dimension of unknown size")
        if isinstance(dim, int):
            return dim
        key = _canonical(dim)
        hi = self.interval(dim)[1]
        return min(hi, self.pinned[key]) if key in self.pinned else hi

    def upper_all(self, dims: list) -> list[int]:
        return [self.upper(d) for d in dims]

    def interval(self, dim) -> tuple[int, int]:
        if isinstance(dim, int):
            return dim, dim
        expr = _parse(dim)
        return _interval(expr, self, dim)


def _canonical(expr: str) -> str:
    return str(_parse(expr))


def _parse(text: str):
    import sympy

    functions = {"Max", "Min", "floor", "ceiling", "Mod", "FloorDiv", "CeilDiv"}
    try:
        return sympy.sympify(text, locals={n: sympy.Symbol(n) for n in _names(text) if n not in functions})
    except (sympy.SympifyError, SyntaxError, TypeError) as e:
        raise Unbounded(f"cannot read the dimension {text!r}: {e}") from None


def _names(text: str) -> list[str]:
    import re

    return re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)


def _interval(expr, b: DimBounds, text: str) -> tuple[int, int]:
    """Interval arithmetic over the operations the exporter writes (+, *, constants, floor, ceiling, Max, Min, Mod)."""
    import sympy

    if expr.is_Integer:
        return int(expr), int(expr)
    if expr.is_Symbol:
        if expr.name not in b.symbols:
            raise Unbounded(f"no bound for the symbol {expr.name!r} (in {text!r})")
        return b.symbols[expr.name]
    parts = [_interval(a, b, text) for a in expr.args]
    if expr.is_Add:
        return sum(p[0] for p in parts), sum(p[1] for p in parts)
    if expr.is_Mul:
        lo, hi = parts[0]
        for p in parts[1:]:
            corners = [lo * p[0], lo * p[1], hi * p[0], hi * p[1]]
            lo, hi = min(corners), max(corners)
        return lo, hi
    if isinstance(expr, (sympy.floor, sympy.ceiling)):
        return parts[0]  # the argument was an integer division of non-negative integers: its bounds still hold
    if isinstance(expr, sympy.Max):
        return max(p[0] for p in parts), max(p[1] for p in parts)
    if isinstance(expr, sympy.Min):
        return min(p[0] for p in parts), min(p[1] for p in parts)
    if isinstance(expr, sympy.Mod):
        return 0, max(parts[1][1] - 1, 0)
    if expr.is_Rational:
        return int(sympy.floor(expr)), int(sympy.ceiling(expr))
    raise Unbounded(f"cannot bound the dimension {text!r} ({type(expr).__name__} is not handled)")


# ---------------------------------------------------------------- the ops that create rows


def row_bounds(op: str, capacity: int, input_rows: list[int]) -> list[int]:
    """Upper bounds of the data-dependent output rows of one node (the plugins' ``declare_rows``).

    ``input_rows``: upper bounds of the rows of the node's inputs. Returns one bound per data-dependent output
    extent: Voxelize/CoordsDown/CoordsUp/Prune: ``[M]``; AppendMissing: ``[Na + Mb, Mb]``.
    """
    cap = capacity if capacity > 0 else None

    def capped(natural: int) -> int:
        return min(natural, cap) if cap is not None else natural

    if op in ("Voxelize", "CoordsDown", "Prune"):
        return [capped(input_rows[0])]
    if op == "CoordsUp":
        return [capped(27 * input_rows[0])]
    if op == "AppendMissing":
        na, nb = input_rows
        return [capped(na + nb), capped(nb)]
    raise ValueError(f"{op} creates no data-dependent rows")


def graph_dims(proto) -> dict:
    """``{value name: [dim, ...]}`` for every value with a shape in ``proto``: ints, symbol strings, and None for a
    dimension the graph leaves unknown."""
    out = {}
    g = proto.graph
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            out[vi.name] = [d.dim_param if d.dim_param else int(d.dim_value) if d.HasField("dim_value") else None
                            for d in t.shape.dim]
    return out


def attr_int(node, name: str, default: int = 0) -> int:
    for a in node.attribute:
        if a.name == name:
            return int(a.i)
    return default


def propagate(proto, bounds: DimBounds, strict: bool = True) -> dict:
    """Bound every data-dependent row count of ``proto`` (nodes in topological order).

    ``bounds`` holds the interface symbols (``points``, ``tokens``, ...) and receives the new ones. Returns
    ``{node name: {"op", "capacity", "natural", "bounds": [...]}}`` where ``natural`` is the bound without the
    capacity attribute. A node whose input rows have no bound raises ``Unbounded`` naming it, or with
    ``strict=False`` gets ``"bounds": None`` (and its outputs stay unbounded).
    """
    dims = graph_dims(proto)
    out = {}
    for node in proto.graph.node:
        if node.domain != DOMAIN or node.op_type not in DATA_DEPENDENT:
            continue
        try:
            rows = [bounds.upper(dims[i][0]) for i in node.input]
        except (KeyError, Unbounded) as e:
            why = f"input {e.args[0]!r} has no shape" if isinstance(e, KeyError) else str(e)
            if strict:
                raise Unbounded(f"{node.op_type} node {node.name!r}: {why}") from None
            out[node.name] = {"op": node.op_type, "capacity": attr_int(node, "capacity"), "natural": None,
                              "bounds": None, "why": why}
            continue
        cap = attr_int(node, "capacity")
        natural = row_bounds(node.op_type, 0, rows)
        result = row_bounds(node.op_type, cap, rows)
        extents = [dims.get(node.output[0], [None])[0]]
        if node.op_type == "AppendMissing":
            extents.append(dims.get(node.output[1], [None])[0])
        for extent, hi in zip(extents, result):
            if isinstance(extent, str):
                if extent in bounds.symbols or not extent.isidentifier():
                    bounds.pin(extent, hi)
                else:
                    bounds.set(extent, hi)
        out[node.name] = {"op": node.op_type, "capacity": cap, "natural": natural, "bounds": result}
    return out


def tighten_capacities(proto, input_bounds: dict[str, int]) -> dict:
    """Set every data-dependent node's ``capacity`` to its tightest bound, ``min(capacity, natural bound)``.

    ``input_bounds``: upper bounds of the graph's input dimensions (``{"points": max_points}``). A node whose
    bound does not fit int32 (TensorRT reads attributes as int32) is a ``CapacityError``. Returns ``propagate``'s
    table (with the new capacities).
    """
    import onnx

    b = DimBounds()
    for name, hi in input_bounds.items():
        b.set(name, hi, lo=1)
    table = propagate(proto, b, strict=False)  # an unbounded input (e.g. cba_coords) keeps the node's capacity
    by_name = {n.name: n for n in proto.graph.node}
    for name, row in table.items():
        if row["bounds"] is None:
            continue
        tight = row["bounds"][0]
        if tight > INT32_MAX:
            raise CapacityError(f"{row['op']} node {name!r}: its bound {tight} exceeds 2^31-1 (TensorRT reads int32)",
                                hint="lower the model config's capacities")
        node = by_name[name]
        keep = [a for a in node.attribute if a.name != "capacity"]
        del node.attribute[:]
        node.attribute.extend(keep + [onnx.helper.make_attribute("capacity", int(tight))])
        row["capacity"] = int(tight)
    return table
