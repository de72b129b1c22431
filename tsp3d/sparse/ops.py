"""The sparse primitives as PyTorch custom operators ``torch.ops.tsp3d.*``.

These are the single entry points used by eager training/evaluation *and* traced by the ONNX exporter (each maps
to one node of the ``tsp3d`` ONNX domain, see docs/opset.md and tsp3d/export/). Data-dependent row counts are
declared to the tracer with ``new_dynamic_size``. ``sparse_conv`` and ``sparse_max_pool`` have gradients.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from tsp3d.sparse import conv as _conv
from tsp3d.sparse import lookup as _lookup
from tsp3d.sparse import prune as _prune
from tsp3d.sparse import rulebook as _rb
from tsp3d.sparse import voxelize as _vox
from tsp3d.sparse.backend import get_backend
from tsp3d.sparse.offsets import kernel_volume


def _cpp(*tensors: Tensor):
    """The C++ kernels when the ``cpp`` backend is selected and every tensor is on the CPU, else None."""
    if get_backend() != "cpp" or any(t.device.type != "cpu" for t in tensors):
        return None
    from tsp3d.sparse import cpp_backend

    return cpp_backend.kernels()


def _dyn_rows(like: Tensor, cols: int, dtype=torch.int32) -> Tensor:
    n = torch.library.get_ctx().new_dynamic_size()
    return like.new_empty((n, cols), dtype=dtype)


# ---------------------------------------------------------------- coordinates and rulebooks


@torch.library.custom_op("tsp3d::voxelize", mutates_args=())
def voxelize(points: Tensor, voxel_size: float, batch: int, capacity: int) -> tuple[Tensor, Tensor]:
    """``(coords [M,4] int32, first [M] int32)``; see tsp3d/sparse/voxelize.py."""
    k = _cpp(points)
    if k is not None:
        return k.voxelize(points, voxel_size, batch, capacity)
    coords, first = _vox.voxelize(points, voxel_size, batch, capacity)
    return coords, first.to(torch.int32)


@voxelize.register_fake
def _(points, voxel_size, batch, capacity):
    coords = _dyn_rows(points, 4)
    return coords, points.new_empty((coords.shape[0],), dtype=torch.int32)


@torch.library.custom_op("tsp3d::coords_down", mutates_args=())
def coords_down(coords: Tensor, stride: int, capacity: int) -> Tensor:
    k = _cpp(coords)
    return k.coords_down(coords, stride, capacity) if k else _rb.coords_down(coords, stride, capacity)


@coords_down.register_fake
def _(coords, stride, capacity):
    return _dyn_rows(coords, 4)


@torch.library.custom_op("tsp3d::coords_up", mutates_args=())
def coords_up(coords: Tensor, stride: int, capacity: int) -> Tensor:
    k = _cpp(coords)
    return k.coords_up(coords, stride, capacity) if k else _rb.coords_up(coords, stride, capacity)


@coords_up.register_fake
def _(coords, stride, capacity):
    return _dyn_rows(coords, 4)


@torch.library.custom_op("tsp3d::kernel_map", mutates_args=())
def kernel_map(in_coords: Tensor, out_coords: Tensor, kernel_size: int, offset_stride: int, transposed: bool) -> Tensor:
    k = _cpp(in_coords, out_coords)
    if k is not None:
        return k.kernel_map(in_coords, out_coords, kernel_size, offset_stride, transposed)
    return _rb.kernel_map(in_coords, out_coords, kernel_size, offset_stride, transposed)


@kernel_map.register_fake
def _(in_coords, out_coords, kernel_size, offset_stride, transposed):
    return out_coords.new_empty((out_coords.shape[0], kernel_volume(kernel_size)), dtype=torch.int32)


# ---------------------------------------------------------------- rulebook application


def _conv_impl(*tensors: Tensor):
    backend = get_backend()
    if backend == "spconv":
        from tsp3d.sparse import spconv_backend

        return spconv_backend
    if backend == "cpp" and all(t.device.type == "cpu" and t.dtype in (torch.float32, torch.float16)
                                for t in tensors):
        from tsp3d.sparse import cpp_backend

        return cpp_backend
    return _conv


@torch.library.custom_op("tsp3d::sparse_conv", mutates_args=())
def sparse_conv(feats: Tensor, nbr: Tensor, weight: Tensor, bias: Optional[Tensor], activation: int) -> Tensor:
    """``out[o] = act(bias + sum_k W[k]^T feats[nbr[o, k]])``; ``W`` is ``(K, Cin, Cout)``."""
    _conv.check_conv_args(feats, nbr, weight, bias)
    return _conv_impl(feats, weight).conv_forward(feats, nbr, weight, bias, activation)


@sparse_conv.register_fake
def _(feats, nbr, weight, bias, activation):
    return feats.new_empty((nbr.shape[0], weight.shape[2]))


def _conv_setup(ctx, inputs, output):
    feats, nbr, weight, bias, activation = inputs
    ctx.activation = activation
    ctx.has_bias = bias is not None
    ctx.save_for_backward(feats, nbr, weight, output if activation == _conv.ACT_RELU else None)


def _conv_backward(ctx, grad_out):
    feats, nbr, weight, out = ctx.saved_tensors
    if ctx.activation == _conv.ACT_RELU:
        grad_out = grad_out * (out > 0).to(grad_out.dtype)
    need_f, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[2]
    gf, gw = _conv_impl(feats, weight).conv_backward(grad_out, feats, nbr, weight, need_f, need_w)
    gb = grad_out.sum(dim=0) if ctx.has_bias and ctx.needs_input_grad[3] else None
    return gf, None, gw, gb, None


sparse_conv.register_autograd(_conv_backward, setup_context=_conv_setup)


@torch.library.custom_op("tsp3d::sparse_max_pool", mutates_args=())
def sparse_max_pool(feats: Tensor, nbr: Tensor) -> Tensor:
    """Channel-wise max over each output's present neighbours."""
    k = _cpp(feats)
    return k.sparse_max_pool(feats, nbr) if k else _conv.max_pool_forward(feats, nbr)[0]


