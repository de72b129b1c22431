"""Worst-case shape and size of every tensor of a graph, from the profile's max shapes and the size-tensor bounds.

Dimensions come from the graph's ``value_info`` (the exporter writes one for every value; missing ones are filled
by ONNX shape inference, and ``tsp3d`` op outputs by the opset's shape rules). Each symbolic dimension is bounded
by ``export.bounds``: interface dimensions by the profile maximum, data-dependent row counts by what the creating
op declares to TensorRT (``min(capacity, natural bound)``). A dimension that cannot be bounded makes its tensor
"unbounded": TensorRT could not size it either.
"""
from __future__ import annotations

from dataclasses import dataclass

from tsp3d.export.bounds import DOMAIN, DimBounds, Unbounded, graph_dims, propagate

_ELEM_BYTES = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2, 17: 1, 18: 1,
               19: 1, 20: 1, 21: 1, 22: 1, 23: 1}  # onnx.TensorProto element types (sub-byte types as 1 byte)
ELEM_NAMES = {1: "float32", 2: "uint8", 3: "int8", 6: "int32", 7: "int64", 9: "bool", 10: "float16", 16: "bfloat16"}


@dataclass
class TensorBound:
    name: str
    elem_type: int
    dims: list  # ints and symbol strings, as in the graph
    upper: list | None  # int per dim, None when unbounded
    why: str = ""  # the reason when unbounded

    @property
    def bytes(self) -> int | None:
        if self.upper is None:
            return None
        n = 1
        for d in self.upper:
            n *= max(int(d), 0)
        return n * _ELEM_BYTES.get(self.elem_type, 4)

    def shape_text(self) -> str:
        parts = []
        for d, u in zip(self.dims, self.upper or [None] * len(self.dims)):
            parts.append(str(d) if isinstance(d, int) or u is None else f"{d}<={u}")
        return "[" + ", ".join(parts) + "]"


def _infer(proto):
    import onnx

    try:
        return onnx.shape_inference.infer_shapes(proto, strict_mode=False, data_prop=True)
    except Exception:  # noqa: BLE001 - inference is a best effort; what stays unknown is reported
        return proto


def _with_shapes(proto):
    """``proto`` with a shape for every node output where the opset's rules or ONNX shape inference give one."""
    known = set(graph_dims(proto))
    if all(o in known for n in proto.graph.node for o in n.output if o):
        return proto
    _add_tsp3d_shapes(proto)
    return _infer(proto)


def _tsp3d_rule(node, ins: list) -> list:
    """Output shapes of a ``tsp3d`` node from its input shapes (docs/opset.md); new row counts get new symbols."""
    rows = f"{node.name}_rows"

    def dim(k: int, axis: int):
        return ins[k][axis] if k < len(ins) and ins[k] is not None and axis < len(ins[k]) else None

    op = node.op_type
    if op in ("Voxelize",):
        return [[rows, 4], [rows]]
    if op in ("CoordsDown", "CoordsUp"):
        return [[rows, 4]]
    if op == "Prune":
        return [[rows]]
    if op == "AppendMissing":
        return [[rows, 4], [f"{node.name}_added"]]
    if op == "KernelMap":
        k = next((a.i for a in node.attribute if a.name == "kernel_size"), 3)
        return [[dim(1, 0), k ** 3]]
    if op == "Lookup":
        return [[dim(0, 0)]]
    if op in ("SparseConv", "SparseConvInt8"):
        return [[dim(2 if op == "SparseConvInt8" else 1, 0), dim(3 if op == "SparseConvInt8" else 2, 2)]]
    if op == "SparseMaxPool":
        return [[dim(1, 0), dim(0, 1)]]
    return []


def _add_tsp3d_shapes(proto) -> None:
    """Output shapes of ``tsp3d`` nodes that lack them."""
    import onnx

    dims = graph_dims(proto)
    types = {vi.name: vi.type.tensor_type.elem_type for vi in list(proto.graph.input) + list(proto.graph.value_info)}
    for node in proto.graph.node:
        if node.domain != DOMAIN:
            continue
        for out, shape in zip(node.output, _tsp3d_rule(node, [dims.get(i) for i in node.input])):
            if not out or out in dims or None in shape:
                continue
            float_out = node.op_type in ("SparseConv", "SparseMaxPool")
            elem = types.get(node.input[0], 1) if float_out else (1 if node.op_type == "SparseConvInt8" else 6)
            proto.graph.value_info.append(onnx.helper.make_tensor_value_info(out, elem, shape))
            dims[out] = shape


