"""A real FP16 graph: weights and activations in float16, with named regions kept in float32.

TensorRT 11 is strongly typed (precision comes from the graph's types, builder flags are gone), so the exporter
writes the types itself. Every node computes in float16 unless a *keep rule* puts it in float32; a float value
crossing between the two gets one ``Cast`` (cached per value), float32 initializers read by float16 nodes get a
float16 copy. Rules are structural (found by walking the graph from its interface and its ``Prune``/``ArgMax``
nodes), not name patterns, so they survive module renames. Which rules are on by default, and why, is measured:
docs/export.md ("FP16").

The graph interface stays as in FP32: ``points``/``text_feats`` float32 in, ``center``/``size``/``score`` float32
out; the backbone levels' features (the split form's hand-over) become float16.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from tsp3d.errors import ModelFormatError

# Ops that do real arithmetic on many values: FP32 regions stop at them (and may include the first one).
HEAVY = {"SparseConv", "SparseMaxPool", "Conv", "MatMul", "Gemm", "LayerNormalization", "Softmax"}
# Ops that take a float input of any type as is (no Cast needed in front of them).
ANY_FLOAT_INPUT = {"Shape", "Size", "Cast"}
# float32 outputs of the graph (the box); other float outputs (backbone level features) become float16.
FP32_OUTPUTS = ("center", "size", "score")
FP16_MAX = 65504.0
MASK_SENTINEL = 1e30  # |x| >= this in a constant is a mask value (e.g. -inf, finfo.min): it becomes +-inf

RULES = {
    "points": "Voxelize and the point features (x, y, z in metres, normalised colours) up to the stem conv",
    "stem": "the stem sparse conv, which reads x, y, z in metres",
    "coordinates": "float values computed from integer voxel coordinates (corners in metres for position "
                   "embeddings and box decoding), up to and including the first layer that reads them",
    "scores": "TGP/CBA scores: the logit head (Cout=1), sigmoid, 1 - p, and the threshold compare in Prune",
    "box": "top-1 selection and box decoding: cls/bbox heads, ArgMax, corner + offset, exp(log size), sigmoid",
    "softmax": "every attention Softmax",
    "layernorm": "every LayerNormalization",
}
# Measured (docs/export.md): see ``tsp3d.bench.fp16_study`` for the sweep that chose these.
DEFAULT_KEEP = ("points", "stem", "coordinates", "scores", "box")

FLOAT, FLOAT16 = 1, 10  # onnx.TensorProto.FLOAT / FLOAT16


@dataclass
class Fp16Report:
    keep: tuple[str, ...]
    nodes_fp16: int = 0
    nodes_fp32: int = 0  # nodes with float data that compute in float32
    casts: int = 0
    fp32_by_rule: dict = field(default_factory=dict)  # rule -> node count
    fp32_ops: dict = field(default_factory=dict)  # op type -> count of float32 nodes

    def to_dict(self) -> dict:
        return dict(self.__dict__, keep=list(self.keep))


class _Graph:
    """Producer/consumer maps and the original element type of every value."""

    def __init__(self, graph):
        self.graph = graph
        self.producer = {o: n for n in graph.node for o in n.output if o}
        self.consumers = defaultdict(list)
        for n in graph.node:
            for i in n.input:
                if i:
                    self.consumers[i].append(n)
        self.types = {v.name: v.type.tensor_type.elem_type
                      for v in list(graph.input) + list(graph.output) + list(graph.value_info)}
        self.types.update({t.name: t.data_type for t in graph.initializer})
        untyped = [o for n in graph.node for o in n.output if o and o not in self.types]
        if untyped:
            raise ModelFormatError(f"FP16 conversion needs the type of every value; missing: {untyped[:5]}")

    def is_float(self, value: str) -> bool:
        return bool(value) and self.types.get(value) == FLOAT

    def walk_back(self, start: str, include_heavy: bool, out: set) -> None:
        """Mark the light nodes computing ``start`` (through float values), stopping at heavy ones."""
        stack = [start]
        while stack:
            node = self.producer.get(stack.pop())
            if node is None or id(node) in out:
                continue
            if node.op_type in HEAVY:
                if include_heavy:
                    out.add(id(node))
                continue
            out.add(id(node))
            stack.extend(i for i in node.input if self.is_float(i))

    def walk_forward(self, starts: list[str], include_heavy: bool, out: set) -> None:
        """Mark the light nodes reading ``starts`` (through float values), stopping at heavy ones."""
        stack, seen = list(starts), set()
        while stack:
            value = stack.pop()
            for node in self.consumers.get(value, []):
                if id(node) in seen:
                    continue
                seen.add(id(node))
                if node.op_type in HEAVY:
                    if include_heavy:
                        out.add(id(node))
                    continue
                out.add(id(node))
                stack.extend(o for o in node.output if self.is_float(o))


def _rule_nodes(g: _Graph, rule: str) -> set:
    out: set = set()
    nodes = g.graph.node
    if rule in ("points", "stem"):
        g.walk_forward(["points"], include_heavy=False, out=out)
        if rule == "stem":  # the heavy nodes right after the point features
            light, out = out, set()
            for n in nodes:
                if id(n) in light:
                    out |= {id(c) for o in n.output for c in g.consumers.get(o, []) if c.op_type in HEAVY}
    elif rule == "coordinates":
        starts = [n.output[0] for n in nodes if n.op_type == "Cast" and g.types.get(n.input[0]) != FLOAT
                  and g.is_float(n.output[0])]
        g.walk_forward(starts, include_heavy=True, out=out)
        out |= {id(g.producer[s]) for s in starts}
    elif rule == "scores":
        for n in nodes:
            if n.op_type == "Prune":  # the compare itself, on float32 scores
                out.add(id(n))
                g.walk_back(n.input[0], include_heavy=True, out=out)
    elif rule == "box":
        starts = [o.name for o in g.graph.output if o.name in FP32_OUTPUTS]
        starts += [n.input[0] for n in nodes if n.op_type == "ArgMax"]
        for s in starts:
            g.walk_back(s, include_heavy=True, out=out)
        out |= {id(n) for n in nodes if n.op_type == "ArgMax"}
    elif rule == "softmax":
        out = {id(n) for n in nodes if n.op_type == "Softmax"}
    elif rule == "layernorm":
        out = {id(n) for n in nodes if n.op_type == "LayerNormalization"}
    else:
        raise ValueError(f"unknown FP16 keep rule {rule!r}; rules: {', '.join(RULES)}")
    return out


def _supports_fp16(node, opset: dict, g: "_Graph") -> bool:
    """False when the node's schema does not accept float16 where the graph has a float (e.g. Voxelize)."""
    from onnx import defs

    try:
        schema = defs.get_schema(node.op_type, opset.get(node.domain, 1), node.domain)
    except Exception:
        return True  # unknown op: nothing to check against (the checker will complain about it anyway)
    allowed = {c.type_param_str: set(c.allowed_type_strs) for c in schema.type_constraints}

    def ok(formals, values) -> bool:
        for i, value in enumerate(values):
            if not g.is_float(value) or not formals:
                continue
            formal = formals[min(i, len(formals) - 1)]  # variadic: the last formal repeats
            if "tensor(float16)" not in allowed.get(formal.type_str, {formal.type_str}):
                return False
        return True

    return ok(list(schema.inputs), list(node.input)) and ok(list(schema.outputs), list(node.output))