@sparse_max_pool.register_fake
def _(feats, nbr):
    return feats.new_empty((nbr.shape[0], feats.shape[1]))


def _pool_setup(ctx, inputs, output):
    ctx.save_for_backward(*inputs)


def _pool_backward(ctx, grad_out):
    feats, nbr = ctx.saved_tensors
    _, arg = _conv.max_pool_forward(feats, nbr)  # recomputed: keeps the op's output a single tensor
    return _conv.max_pool_backward(grad_out, arg, feats.shape[0]), None


sparse_max_pool.register_autograd(_pool_backward, setup_context=_pool_setup)


# ---------------------------------------------------------------- lookup, prune, append


@torch.library.custom_op("tsp3d::lookup", mutates_args=())
def lookup(query: Tensor, table: Tensor) -> Tensor:
    k = _cpp(query, table)
    return k.lookup(query, table) if k else _lookup.lookup(query, table)


@lookup.register_fake
def _(query, table):
    return query.new_empty((query.shape[0],), dtype=torch.int32)


@torch.library.custom_op("tsp3d::prune", mutates_args=())
def prune(scores: Tensor, threshold: float, mode: int, min_keep: int, capacity: int = 0) -> Tensor:
    k = _cpp(scores)
    if k is not None:
        return k.prune(scores, threshold, mode, min_keep, capacity)
    return _prune.prune(scores, threshold, mode, min_keep, capacity)


@prune.register_fake
def _(scores, threshold, mode, min_keep, capacity=0):
    n = torch.library.get_ctx().new_dynamic_size()
    return scores.new_empty((n,), dtype=torch.int32)


@torch.library.custom_op("tsp3d::append_missing", mutates_args=())
def append_missing(coords_a: Tensor, coords_b: Tensor, capacity: int) -> tuple[Tensor, Tensor]:
    k = _cpp(coords_a, coords_b)
    if k is not None:
        return k.append_missing(coords_a, coords_b, capacity)
    return _prune.append_missing(coords_a, coords_b, capacity)


@append_missing.register_fake
def _(coords_a, coords_b, capacity):
    n = torch.library.get_ctx().new_dynamic_size()
    return coords_a.new_empty((coords_a.shape[0] + n, 4)), coords_b.new_empty((n,), dtype=torch.int32)


gather_rows = _lookup.gather_rows
