"""The quantizable layers of an exported FP32 graph, their sweep units, and the structural keep rules.

A *layer* is one node whose weight is a constant: a ``tsp3d.SparseConv`` (weight ``[K, Cin, Cout]``), a ``MatMul``
with a 2-D constant right operand (``[Cin, Cout]``: attention projections, FFNs, the text projector, the 1x1
heads) or a ``Conv`` with a constant kernel (``[Cout, Cin, k]``: the position-embedding MLP, the CBA logit).
A constant is an initializer or a chain of shape ops on one (``fold``: the attention projections are
``Transpose(Slice(in_proj_weight))``).
Activation x activation ``MatMul``s (attention scores, softmax x V) are not layers: they stay in float.

A *unit* is what the sensitivity sweep switches as one: each sparse conv alone, and the dense layers of one
module (one transformer layer, one head), read from the exporter's ``pkg.torch.onnx.name_scopes`` node metadata.

Keep rules (structural, the same walks as the FP16 keep rules of ``tsp3d.export.fp16``, so they survive module
renames): ``stem`` (the first sparse conv, which reads x, y, z in metres and raw colours), ``scores`` (the TGP/CBA
logit heads feeding ``Prune``: a threshold on a quantized logit moves voxels in or out), ``box`` (the cls/bbox
heads feeding the top-1 ``ArgMax`` and the box decoding), ``coordinates`` (the first layers reading voxel positions
in metres: the position-embedding MLP).
"""
from __future__ import annotations

import ast
import re
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from tsp3d.errors import ModelFormatError

from tsp3d.calibration.fold import fold

KEEP_RULES = {
    "stem": "the first sparse conv reads x, y, z in metres and raw colours (Lidar_AI keeps conv_input in float)",
    "scores": "the TGP/CBA logit heads feeding Prune: a quantized logit moves voxels across the threshold",
    "box": "the cls/bbox heads feeding the top-1 ArgMax and the box decoding",
    "coordinates": "layers reading voxel positions in metres (position embeddings): a coarse grid of values whose "
                   "histogram misleads calibration, and a 1/127 range step moves positions",
}
FLOAT = 1  # onnx.TensorProto.FLOAT
_LAYER_SCOPE = re.compile(r"^(.*?\.layers\.\d+)(\.|$)")


@dataclass(frozen=True)
class Layer:
    node: str  # node name (unique in the graph; the same in model/backbone/head graphs)
    kind: str  # sparse_conv | matmul | conv
    input: str  # the activation to quantize (per tensor)
    weight: str  # the constant weight (per output channel)
    module: str  # the PyTorch module it came from ("" when the graph has no scope metadata)
    unit: str  # the sensitivity-sweep unit
    rules: tuple[str, ...] = field(default=())  # keep rules that match it

    @property
    def channel_axis(self) -> int:
        """Axis of the weight's output channels."""
        return {"sparse_conv": 2, "matmul": 1, "conv": 0}[self.kind]


def _scopes(node) -> list[str]:
    for p in node.metadata_props:
        if p.key == "pkg.torch.onnx.name_scopes":
            try:
                value = ast.literal_eval(p.value)
            except (ValueError, SyntaxError):
                return []
            return [str(s) for s in value] if isinstance(value, list) else []
    return []


def _module(node, kind: str, weight: str) -> str:
    if kind == "sparse_conv" and weight.endswith(".kernel"):
        return weight[: -len(".kernel")]  # the initializer keeps the parameter's module path
    scopes = _scopes(node)
    return scopes[-2] if len(scopes) >= 2 else ""


def _unit(kind: str, module: str, node_name: str) -> str:
    if not module:
        return node_name
    if kind == "sparse_conv":
        return module
    m = _LAYER_SCOPE.match(module)
    if m:
        return m.group(1)  # one transformer layer: its attention blocks and FFNs together
    return re.sub(r"(\.\d+)+$", "", module)  # e.g. model.text_projector.0 -> model.text_projector