def _fp16_array(name: str, arr: np.ndarray) -> np.ndarray:
    finite = arr[np.isfinite(arr)]
    big = finite[(np.abs(finite) > FP16_MAX) & (np.abs(finite) < MASK_SENTINEL)]
    if big.size:
        raise ModelFormatError(f"FP16: {name} holds {big.size} values beyond float16's range "
                               f"(e.g. {float(big[0])}); keep its consumer in float32")
    with np.errstate(over="ignore"):
        return arr.astype(np.float16)


def convert(proto, keep=DEFAULT_KEEP):
    """``(fp16 ModelProto, Fp16Report)``: ``proto`` (float32) with every node outside ``keep`` in float16."""
    import onnx

    from tsp3d.export import register_schemas

    register_schemas()  # the tsp3d schemas say which custom ops take float16 (Voxelize does not)
    keep = tuple(keep)
    model = onnx.ModelProto()
    model.CopyFrom(proto)
    graph = model.graph
    g = _Graph(graph)
    opset = {o.domain: o.version for o in model.opset_import}
    report = Fp16Report(keep)
    fp32 = set()
    for rule in keep:
        nodes = _rule_nodes(g, rule)
        report.fp32_by_rule[rule] = len(nodes)
        fp32 |= nodes
    retyper = _Retyper(g, opset, fp32, report)
    for node in graph.node:
        retyper.retype(node)
    _fix_outputs(graph, retyper.new_type, retyper.new_nodes)
    used = {i for n in retyper.new_nodes for i in n.input}
    all_inits = [t for t in graph.initializer if t.name in used] + [t for t in retyper.fp16_inits.values()]
    del graph.node[:]
    graph.node.extend(retyper.new_nodes)
    del graph.initializer[:]
    graph.initializer.extend(all_inits)
    for vi in graph.value_info:
        if vi.name in retyper.new_type:
            vi.type.tensor_type.elem_type = retyper.new_type[vi.name]
    report.casts = len(retyper.casts)
    return model, report


