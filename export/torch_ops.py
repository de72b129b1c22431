"""Translation of the ``torch.ops.tsp3d.*`` custom operators to nodes of the ``tsp3d`` ONNX domain (docs/opset.md).

``translation_table()`` is the ``custom_translation_table`` handed to ``torch.onnx.export(..., dynamo=True)``. Each
function receives the op's arguments as the exporter's values (tensors) and Python scalars (attributes) and emits
exactly one node. Exported graphs follow two rules of the opset: every ``capacity`` is positive and fits int32
(TensorRT reads int attributes as int32), and an absent optional input is left out of the node, not named "".
"""
from __future__ import annotations

from tsp3d.errors import CapacityError
from tsp3d.export import opset_spec as spec


def _opset():
    import onnxscript

    return onnxscript.values.Opset(spec.DOMAIN, spec.VERSION)


def checked_capacity(op: str, capacity: int) -> int:
    """The capacity attribute of an exported node: in ``[1, 2^31 - 1]`` or an error naming the op."""
    capacity = int(capacity)
    if capacity < 1:
        raise CapacityError(f"{op}: exported graphs need a positive capacity, the model passed {capacity}",
                            hint="set every field of the model config's capacities (or --capacity NAME=VALUE)")
    if capacity > spec.INT32_MAX:
        raise CapacityError(f"{op}: capacity {capacity} exceeds 2^31-1 (TensorRT reads int attributes as int32)",
                            hint="lower it with --capacity NAME=VALUE")
    return capacity


def voxelize(points, voxel_size: float, batch: int, capacity: int):
    return _opset().Voxelize(points, voxel_size=float(voxel_size), batch=int(batch),
                             capacity=checked_capacity("Voxelize", capacity), _outputs=2)


def coords_down(coords, stride: int, capacity: int):
    return _opset().CoordsDown(coords, stride=int(stride), capacity=checked_capacity("CoordsDown", capacity))


def coords_up(coords, stride: int, capacity: int):
    return _opset().CoordsUp(coords, stride=int(stride), capacity=checked_capacity("CoordsUp", capacity))


def kernel_map(in_coords, out_coords, kernel_size: int, offset_stride: int, transposed: bool):
    return _opset().KernelMap(in_coords, out_coords, kernel_size=int(kernel_size), offset_stride=int(offset_stride),
                              transposed=int(bool(transposed)))


def sparse_conv(feats, nbr, weight, bias, activation: int):
    if bias is None:  # optional input absent: three inputs, no empty name (TensorRT would get a null tensor)
        return _opset().SparseConv(feats, nbr, weight, activation=int(activation))
    return _opset().SparseConv(feats, nbr, weight, bias, activation=int(activation))


def sparse_max_pool(feats, nbr):
    return _opset().SparseMaxPool(feats, nbr)


def lookup(query, table):
    return _opset().Lookup(query, table)


def prune(scores, threshold: float, mode: int, min_keep: int, capacity: int = 0, *, fallback: int = 0):
    return _opset().Prune(scores, threshold=float(threshold), mode=int(mode), min_keep=int(min_keep),
                          capacity=checked_capacity("Prune", capacity if int(capacity) > 0 else fallback))


def append_missing(coords_a, coords_b, capacity: int):
    return _opset().AppendMissing(coords_a, coords_b, capacity=checked_capacity("AppendMissing", capacity),
                                  _outputs=2)


def _prune_with_bound(bound: int):
    # A named function with the op's signature (the exporter inspects it; a functools.partial has no name).
    def prune_op(scores, threshold: float, mode: int, min_keep: int, capacity: int = 0):
        return prune(scores, threshold, mode, min_keep, capacity, fallback=bound)

    return prune_op


def translation_table(prune_bound: int = 0) -> dict:
    """``{torch.ops.tsp3d.<op>.default: function}`` for every op of the opset.

    ``prune_bound``: the capacity written on ``Prune`` nodes whose call passes none (0). The model's inference path
    passes none today; any bound on the rows of every set the model prunes is valid (``Prune`` keeps at most its
    input rows), e.g. the largest capacity of the model config.
    """
    import torch

    import tsp3d.sparse.ops  # noqa: F401  (registers torch.ops.tsp3d.*)

    ops = torch.ops.tsp3d
    return {
        ops.voxelize.default: voxelize,
        ops.coords_down.default: coords_down,
        ops.coords_up.default: coords_up,
        ops.kernel_map.default: kernel_map,
        ops.sparse_conv.default: sparse_conv,
        ops.sparse_max_pool.default: sparse_max_pool,
        ops.lookup.default: lookup,
        ops.prune.default: _prune_with_bound(int(prune_bound)),
        ops.append_missing.default: append_missing,
    }
