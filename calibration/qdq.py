"""The explicit-quantization rewrite: an FP32 graph + activation ranges -> an INT8 Q/DQ graph.

For every chosen layer (``calibration.layers``), with symmetric scales (zero point 0):

- ``tsp3d.SparseConv`` -> ``tsp3d.SparseConvInt8`` fed by a standard ``QuantizeLinear`` of its input (per-tensor
  scale ``amax / 127``) and an int8 weight ``[K, Cin, Cout]`` with per-output-channel scales. TensorRT does not
  fuse Q/DQ into plugins, so the plugin takes both scales as inputs (docs/opset.md); its output stays float32.
- ``MatMul`` / ``Conv`` with a constant weight -> ``QuantizeLinear`` + ``DequantizeLinear`` on the activation and an
  int8 weight with a per-channel ``DequantizeLinear`` (axis = output channels): the pattern TensorRT (and ONNX
  Runtime's QDQ optimizer) fuses into an INT8 GEMM/conv with a float output.

One scale per activation, so that every layer reading a tensor quantizes it alike: the sparse convs share one
``QuantizeLinear``; each dense consumer has a ``QuantizeLinear -> DequantizeLinear`` pair of its own (ONNX
Runtime's fusion needs that, see ``dequantize``). A weight computed by shape ops from an initializer (the attention
projections: ``Transpose(Slice(in_proj_weight))``) is folded into its own int8 initializer (``fold``) and the
chain is dropped once nothing reads it. Everything else is untouched: the graph interface, the output types and
the float32 remainder.

ONNX Runtime fuses each ``MatMul(DQ(Q(x)), DQ(W_q))`` into ``com.microsoft.MatMulIntegerToFloat`` (an int8 GEMM
in MLAS) when it loads the graph (tested); TensorRT fuses the same pattern into its INT8 GEMMs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from tsp3d.errors import ModelFormatError

from tsp3d.calibration.fold import chain, fold
from tsp3d.calibration.layers import Layer
from tsp3d.calibration.observers import QMAX

INT8 = 3  # onnx.TensorProto.INT8
FLOAT = 1
PRECISION = "int8"


@dataclass
class QdqReport:
    quantized: list[str] = field(default_factory=list)  # node names
    skipped: dict = field(default_factory=dict)  # node name -> reason
    sparse_convs: int = 0
    dense: int = 0
    quantize_nodes: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def weight_scales(w: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel symmetric int8 weights: ``(w_q int8, scale float32 [C])`` with ``w ~= w_q * scale``.

    A channel that is all zero gets scale 1 (any positive value: its int8 values are 0 anyway).
    """
    w = np.asarray(w, dtype=np.float32)
    moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
    amax = np.abs(moved).max(axis=1)
    scale = np.where(amax > 0, amax / QMAX, 1.0).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.rint(w / scale.reshape(shape)), -QMAX, QMAX).astype(np.int8)
    return q, scale


def activation_scale(amax: float) -> float:
    return float(np.float32(amax / QMAX))


