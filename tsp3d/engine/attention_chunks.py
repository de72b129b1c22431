"""The TensorRT form of the exported attention: scale on Q, and blocks too large for memory split over queries.

Applied to the temporary graph ``tsp3d build-engine`` hands to TensorRT, and analysed by ``tsp3d check-engine``;
bundles and ONNX Runtime sessions keep the attention as exported (ONNX Runtime fuses it at session creation).

Why: unless TensorRT fuses it, a voxel self-attention over N voxels holds two [1, H, N, N] tensors (scores and
probabilities), 2 GiB each in fp32 at N = 8,192 (``base``: ``voxels_s64``, ``up_s32``). TensorRT does not document
that fusion for this graph in every release and precision (docs/tensorrt.md), so the memory verdict cannot count
on it.

**Chunks.** ``softmax(q kT) v`` is row-wise in the queries: output row r reads only row r of q. A block whose
worst-case score tensor exceeds ``chunk_bytes`` is split into K static chunks. With n the query rows at run time
and c = ceil(n / K), chunk i takes rows [min(i c, n), min((i + 1) c, n)) of q (``Slice`` on the query axis), runs
``MatMul -> Softmax -> MatMul`` on them with the same k and v, and one ``Concat`` puts the rows back in order: every
output row is computed by the same operations on the same values as before, and only [1, H, c, N] scores are live
at a time. K is the fewest chunks whose worst-case chunk scores fit ``chunk_bytes`` (at most ``MAX_CHUNKS``);
chunks past n are empty when n < K.

**Scale on Q.** NVIDIA's Fused Attention page requires Q (or K) to be multiplied by the attention scale before
the first batched MatMul; the export scales the scores after it. Every block whose scale is a scalar constant gets
``Mul(q, s)`` before the MatMul instead: the same value when s is a power of two (1/sqrt(16) in ``base``), one
rounding apart otherwise.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

DEFAULT_CHUNK_MB = 256
MAX_CHUNKS = 64
MIB = 1 << 20
_INT64 = 7


@dataclass
class ChunkedBlock:
    softmax: str  # the exported block's Softmax node
    chunks: int
    query_rows: int  # worst-case query rows of the block
    chunk_rows: int  # worst-case rows of one chunk
    scores_before: int  # bytes of the block's worst-case score tensor
    scores_after: int  # bytes of one chunk's worst-case score tensor


@dataclass
class Rewrite:
    chunk_bytes: int  # 0: no chunks
    chunked: list = field(default_factory=list)  # [ChunkedBlock]
    scale_moved: list = field(default_factory=list)  # Softmax names of the blocks whose scale now multiplies Q
    symbols: dict = field(default_factory=dict)  # {chunk row symbol: upper bound} for tensor_bounds

    @property
    def changed(self) -> bool:
        return bool(self.chunked or self.scale_moved)


@dataclass
class _Block:
    qk: object  # MatMul(q, kT)
    scale: object  # Mul(scores, s) or None
    where: object  # the mask's Where between scale and Softmax, or None
    softmax: object
    pv: object  # MatMul(p, v)
    s: str  # the scalar scale's name ("" without a scale)

    @property
    def label(self) -> str:
        """The block's name: its Softmax node's (its output's when the node has none), prefix of what replaces it."""
        return self.softmax.name or self.softmax.output[0]


class _Graph:
    def __init__(self, graph):
        self.graph = graph
        self.producer = {o: n for n in graph.node for o in n.output if o}
        self.consumers: dict = {}
        for n in graph.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.inits = {t.name: t for t in graph.initializer}

    def made_by(self, value: str, op: str):
        n = self.producer.get(value)
        return n if n is not None and n.op_type == op else None

    def only_reader(self, value: str, op: str):
        readers = self.consumers.get(value, [])
        return readers[0] if len(readers) == 1 and readers[0].op_type == op else None

    def is_scalar(self, value: str) -> bool:
        import numpy as np

        if value in self.inits:
            return int(np.prod(self.inits[value].dims)) == 1
        n = self.made_by(value, "Constant")
        return n is not None and any(a.name == "value" and int(np.prod(a.t.dims)) == 1 for a in n.attribute)


def find_blocks(graph) -> list[_Block]:
    """The attention blocks ``MatMul -> [Mul(scalar)] -> [Where] -> Softmax(last axis) -> MatMul`` whose inner
    values have no other reader (what the exporter writes; docs/tensorrt.md)."""
    g = _Graph(graph)
    blocks = []
    for sm in (n for n in graph.node if n.op_type == "Softmax"):
        if any(a.name == "axis" and a.i != -1 for a in sm.attribute):
            continue  # chunks and the scale need the softmax over the keys, the last axis
        pv = g.only_reader(sm.output[0], "MatMul")
        value, where, scale, s = sm.input[0], None, None, ""
        where = g.made_by(value, "Where")
        if where is not None:
            data = [i for i in where.input[1:] if g.made_by(i, "Mul") or g.made_by(i, "MatMul")]
            if len(data) != 1 or g.only_reader(data[0], "Where") is None:
                continue
            value = data[0]
        scale = g.made_by(value, "Mul")
        if scale is not None:
            if len(g.consumers.get(value, [])) != 1:
                continue
            scores = [i for i in scale.input if g.made_by(i, "MatMul")]
            consts = [i for i in scale.input if g.is_scalar(i)]
            if len(scores) != 1 or len(consts) != 1:
                continue
            value, s = scores[0], consts[0]
        qk = g.made_by(value, "MatMul")
        if pv is None or pv.input[0] != sm.output[0] or qk is None or len(g.consumers.get(value, [])) != 1:
            continue
        blocks.append(_Block(qk, scale, where, sm, pv, s))
    return blocks


def _ident(name: str) -> str:
    return re.sub(r"\W", "_", name).strip("_") or "attn"


class _Writer:
    """New nodes, initializers and value_info for one graph, with names that cannot clash."""

    def __init__(self, proto, bounds: dict):
        from tsp3d.export.bounds import graph_dims

        self.proto, self.bounds = proto, bounds
        self.dims = graph_dims(proto)
        self.elem = {vi.name: vi.type.tensor_type.elem_type for vi in list(proto.graph.input) +
                     list(proto.graph.value_info)}
        self.inits = []

    def dims_of(self, value: str):
        tb = self.bounds.get(value)
        return list(tb.dims) if tb is not None and tb.dims else self.dims.get(value)

    def elem_of(self, value: str) -> int:
        tb = self.bounds.get(value)
        return tb.elem_type if tb is not None and tb.elem_type else self.elem.get(value, 1)

    def const(self, name: str, values: list[int]) -> str:
        from onnx import helper

        self.inits.append(helper.make_tensor(name, _INT64, [len(values)], values))
        return name

    def info(self, name: str, elem: int, dims) -> None:
        from onnx import helper

        if dims is not None:
            self.proto.graph.value_info.append(helper.make_tensor_value_info(name, elem, dims))


def plan_chunks(score_bound, chunk_bytes: int) -> tuple[int, int] | None:
    """(K, worst-case rows per chunk) for a score tensor ``TensorBound`` over ``chunk_bytes``, else None."""
    if chunk_bytes <= 0 or score_bound is None or score_bound.bytes is None or score_bound.bytes <= chunk_bytes:
        return None
    rows = int(score_bound.upper[-2])
    per_row = score_bound.bytes // max(rows, 1)
    fits = max(1, chunk_bytes // max(per_row, 1))
    k = min(MAX_CHUNKS, rows, math.ceil(rows / fits))
    return (k, math.ceil(rows / k)) if k >= 2 else None


def _chunk_nodes(w: _Writer, b: _Block, k: int, symbols: list[str]) -> list:
    """The nodes that replace block ``b``: Q scaled, sliced into ``k`` row ranges, one attention per range, Concat."""
    from onnx import helper

    p = f"{b.label}/chunk"
    q, kt, v = b.qk.input[0], b.qk.input[1], b.pv.input[1]
    qdims = w.dims_of(q)
    axis = len(qdims) - 2
    elem = w.elem_of(b.qk.output[0])
    nodes = [helper.make_node("Shape", [q], [f"{p}/shape"], name=f"{p}/shape"),
             helper.make_node("Gather", [f"{p}/shape", w.const(f"{p}/axis", [axis])], [f"{p}/n"], name=f"{p}/n",
                              axis=0),
             helper.make_node("Add", [f"{p}/n", w.const(f"{p}/k_minus_1", [k - 1])], [f"{p}/n_up"],
                              name=f"{p}/n_up"),
             helper.make_node("Div", [f"{p}/n_up", w.const(f"{p}/k", [k])], [f"{p}/rows"], name=f"{p}/rows")]
    w.info(f"{p}/shape", _INT64, [len(qdims)])
    for name in ("n", "n_up", "rows"):
        w.info(f"{p}/{name}", _INT64, [1])
    cuts = [w.const(f"{p}/zero", [0])]
    for i in range(1, k):  # cut i = min(i * rows, n)
        nodes += [helper.make_node("Mul", [f"{p}/rows", w.const(f"{p}/i{i}", [i])], [f"{p}/end{i}_raw"],
                                   name=f"{p}/end{i}_raw"),
                  helper.make_node("Min", [f"{p}/end{i}_raw", f"{p}/n"], [f"{p}/end{i}"], name=f"{p}/end{i}")]
        w.info(f"{p}/end{i}_raw", _INT64, [1])
        w.info(f"{p}/end{i}", _INT64, [1])
        cuts.append(f"{p}/end{i}")
    cuts.append(f"{p}/n")
    source = q
    if b.s:
        nodes.append(helper.make_node("Mul", [q, b.s], [f"{p}/q_scaled"], name=f"{p}/q_scaled"))
        w.info(f"{p}/q_scaled", elem, qdims)
        source = f"{p}/q_scaled"
    axes = w.const(f"{p}/axes", [axis])
    sdims, odims = w.dims_of(b.qk.output[0]), w.dims_of(b.pv.output[0])
    outs = []
    for i, sym in enumerate(symbols):
        c = f"{p}{i}"
        nodes += [helper.make_node("Slice", [source, cuts[i], cuts[i + 1], axes], [f"{c}/q"], name=f"{c}/q"),
                  helper.make_node("MatMul", [f"{c}/q", kt], [f"{c}/scores"], name=f"{c}/qk"),
                  helper.make_node("Softmax", [f"{c}/scores"], [f"{c}/probs"], name=f"{c}/softmax", axis=-1),
                  helper.make_node("MatMul", [f"{c}/probs", v], [f"{c}/out"], name=f"{c}/pv")]
        for value, dims in ((f"{c}/q", qdims), (f"{c}/scores", sdims), (f"{c}/probs", sdims), (f"{c}/out", odims)):
            w.info(value, elem, None if dims is None else dims[:-2] + [sym] + dims[-1:])
        outs.append(f"{c}/out")
    nodes.append(helper.make_node("Concat", outs, [b.pv.output[0]], name=f"{p}/concat", axis=axis))
    return nodes


def _scale_nodes(w: _Writer, b: _Block) -> list:
    """Mul(q, s) -> MatMul, whose output takes the name of the exported Mul's: the scale before the first MatMul."""
    from onnx import helper

    q = b.qk.input[0]
    name = f"{b.label}/q_scaled"
    w.info(name, w.elem_of(b.qk.output[0]), w.dims_of(q))
    mm = helper.make_node("MatMul", [name, b.qk.input[1]], [b.scale.output[0]], name=b.qk.name)
    return [helper.make_node("Mul", [q, b.s], [name], name=name), mm]


def tensorrt_graph(proto, bounds: dict, chunk_bytes: int):
    """(the graph TensorRT is given, ``Rewrite``): a copy of ``proto`` with the scale of every attention block on Q
    and the blocks whose worst-case score tensor exceeds ``chunk_bytes`` split over queries; ``chunk_bytes`` 0: the
    graph as exported.

    ``bounds``: ``{value: TensorBound}`` of ``proto`` (tensor_bounds.bound_tensors)."""
    import onnx

    out = onnx.ModelProto()
    out.CopyFrom(proto)
    rewrite = Rewrite(max(int(chunk_bytes), 0))
    if not rewrite.chunk_bytes:
        return out, rewrite
    w = _Writer(out, bounds)
    taken = {d for ds in w.dims.values() for d in ds if isinstance(d, str)}
    replace: dict = {}  # a node's first output -> the nodes that take its place ([] drops it)
    for b in find_blocks(out.graph):
        chunks = plan_chunks(bounds.get(b.qk.output[0]), rewrite.chunk_bytes) if b.where is None else None
        if chunks is not None and w.dims_of(b.qk.input[0]) is not None:
            k, rows = chunks
            symbols = [_unique(f"{_ident(b.label)}_q{i}", taken) for i in range(k)]
            rewrite.symbols.update({s: rows for s in symbols})
            score = bounds[b.qk.output[0]]
            rewrite.chunked.append(ChunkedBlock(b.label, k, int(score.upper[-2]), rows, score.bytes,
                                                score.bytes // int(score.upper[-2]) * rows))
            for n in (b.qk, b.scale, b.softmax):
                if n is not None:
                    replace[n.output[0]] = []
            replace[b.pv.output[0]] = _chunk_nodes(w, b, k, symbols)
        elif b.scale is not None:
            replace[b.qk.output[0]], replace[b.scale.output[0]] = [], _scale_nodes(w, b)  # where s is defined
        else:
            continue
        if b.scale is not None:
            rewrite.scale_moved.append(b.label)
    nodes = [m for n in out.graph.node for m in replace.get(n.output[0], [n])]
    del out.graph.node[:]
    out.graph.node.extend(nodes)
    out.graph.initializer.extend(w.inits)
    used = {v for n in nodes for v in list(n.input) + list(n.output)}
    kept = [vi for vi in out.graph.value_info if vi.name in used]  # the replaced values' entries go
    del out.graph.value_info[:]
    out.graph.value_info.extend(kept)
    return out, rewrite


def _unique(name: str, taken: set) -> str:
    base, i = name, 1
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


def rewrite_for_tensorrt(proto, maxima: dict[str, int], chunk_bytes: int):
    """``tensorrt_graph`` with the bounds derived here: ``maxima`` are the profile's maxima of the inputs' symbolic
    dimensions (preflight.profile_maxima)."""
    from tsp3d.engine.tensor_bounds import bound_tensors

    if chunk_bytes <= 0 or not find_blocks(proto.graph):
        return tensorrt_graph(proto, {}, 0)
    bounds, _ = bound_tensors(proto, maxima)
    return tensorrt_graph(proto, bounds, chunk_bytes)