def _drop_orphans(proto, b: DimBounds) -> bool:
    """Remove the value_info entries whose dims use a symbol nothing bounds (the exporter sometimes names an
    elementwise result with a fresh symbol equal to its input's at run time); shape inference then derives them
    from their inputs. Returns whether any was removed."""
    from tsp3d.export.bounds import _names

    keep, dropped = [], False
    for vi in proto.graph.value_info:
        dims = vi.type.tensor_type.shape.dim
        names = {n for d in dims if d.dim_param for n in _names(d.dim_param)}
        if names - set(b.symbols) or any(not d.dim_param and not d.HasField("dim_value") for d in dims):
            dropped = True
        else:
            keep.append(vi)
    if dropped:
        del proto.graph.value_info[:]
        proto.graph.value_info.extend(keep)
    return dropped


def _resolve_reshapes(proto, b: DimBounds) -> None:
    """Reshape to a constant shape with -1 (``x.reshape(-1)``): ONNX inference names the result with a fresh
    symbol when the input is symbolic; here it is the input's element count over the other target dims."""
    import sympy
    from onnx import numpy_helper

    from tsp3d.export.bounds import _parse

    dims = graph_dims(proto)
    consts = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    infos = {vi.name: vi for vi in proto.graph.value_info}
    for node in proto.graph.node:
        out = node.output[0] if node.output else ""
        if node.op_type != "Reshape" or out not in infos or node.input[1] not in consts or node.input[0] not in dims:
            continue
        try:
            b.upper_all(dims[out])
            continue  # already bounded
        except Exception:  # noqa: BLE001
            pass
        src = dims[node.input[0]]
        target = [int(v) for v in consts[node.input[1]].reshape(-1)]
        if None in src or target.count(-1) != 1:
            continue
        total = sympy.Integer(1)
        for d in src:
            total *= _parse(d) if isinstance(d, str) else sympy.Integer(d)
        known = sympy.Integer(1)
        new = [src[k] if t == 0 and k < len(src) else t for k, t in enumerate(target)]  # 0 copies (allowzero=0)
        for t in new:
            if t != -1:
                known *= _parse(t) if isinstance(t, str) else sympy.Integer(t)
        rest = sympy.simplify(total / known)
        shape = infos[out].type.tensor_type.shape
        for d, t in zip(shape.dim, new):
            if t == -1:
                d.dim_param = str(rest)
            elif isinstance(t, str):
                d.dim_param = t
            else:
                d.dim_value = int(t)


def _unknown(proto, b: DimBounds) -> int:
    """Node outputs without a bounded shape."""
    dims, n = graph_dims(proto), 0
    for node in proto.graph.node:
        for o in node.output:
            if not o:
                continue
            try:
                b.upper_all(dims[o])
            except (KeyError, Unbounded):
                n += 1
    return n


def _settle(proto, input_bounds: dict):
    """(proto with shapes, DimBounds, data-dependent row table) after the fewest unbounded outputs: opset rules and
    ONNX inference, then entries with unbounded symbols dropped and derived again, a few rounds."""
    import onnx

    work = onnx.ModelProto()
    work.CopyFrom(proto)
    best = None
    for _ in range(6):
        _add_tsp3d_shapes(work)
        work = _infer(work)
        b = DimBounds()
        for name, hi in input_bounds.items():
            b.set(name, int(hi), lo=1)
        rows = propagate(work, b, strict=False)
        _resolve_reshapes(work, b)
        bad = _unknown(work, b)
        if best is None or bad < best[0]:
            kept = onnx.ModelProto()
            kept.CopyFrom(work)
            best = (bad, kept, b, rows)
        if bad == 0 or not _drop_orphans(work, b):
            break
    return best[1], best[2], best[3]


def _elem_types(proto) -> dict:
    out = {t.name: t.data_type for t in proto.graph.initializer}
    for vi in list(proto.graph.input) + list(proto.graph.output) + list(proto.graph.value_info):
        out[vi.name] = vi.type.tensor_type.elem_type
    return out


def bound_tensors(proto, input_bounds: dict[str, int]) -> tuple[dict, dict]:
    """``({value: TensorBound}, {node name: data-dependent row table})`` for every node output of ``proto``.

    ``input_bounds``: maxima of the graph inputs' symbolic dimensions (the optimization profile's max shapes).
    """
    proto, b, rows = _settle(proto, input_bounds)
    dims, elems = graph_dims(proto), _elem_types(proto)
    out = {}
    for node in proto.graph.node:
        for name in node.output:
            if not name:
                continue
            if name not in dims:
                out[name] = TensorBound(name, elems.get(name, 0), [], None, "no shape (shape inference failed)")
                continue
            try:
                upper = [b.upper(d) for d in dims[name]]
                out[name] = TensorBound(name, elems.get(name, 1), dims[name], upper)
            except Unbounded as e:
                out[name] = TensorBound(name, elems.get(name, 1), dims[name], None, str(e))
    return out, rows