class _Rewriter:
    def __init__(self, proto):
        import onnx

        self.model = onnx.ModelProto()
        self.model.CopyFrom(proto)
        self.graph = self.model.graph
        self.inits = {t.name: t for t in self.graph.initializer}
        self.producer = {o: n for n in self.graph.node for o in n.output}
        self.folded: list = []  # shape-op nodes of folded weights: dropped in finish() if nothing reads them
        self.infos = {v.name: v for v in list(self.graph.input) + list(self.graph.value_info)}
        self.new_inits, self.new_infos = [], []
        self.q_of, self.dense_count, self.wq_of = {}, {}, {}
        self.before: dict[str, list] = {}  # node name -> nodes to insert before it

    def _init(self, name: str, arr: np.ndarray) -> str:
        from onnx import numpy_helper

        if name not in self.inits:
            t = numpy_helper.from_array(arr, name)
            self.inits[name] = t
            self.new_inits.append(t)
        return name

    def _info(self, name: str, elem: int, like: str | None) -> None:
        from onnx import helper

        src = self.infos.get(like) if like else None
        dims = list(self.inits[like].dims) if like in self.inits else None
        if src is not None and src.type.tensor_type.HasField("shape"):
            dims = [d.dim_param or (d.dim_value if d.HasField("dim_value") else None)
                    for d in src.type.tensor_type.shape.dim]
        self.new_infos.append(helper.make_tensor_value_info(name, elem, dims))

    def _q(self, x: str, amax: float, at: str, tag: str) -> tuple[str, str, str]:
        """A QuantizeLinear of ``x`` with its own scale / zero-point initializers (same values for every tag)."""
        from onnx import helper

        scale = self._init(f"{x}__act_scale{tag}", np.array(activation_scale(amax), dtype=np.float32))
        zp = self._init(f"{x}__act_zp{tag}", np.array(0, dtype=np.int8))
        q = f"{x}__int8{tag}"
        self.before.setdefault(at, []).append(
            helper.make_node("QuantizeLinear", [x, scale, zp], [q], name=f"{x}__quantize{tag}"))
        self._info(q, INT8, x)
        return q, scale, zp

    def quantize(self, x: str, amax: float, at: str) -> tuple[str, str, str]:
        """``(x_int8, scale, zero_point)`` for sparse convs: one QuantizeLinear per activation, shared by all of
        them, placed before the first (node ``at``)."""
        if x not in self.q_of:
            self.q_of[x] = self._q(x, amax, at, "")
        return self.q_of[x]

    def dequantize(self, x: str, amax: float, at: str) -> str:
        """``DequantizeLinear(QuantizeLinear(x))`` for the dense consumer ``at`` alone, with initializers of its
        own. ONNX Runtime fuses ``Q -> DQ -> MatMul`` into an int8 GEMM only when that Q feeds that one DQ, and
        merges Q nodes that read the same initializers (tested in tests/test_calibration_qdq.py)."""
        from onnx import helper

        i = self.dense_count[x] = self.dense_count.get(x, 0) + 1
        q, scale, zp = self._q(x, amax, at, f"_{i}")
        dq = f"{x}__dequant_{i}"
        self.before.setdefault(at, []).append(
            helper.make_node("DequantizeLinear", [q, scale, zp], [dq], name=f"{dq}ize"))
        self._info(dq, FLOAT, x)
        return dq

    def weight(self, name: str, axis: int) -> tuple[str, str, str, np.ndarray]:
        """``(w_int8, scale [C], zero_point [C])`` initializers of weight ``name`` (shared by its users)."""
        from onnx import numpy_helper

        if name not in self.wq_of:
            if name in self.inits:
                w = numpy_helper.to_array(self.inits[name])
            else:
                w = fold(name, self.inits, self.producer)
                self.folded += chain(name, self.inits, self.producer)
            q, scale = weight_scales(w, axis)
            self.wq_of[name] = (self._init(f"{name}__int8", q), self._init(f"{name}__w_scale", scale),
                                self._init(f"{name}__w_zp", np.zeros(scale.shape, np.int8)), scale)
        return self.wq_of[name]

    def finish(self, replaced: dict) -> object:
        nodes = []
        for node in self.graph.node:
            nodes.extend(self.before.get(node.name, []))
            nodes.append(replaced.get(node.name, node))
        nodes = self._drop_unread_folds(nodes)
        del self.graph.node[:]
        self.graph.node.extend(nodes)
        used = {i for n in nodes for i in n.input}
        keep = [t for t in self.graph.initializer if t.name in used]  # float weights now unused are dropped
        del self.graph.initializer[:]
        self.graph.initializer.extend(keep + [t for t in self.new_inits if t.name in used])
        self.graph.value_info.extend(self.new_infos)
        return self.model

    def _drop_unread_folds(self, nodes: list) -> list:
        """``nodes`` without the folded shape-op chains nothing reads any more (last node first)."""
        outputs = {o.name for o in self.graph.output}
        drop: set = set()
        for node in reversed(self.folded):
            read = any(i in node.output for n in nodes if id(n) not in drop for i in n.input)
            if not read and not outputs.intersection(node.output):
                drop.add(id(node))
        return [n for n in nodes if id(n) not in drop]