class _Retyper:
    """Gives each node, in graph order, its compute type and the inputs of that type: a cached ``Cast`` per
    crossing value, a float16 copy of a float32 initializer; ``new_type`` follows every value's type."""

    def __init__(self, g: _Graph, opset: dict, fp32: set, report: Fp16Report):
        self.g, self.opset, self.fp32, self.report = g, opset, fp32, report
        self.inits = {t.name: t for t in g.graph.initializer}
        self.new_type = {v.name: v.type.tensor_type.elem_type for v in g.graph.input}
        self.new_type.update({name: t.data_type for name, t in self.inits.items()})
        self.casts, self.fp16_inits, self.new_nodes = {}, {}, []

    def cast(self, value: str, to: int) -> str:
        from onnx import helper

        key = (value, to)
        if key not in self.casts:
            out = f"{value}__to_{'fp16' if to == FLOAT16 else 'fp32'}"
            self.new_nodes.append(helper.make_node("Cast", [value], [out], to=to, name=f"cast_{out}"))
            self.casts[key] = out
        return self.casts[key]

    def fp16_init(self, name: str) -> str:
        from onnx import numpy_helper

        if name not in self.fp16_inits:
            arr = _fp16_array(name, numpy_helper.to_array(self.inits[name]))
            self.fp16_inits[name] = numpy_helper.from_array(arr, f"{name}__fp16")
        return self.fp16_inits[name].name

    def retype(self, node) -> None:
        g = self.g
        has_float = any(g.is_float(v) for v in list(node.input) + list(node.output))
        if not has_float:
            self.new_nodes.append(node)
            for o in node.output:
                self.new_type[o] = g.types.get(o, 0)
            return
        want = FLOAT if id(node) in self.fp32 or not _supports_fp16(node, self.opset, g) else FLOAT16
        self._count(node, want)
        if node.op_type not in ANY_FLOAT_INPUT:
            for i, name in enumerate(node.input):
                if not g.is_float(name) or self.new_type[name] == want:
                    continue
                fp16_weight = name in self.inits and want == FLOAT16
                node.input[i] = self.fp16_init(name) if fp16_weight else self.cast(name, want)
        _retype_constants(node, want)
        for o in node.output:
            self.new_type[o] = want if g.is_float(o) else g.types.get(o, 0)
        self.new_nodes.append(node)

    def _count(self, node, want: int) -> None:
        if want == FLOAT:
            self.report.nodes_fp32 += 1
            self.report.fp32_ops[node.op_type] = self.report.fp32_ops.get(node.op_type, 0) + 1
        else:
            self.report.nodes_fp16 += 1


def _retype_constants(node, want: int) -> None:
    """A ``Cast`` to float and a float ``value`` attribute take the node's type."""
    from onnx import helper, numpy_helper

    for attr in node.attribute:
        if node.op_type == "Cast" and attr.name == "to" and attr.i == FLOAT:
            attr.i = want
        elif attr.name == "value" and attr.t.data_type == FLOAT and want == FLOAT16:
            arr = _fp16_array(f"{node.name}.value", numpy_helper.to_array(attr.t))
            attr.t.CopyFrom(numpy_helper.from_array(arr, attr.t.name))
    if node.op_type == "ConstantOfShape" and want == FLOAT16 and not node.attribute:
        # The default value is a float32 zero: make the float16 zero explicit.
        node.attribute.append(helper.make_attribute("value", numpy_helper.from_array(np.zeros(1, np.float16))))


def _fix_outputs(graph, new_type: dict, new_nodes: list) -> None:
    """Box outputs stay float32 (a Cast when a float16 node made them); other outputs take their new type."""
    from onnx import helper

    for out in graph.output:
        t = new_type.get(out.name, out.type.tensor_type.elem_type)
        if out.name in FP32_OUTPUTS and t != FLOAT:
            # Rename the float16 value and cast it back to float32 under the interface name.
            inner = f"{out.name}__fp16"
            for n in new_nodes:
                n.output[:] = [inner if o == out.name else o for o in n.output]
                n.input[:] = [inner if i == out.name else i for i in n.input]
            new_nodes.append(helper.make_node("Cast", [inner], [out.name], to=FLOAT, name=f"cast_{out.name}"))
            new_type[inner], new_type[out.name] = t, FLOAT
        else:
            out.type.tensor_type.elem_type = t