def _float_weight(value: str, inits: dict, producer: dict, rank: int) -> bool:
    t = inits.get(value)
    if t is not None:
        return t.data_type == FLOAT and len(t.dims) == rank
    w = fold(value, inits, producer)
    return w is not None and w.dtype == np.float32 and w.ndim == rank


_ELEM = {"tensor(int32)": 6, "tensor(int8)": 3, "tensor(float)": FLOAT, "tensor(float16)": 10}


def typed_copy(proto):
    """A copy of ``proto`` with an element type for every node output.

    ``model.onnx`` drops the backbone levels from its outputs and their types with them; a tsp3d op's output type
    comes from the opset spec (``T`` = its first input's type), a standard op's (only Relu/Add here) from its first
    typed input.
    """
    import onnx
    from onnx import helper

    from tsp3d.export import opset_spec

    out = onnx.ModelProto()
    out.CopyFrom(proto)
    graph = out.graph
    types = {v.name: v.type.tensor_type.elem_type for v in list(graph.input) + list(graph.output)
             + list(graph.value_info)}
    types.update({t.name: t.data_type for t in graph.initializer})
    for node in graph.node:
        for i, value in enumerate(node.output):
            if not value or types.get(value):
                continue
            t = 0
            if node.domain == "tsp3d":
                formal = opset_spec.get(node.op_type).outputs[i].type
                t = _ELEM.get(formal, 0) or types.get(node.input[0], 0)
            else:
                t = next((types[x] for x in node.input if types.get(x)), 0)
            if t:
                types[value] = t
                graph.value_info.append(helper.make_tensor_value_info(value, t, None))
    return out


def _rule_nodes(proto) -> dict[str, set]:
    """Node names matched by each keep rule (the FP16 exporter's structural walks)."""
    from tsp3d.export import fp16

    typed = typed_copy(proto)
    g = fp16._Graph(typed.graph)
    by_id = {id(n): n.name for n in typed.graph.node}
    return {rule: {by_id[i] for i in fp16._rule_nodes(g, rule)} for rule in KEEP_RULES}


def find_layers(proto) -> list[Layer]:
    """Every quantizable layer of the FP32 graph ``proto``, in graph order."""
    graph = proto.graph
    inits = {t.name: t for t in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    names = [n.name for n in graph.node]
    if len(set(names)) != len(names) or "" in names:
        raise ModelFormatError("INT8 needs unique node names (export the model with tsp3d export)")
    types = {v.name: v.type.tensor_type.elem_type for v in list(graph.input) + list(graph.value_info)}
    rules = _rule_nodes(proto)
    out = []
    for node in graph.node:
        std = node.domain in ("", "ai.onnx")
        if node.domain == "tsp3d" and node.op_type == "SparseConv" and _float_weight(node.input[2], inits, producer, 3):
            kind, weight = "sparse_conv", node.input[2]
        elif std and node.op_type == "MatMul" and _float_weight(node.input[1], inits, producer, 2):
            kind, weight = "matmul", node.input[1]
        elif std and node.op_type == "Conv" and _float_weight(node.input[1], inits, producer, 3):
            kind, weight = "conv", node.input[1]
        else:
            continue
        x = node.input[0]
        if x in inits or types.get(x, FLOAT) != FLOAT:
            continue  # a constant or non-float operand: nothing to calibrate
        module = _module(node, kind, weight)
        matched = tuple(r for r in KEEP_RULES if node.name in rules[r])
        out.append(Layer(node.name, kind, x, weight, module, _unit(kind, module, node.name), matched))
    return out


def units(layers: list[Layer]) -> "OrderedDict[str, list[Layer]]":
    """Layers grouped by sweep unit, in graph order of each unit's first layer."""
    out: OrderedDict[str, list[Layer]] = OrderedDict()
    for layer in layers:
        out.setdefault(layer.unit, []).append(layer)
    return out


def unit_rules(layers: list[Layer]) -> tuple[str, ...]:
    """Keep rules that match any layer of a unit."""
    return tuple(r for r in KEEP_RULES if any(r in layer.rules for layer in layers))
