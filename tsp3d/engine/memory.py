"""Worst-case activation memory of an engine: a liveness pass over the graph's topological order.

Every node output (graph outputs excepted: the caller's buffers) is allocated when its node runs and freed after
its last consumer; the peak of the live bytes over all steps is the worst case, an upper bound on what TensorRT
allocates for activations (its fusions and in-place reuse only lower it). Weights and the engine's inputs and
outputs are reported apart. Plugin workspaces are not counted (their sizes need a GPU: CUB asks the device).

Attention blocks (MatMul -> scale/mask -> Softmax -> MatMul) are found and their score tensors named: they are the
tensors that grow quadratically. ``peak_if_fused`` is the peak without them, i.e. if TensorRT fused every block
into one kernel that never materializes the scores; docs/tensorrt.md says when TensorRT documents that fusion.
"""
from __future__ import annotations

from dataclasses import dataclass, field

_SCORE_PATH = {"Mul", "Div", "Add", "Sub", "Where", "Cast"}  # between the first MatMul and the Softmax


@dataclass
class Attention:
    softmax: str  # node name
    scores: list  # value names from the first MatMul's output to the Softmax output
    largest: str  # the largest score value
    bytes: int  # bytes of all score values of the block


@dataclass
class MemoryReport:
    peak_bytes: int
    peak_node: str
    peak_step: int
    steps: int
    weights_bytes: int
    io_bytes: int
    largest: list = field(default_factory=list)  # [(bytes, value, shape text, producer op, producer node)]
    attention: list = field(default_factory=list)  # [Attention]
    peak_if_fused: int = 0
    bodies_not_counted: list = field(default_factory=list)  # Loop/If/Scan nodes: their bodies' tensors are not counted


def _consumers(graph) -> dict:
    """``{value: [step, ...]}``; a node with subgraphs consumes the outer values its bodies read."""
    out: dict = {}
    for step, node in enumerate(graph.node):
        names = list(node.input)
        for attr in node.attribute:
            if attr.HasField("g"):
                names += [i for n in attr.g.node for i in n.input]
        for name in names:
            if name:
                out.setdefault(name, []).append(step)
    return out


def _producers(graph) -> dict:
    return {o: n for n in graph.node for o in n.output if o}


def _data_input(node, producers: dict) -> str:
    """The input of a scale/mask node that carries the scores (not a constant, not the Where condition)."""
    names = [node.input[2], node.input[1]] if node.op_type == "Where" else list(node.input)
    for name in names:
        if name in producers and producers[name].op_type not in ("Constant", "ConstantOfShape"):
            return name
    return names[0]


def find_attention(graph, sizes: dict) -> list[Attention]:
    producers = _producers(graph)
    consumers: dict = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    blocks = []
    for node in graph.node:
        if node.op_type != "Softmax":
            continue
        path, value = [node.output[0]], node.input[0]
        while value in producers and producers[value].op_type in _SCORE_PATH:
            path.append(value)
            value = _data_input(producers[value], producers)
        first = producers.get(value)
        after = consumers.get(node.output[0], [])
        if first is None or first.op_type != "MatMul" or not any(c.op_type == "MatMul" for c in after):
            continue
        path.append(value)
        known = [v for v in path if sizes.get(v) is not None]
        if known:
            largest = max(known, key=lambda v: sizes[v])
            blocks.append(Attention(node.name, path[::-1], largest, sum(sizes[v] for v in known)))
    return blocks


def _peak(graph, sizes: dict, skip: set) -> tuple[int, int]:
    """(peak bytes, step) of the node outputs in ``sizes`` minus ``skip``; graph outputs are not activations."""
    consumers = _consumers(graph)
    outputs = {o.name for o in graph.output}
    delta = [0] * (len(graph.node) + 1)
    for step, node in enumerate(graph.node):
        for name in node.output:
            if not name or name in outputs or name in skip or sizes.get(name) is None:
                continue
            last = max(consumers.get(name, [step]))
            delta[step] += sizes[name]
            delta[last + 1] -= sizes[name]
    live, best, at = 0, 0, 0
    for step in range(len(graph.node)):
        live += delta[step]
        if live > best:
            best, at = live, step
    return best, at


def _weights_bytes(graph) -> int:
    import numpy as np
    from onnx import helper

    total = 0
    for t in graph.initializer:
        n = int(np.prod(t.dims)) if len(t.dims) else 1
        total += n * np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize
    return total


def memory_report(proto, bounds: dict, io_bytes: int, top: int = 8) -> MemoryReport:
    """``bounds``: ``{value: TensorBound}`` (tensor_bounds.bound_tensors); ``io_bytes``: the inputs' and
    outputs' worst-case bytes."""
    graph = proto.graph
    sizes = {name: tb.bytes for name, tb in bounds.items()}
    peak, step = _peak(graph, sizes, set())
    blocks = find_attention(graph, sizes)
    fused, _ = _peak(graph, sizes, {v for b in blocks for v in b.scores})
    producers = _producers(graph)
    outputs = {o.name for o in graph.output}
    ranked = sorted((v for v in sizes if sizes[v] is not None and v not in outputs), key=lambda v: -sizes[v])[:top]
    largest = [(sizes[v], v, bounds[v].shape_text(), producers[v].op_type, producers[v].name) for v in ranked]
    node = graph.node[step].name if graph.node else ""
    bodies = [n.name for n in graph.node if any(a.HasField("g") or len(a.graphs) for a in n.attribute)]
    return MemoryReport(peak, node, step, len(graph.node), _weights_bytes(graph), io_bytes, largest,
                        sorted(blocks, key=lambda b: -b.bytes), fused, bodies)