def quantize_graph(proto, layers: list[Layer], amax: dict[str, float], info: dict | None = None):
    """``(int8 ModelProto, QdqReport)``: ``proto`` with ``layers`` quantized (those present in it).

    ``amax``: clipping range per activation name (``observers``). A layer whose activation has no range, or a
    zero range (a tensor that was always zero on the calibration set), stays float and is reported as skipped.
    ``info`` is stored as JSON in the graph's ``tsp3d.int8`` metadata.
    """
    from onnx import helper

    rw = _Rewriter(proto)
    present = {n.name: n for n in rw.graph.node}
    order = {n.name: i for i, n in enumerate(rw.graph.node)}
    report, replaced = QdqReport(), {}
    # Graph order: a shared Q/DQ goes in front of the first consumer.
    for layer in sorted(layers, key=lambda l: order.get(l.node, -1)):
        node = present.get(layer.node)
        if node is None:
            continue  # e.g. a head layer when rewriting backbone.onnx
        if node.input[0] != layer.input or fold(layer.weight, rw.inits, rw.producer) is None:
            raise ModelFormatError(f"INT8: node {layer.node} does not match the layer found in the source graph")
        a = float(amax.get(layer.input, 0.0))
        if not np.isfinite(a) or a <= 0.0:
            report.skipped[layer.node] = ("no calibration range" if layer.input not in amax
                                          else "zero range on the calibration set")
            continue
        if layer.kind == "sparse_conv":
            q, scale, _ = rw.quantize(layer.input, a, node.name)
            wq, wscale, _, _ = rw.weight(layer.weight, layer.channel_axis)
            inputs = [q, scale, node.input[1], wq, wscale] + list(node.input[3:4])
            new = helper.make_node("SparseConvInt8", inputs, list(node.output), name=f"{node.name}_int8",
                                   domain="tsp3d")
            new.attribute.extend(a_ for a_ in node.attribute if a_.name == "activation")
            replaced[node.name] = new
            report.sparse_convs += 1
        else:
            dq = rw.dequantize(layer.input, a, node.name)
            wq, wscale, wzp, _ = rw.weight(layer.weight, layer.channel_axis)
            wdq = f"{node.name}__weight_dequant"  # one per consumer, like the activation's
            rw.before.setdefault(node.name, []).append(helper.make_node(
                "DequantizeLinear", [wq, wscale, wzp], [wdq], name=f"{wdq}ize", axis=layer.channel_axis))
            rw._info(wdq, FLOAT, layer.weight)
            new = type(node)()
            new.CopyFrom(node)
            new.input[0], new.input[1] = dq, wdq
            replaced[node.name] = new
            report.dense += 1
        report.quantized.append(layer.node)
    report.quantize_nodes = len(rw.q_of) + sum(rw.dense_count.values())
    model = rw.finish(replaced)
    _set_metadata(model, {**(info or {}), "quantized_nodes": len(report.quantized)})
    return model, report


def _set_metadata(model, info: dict) -> None:
    props = {p.key: p for p in model.metadata_props}
    for key, value in (("tsp3d.precision", PRECISION), ("tsp3d.int8", json.dumps(info, sort_keys=True))):
        if key in props:
            props[key].value = value
        else:
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
    if model.doc_string:
        model.doc_string = model.doc_string.replace("(fp32)", "(int8 Q/DQ)")


def int8_nodes(proto) -> dict[str, int]:
    """Counts of the nodes the rewrite creates (for reports and tests)."""
    counts = {"SparseConvInt8": 0, "SparseConv": 0, "QuantizeLinear": 0, "DequantizeLinear": 0}
    for n in proto.graph.node:
        if n.op_type in counts:
            counts[n.op_type] += 1
    return counts
