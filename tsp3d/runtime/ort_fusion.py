"""The ONNX Runtime form of the exported attention: each unmasked ``softmax(q k^T * s) v`` subgraph becomes one
``com.microsoft.MultiHeadAttention`` node, applied when a session is created (``ort_session.make_session``).

The exported graph spells attention out in standard ops so that TensorRT and every runtime can read it; for the
voxel self-attention over every voxel of a level that costs two [heads, N, N] float tensors (scores and
probabilities): quadratic memory, 253 GB at the 32 cm level of a 1M-point floor. ONNX Runtime's CPU
``MultiHeadAttention`` is a flash-style kernel that never holds them: memory linear in N, and faster (measured in
docs/BENCHMARKS.md). The rewrite happens in memory at session creation, so bundles stay plain ONNX.

Pattern (``tsp3d.model.attention.MultiheadAttention`` as exported, heads H, head size D; /work notes and
docs/export.md document it for TensorRT): ``q4 = Transpose[0,2,1,3](Reshape(q, [B, L, H, D]))``,
``kt = Transpose[0,2,3,1](Reshape(k, ...))``, ``v4 = Transpose[0,2,1,3](Reshape(v, ...))``;
``p = Softmax(Mul(MatMul(q4, kt), s))``; ``o = MatMul(p, v4)``; ``out = Reshape(Transpose[0,2,1,3](o), [B, L, C])``.
Masked attention (a ``Where`` before the Softmax: the blocks whose keys are text tokens, [H, N, L], linear in N) is
left as is.
"""
from __future__ import annotations

import numpy as np


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _const(value: str, inits: dict, producer: dict):
    from onnx import numpy_helper

    if value in inits:
        return numpy_helper.to_array(inits[value])
    node = producer.get(value)
    if node is not None and node.op_type == "Constant":
        return numpy_helper.to_array(_attrs(node)["value"])
    return None


def unmasked_attention(proto) -> int:
    """Unmasked attention blocks (``Softmax(Mul(MatMul(..)))`` read by a MatMul) left in ``proto``: the blocks that
    hold [H, N, N] tensors over the voxels. 0 after a complete ``fuse_attention``."""
    producer = {o: n for n in proto.graph.node for o in n.output}
    readers = {}
    for n in proto.graph.node:
        for i in n.input:
            readers.setdefault(i, []).append(n.op_type)
    count = 0
    for n in proto.graph.node:
        mul = producer.get(n.input[0]) if n.op_type == "Softmax" else None
        if mul is not None and mul.op_type == "Mul" and getattr(producer.get(mul.input[0]), "op_type", "") == "MatMul" \
                and "MatMul" in readers.get(n.output[0], []):
            count += 1
    return count


def fuse_attention(proto):
    """A copy of ``proto`` with the unmasked attention subgraphs fused; returns (model, number fused)."""
    import onnx
    from onnx import helper

    model = onnx.ModelProto()
    model.CopyFrom(proto)
    g = model.graph
    match = _AttentionMatcher(g)
    remove, add = set(), []
    for sm in [n for n in g.node if n.op_type == "Softmax"]:
        found = match(sm)
        if found is None:
            continue
        fused_node, internal = found
        add.append(fused_node)
        remove.update(id(n) for n in internal)
    kept = [n for n in g.node if id(n) not in remove]
    # put each fused node where its attention's first removed node was: the order stays topological
    del g.node[:]
    g.node.extend(_topological(kept + add))
    if add and not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model, len(add)


class _AttentionMatcher:
    """Finds the pattern of the module docstring around one Softmax of a graph."""

    def __init__(self, g):
        self.producer = {o: n for n in g.node for o in n.output}
        self.consumers: dict[str, list] = {}
        for n in g.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.inits = {t.name: t for t in g.initializer}

    def prod(self, value, op):
        n = self.producer.get(value)
        return n if n is not None and n.op_type == op else None

    def only_consumer(self, value, op):
        cs = self.consumers.get(value, [])
        return cs[0] if len(cs) == 1 and cs[0].op_type == op else None

    def split_heads(self, value, perm):
        """(the value before the head split, heads, head size, [Transpose, Reshape]) or None."""
        t = self.prod(value, "Transpose")
        if t is None or list(_attrs(t).get("perm", [])) != perm:
            return None
        r = self.prod(t.input[0], "Reshape")
        shape = _const(r.input[1], self.inits, self.producer) if r is not None else None
        if shape is None or len(shape) != 4:
            return None
        return r.input[0], int(shape[2]), int(shape[3]), [t, r]

    def __call__(self, sm):
        """(the MultiHeadAttention node, the nodes it replaces) for the attention around Softmax ``sm``, or None."""
        from onnx import helper

        mul = self.prod(sm.input[0], "Mul")
        mm = self.prod(mul.input[0], "MatMul") if mul is not None else None
        scale = _const(mul.input[1], self.inits, self.producer) if mul is not None else None
        pv = self.only_consumer(sm.output[0], "MatMul")
        if mm is None or scale is None or scale.size != 1 or pv is None or pv.input[0] != sm.output[0]:
            return None
        q, k, v = (self.split_heads(mm.input[0], [0, 2, 1, 3]), self.split_heads(mm.input[1], [0, 2, 3, 1]),
                   self.split_heads(pv.input[1], [0, 2, 1, 3]))
        merge_t = self.only_consumer(pv.output[0], "Transpose")
        merge_r = self.only_consumer(merge_t.output[0], "Reshape") if merge_t is not None else None
        if None in (q, k, v, merge_r) or list(_attrs(merge_t).get("perm", [])) != [0, 2, 1, 3]:
            return None
        heads, head_dim = q[1], q[2]
        if (k[1], k[2]) != (heads, head_dim) or v[1] != heads:
            return None
        # the split-head nodes may feed other consumers (never in this model, but then they stay)
        internal = [mul, mm, sm, pv, merge_t, merge_r] + [n for part in (q, k, v) for n in part[3]
                                                          if all(c in (mm, pv) or c.op_type in ("Transpose",)
                                                                 for c in self.consumers.get(n.output[0], []))]
        node = helper.make_node("MultiHeadAttention", [q[0], k[0], v[0]], [merge_r.output[0]],
                                name=f"{sm.name}/fused_mha", domain="com.microsoft", num_heads=heads,
                                scale=float(np.asarray(scale).reshape(-1)[0]))
        return node, internal


def _topological(nodes: list) -> list:
    """Nodes in an order where every value is produced before it is read (Kahn's algorithm, stable)."""
    produced_by = {o: i for i, n in enumerate(nodes) for o in n.output}
    deps = [{produced_by[x] for x in n.input if x in produced_by} for n in nodes]
    users: dict[int, list[int]] = {}
    for i, d in enumerate(deps):
        for j in d:
            users.setdefault(j, []).append(i)
    import heapq

    ready = [i for i, d in enumerate(deps) if not d]
    heapq.heapify(ready)
    left = [len(d) for d in deps]
    out = []
    while ready:
        i = heapq.heappop(ready)
        out.append(nodes[i])
        for u in users.get(i, []):
            left[u] -= 1
            if left[u] == 0:
                heapq.heappush(ready, u)
    if len(out) != len(nodes):
        raise ValueError("the graph has a cycle after the attention rewrite")
    return out
