"""Constant weights behind shape ops: the value of ``Transpose(Slice(in_proj_weight, ...))`` and the like.

The exporter writes each attention projection as ``MatMul(x, Transpose(Slice(in_proj_weight, rows)))``: the q, k
and v weights are row blocks of one ``[3C, C]`` parameter; a 1x1 sparse conv on the same set is
``MatMul(x, Gather(kernel, 0))``. ONNX Runtime folds such chains when it loads the graph;
the INT8 rewrite folds them itself (``fold``) so that the projections become quantized layers with their own int8
initializers, and drops the chain once nothing reads it (``chain``). Only pure shape ops with constant operands are
followed; anything else is "not a constant".
"""
from __future__ import annotations

import numpy as np

SHAPE_OPS = ("Identity", "Transpose", "Slice", "Reshape", "Gather")


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _array(value: str, inits: dict, producer: dict):
    from onnx import numpy_helper

    if value in inits:
        return numpy_helper.to_array(inits[value])
    node = producer.get(value)
    if node is not None and node.op_type == "Constant" and "value" in _attrs(node):
        return numpy_helper.to_array(_attrs(node)["value"])
    return None


def _slice(x: np.ndarray, node, inits, producer):
    args = [_array(v, inits, producer) if v else None for v in node.input[1:]]
    if any(a is None for a in args[:2]) or any(v and a is None for v, a in zip(node.input[1:], args)):
        return None
    starts, ends = args[0], args[1]
    axes = args[2] if len(args) > 2 and args[2] is not None else np.arange(len(starts))
    steps = args[3] if len(args) > 3 and args[3] is not None else np.ones(len(starts), dtype=np.int64)
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        index[int(a)] = slice(int(s), int(e), int(st))  # numpy clamps like ONNX Slice
    return x[tuple(index)]


def _apply(node, x: np.ndarray, inits, producer):
    if node.op_type == "Identity":
        return x
    if node.op_type == "Transpose":
        perm = _attrs(node).get("perm")
        return np.transpose(x, perm) if perm is not None else x.T
    if node.op_type == "Slice":
        return _slice(x, node, inits, producer)
    if node.op_type == "Gather":  # e.g. W[0] of a 1x1 sparse conv's kernel [1, Cin, Cout] written as a MatMul
        index = _array(node.input[1], inits, producer)
        return None if index is None else np.take(x, index, axis=int(_attrs(node).get("axis", 0)))
    shape = _array(node.input[1], inits, producer)  # Reshape
    if shape is None or _attrs(node).get("allowzero", 0):
        return None
    shape = [x.shape[i] if int(d) == 0 else int(d) for i, d in enumerate(shape)]
    return x.reshape(shape)


def chain(value: str, inits: dict, producer: dict) -> list | None:
    """The shape-op nodes from an initializer (or Constant) to ``value``, first to last; ``[]`` when ``value`` is an
    initializer; None when ``value`` is not such a constant."""
    nodes = []
    while value not in inits:
        node = producer.get(value)
        if node is None:
            return None
        if node.op_type == "Constant":
            break
        if node.op_type not in SHAPE_OPS or node.domain not in ("", "ai.onnx"):
            return None
        nodes.append(node)
        value = node.input[0]
    return nodes[::-1]


def fold(value: str, inits: dict, producer: dict) -> np.ndarray | None:
    """The constant ``value`` as an array, or None."""
    nodes = chain(value, inits, producer)
    if nodes is None:
        return None
    x = _array(nodes[0].input[0] if nodes else value, inits, producer)
    for node in nodes:
        if x is None:
            return None
        x = _apply(node, x, inits, producer)
    return x
