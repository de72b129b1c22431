"""ctypes wrapper of ``libtsp3d_cuda.so``: the CUDA kernels (plugins/kernels/cuda) on torch CUDA tensors.

The same methods, arguments and errors as ``tsp3d.kernels.cpu`` (``SparseInputError`` for bad input,
``CapacityError`` over a capacity), so the GPU check can run one op through both and compare. Used on a GPU machine
without TensorRT: the TensorRT plugins call the very same C functions.

    from tsp3d.kernels.cuda import load
    k = load()
    coords, first = k.voxelize(points.cuda(), 0.01)

Each call queues its kernels on the current torch stream, then waits for it to read the device-side status and
row count (docs/tensorrt.md, "Kernel API").
"""
from __future__ import annotations

import ctypes
import functools
from pathlib import Path
from typing import Optional

import torch

from tsp3d.errors import DependencyError, SparseInputError
from tsp3d.kernels.library import KernelLibrary, SymbolTable, conv_inputs, library_path, weight_scale_input
from tsp3d.kernels.library import ptr as _ptr
from tsp3d.kernels.status import CUDA_ERROR, OK

_i32, _i64, _f32, _p, _size = ctypes.c_int32, ctypes.c_int64, ctypes.c_float, ctypes.c_void_p, ctypes.c_size_t
_sizep = ctypes.POINTER(ctypes.c_size_t)
_WS = [_p, _size, _p]  # workspace, workspace_bytes, stream
# Argument types of every function of plugins/kernels/include/tsp3d/c_api_cuda.h but the status texts (bound by
# StatusTexts; tests/test_cuda_build.py checks this table against the header).
SIGNATURES = {
    "tsp3d_cuda_voxelize_workspace_size": [_i64, _sizep],
    "tsp3d_cuda_voxelize": [_p, _i64, _i64, _f32, _i32, _i64, _p, _p, _p, _p] + _WS,
    "tsp3d_cuda_coords_down_workspace_size": [_i64, _sizep],
    "tsp3d_cuda_coords_down": [_p, _i64, _i32, _i64, _p, _p, _p] + _WS,
    "tsp3d_cuda_coords_up_workspace_size": [_i64, _sizep],
    "tsp3d_cuda_coords_up": [_p, _i64, _i32, _i64, _p, _p, _p] + _WS,
    "tsp3d_cuda_kernel_map_workspace_size": [_i64, _i64, _sizep],
    "tsp3d_cuda_kernel_map": [_p, _i64, _p, _i64, _i32, _i32, _i32, _p, _p] + _WS,
    "tsp3d_cuda_lookup_workspace_size": [_i64, _i64, _sizep],
    "tsp3d_cuda_lookup": [_p, _i64, _p, _i64, _p, _p] + _WS,
    "tsp3d_cuda_append_missing_workspace_size": [_i64, _i64, _sizep],
    "tsp3d_cuda_append_missing": [_p, _i64, _p, _i64, _i64, _p, _p, _p, _p] + _WS,
    "tsp3d_cuda_sparse_conv_workspace_size": [_i64, _sizep],
    "tsp3d_cuda_sparse_conv_f32": [_p, _i64, _i64, _p, _i64, _i64, _p, _i64, _p, _i32, _p, _p] + _WS,
    "tsp3d_cuda_sparse_conv_f16": [_p, _i64, _i64, _p, _i64, _i64, _p, _i64, _p, _i32, _p, _p] + _WS,
    "tsp3d_cuda_sparse_conv_i8": [_p, _p, _i64, _i64, _p, _i64, _i64, _p, _p, _i64, _p, _i32, _p, _p] + _WS,
    "tsp3d_cuda_sparse_max_pool_workspace_size": [_i64, _sizep],
    "tsp3d_cuda_sparse_max_pool_f32": [_p, _i64, _i64, _p, _i64, _i64, _p, _p] + _WS,
    "tsp3d_cuda_sparse_max_pool_f16": [_p, _i64, _i64, _p, _i64, _i64, _p, _p] + _WS,
    "tsp3d_cuda_prune_workspace_size": [_i64, _sizep],
    "tsp3d_cuda_prune_f32": [_p, _i64, _f32, _i32, _i64, _i64, _p, _p, _p] + _WS,
    "tsp3d_cuda_prune_f16": [_p, _i64, _f32, _i32, _i64, _i64, _p, _p, _p] + _WS,
    "tsp3d_cuda_size_from_count": [_p, _p, _i64, _p, _p],
    "tsp3d_cuda_record_error": [_p, _p, _i32, _p],
}
SYMBOLS = SymbolTable("cuda", "tsp3d_cuda_", SIGNATURES)


def _cuda(t, name: str, dtypes: tuple, dim: int, width: Optional[int] = None) -> torch.Tensor:
    if not isinstance(t, torch.Tensor) or t.dtype not in dtypes or t.dim() != dim or (
            width is not None and t.shape[1] != width):
        shape = f"[N, {width}]" if width else f"{dim}-d"
        raise SparseInputError(f"{name} must be a {shape} tensor of {[str(d) for d in dtypes]}, got "
                               f"{getattr(t, 'dtype', type(t))} {list(getattr(t, 'shape', []))}")
    if not t.is_cuda:
        raise SparseInputError(f"{name} must be a CUDA tensor (the CUDA kernels read device memory), got {t.device}")
    return t.detach().contiguous()


def _coords(t, name: str) -> torch.Tensor:
    return _cuda(t, name, (torch.int32,), 2, 4)


class CudaKernels(KernelLibrary):
    """The kernels of one loaded ``libtsp3d_cuda.so``."""

    def __init__(self, path: Path):
        super().__init__(path, SYMBOLS)

    # ------------------------------------------------------------------ plumbing

    def _host_check(self, status: int, op: str) -> None:
        if status == OK:
            return
        if status == CUDA_ERROR:
            raise RuntimeError(f"{op}: CUDA error while queueing the kernels")
        raise SparseInputError(f"{op}: {self.status.name(status)} (rejected before launch)")

    def _workspace(self, query, op: str, *sizes) -> torch.Tensor:
        nbytes = ctypes.c_size_t(0)
        self._host_check(query(*sizes, ctypes.byref(nbytes)), f"{op} workspace")
        return torch.empty((max(int(nbytes.value), 1),), dtype=torch.uint8, device="cuda")

    @staticmethod
    def _stream():
        s = torch.cuda.current_stream()
        return s, ctypes.c_void_p(s.cuda_stream)

    def _run(self, op: str, fn, args: list, ws: torch.Tensor, capacity: int = 0, with_count: bool = False):
        """Launch, wait, and raise on a device-side error; returns the row count (or None)."""
        status = torch.zeros((1,), dtype=torch.int32, device="cuda")
        count = torch.zeros((1,), dtype=torch.int64, device="cuda") if with_count else None
        stream, handle = self._stream()
        tail = ([_ptr(count)] if with_count else []) + [_ptr(status), _ptr(ws), ws.numel(), handle]
        self._host_check(fn(*args, *tail), op)
        stream.synchronize()
        code = int(status.item())
        rows = int(count.item()) if with_count else None
        if code != OK:
            raise self.status.error(code, op, rows, capacity)
        return rows

    @staticmethod
    def _room(natural: int, capacity: int) -> int:
        if capacity < 0:
            raise SparseInputError(f"capacity must be >= 0, got {capacity}")
        return natural if capacity <= 0 else min(capacity, natural)

    # ------------------------------------------------------------------ coordinates and rulebooks

    def voxelize(self, points: torch.Tensor, voxel_size: float, batch: int = 0, capacity: int = 0):
        p = _cuda(points, "points", (torch.float32,), 2)
        n = p.shape[0]
        room = self._room(n, capacity)
        coords = torch.empty((room, 4), dtype=torch.int32, device="cuda")
        first = torch.empty((room,), dtype=torch.int32, device="cuda")
        ws = self._workspace(self.lib.tsp3d_cuda_voxelize_workspace_size, "voxelize", n)
        m = self._run("voxelize", self.lib.tsp3d_cuda_voxelize,
                      [_ptr(p), n, p.shape[1], float(voxel_size), int(batch), int(capacity), _ptr(coords),
                       _ptr(first)], ws, capacity, with_count=True)
        return coords[:m].clone(), first[:m].clone()

    def _resample(self, fn, query, op: str, coords, stride: int, capacity: int, factor: int) -> torch.Tensor:
        c = _coords(coords, "coords")
        out = torch.empty((self._room(factor * c.shape[0], capacity), 4), dtype=torch.int32, device="cuda")
        ws = self._workspace(query, op, c.shape[0])
        m = self._run(op, fn, [_ptr(c), c.shape[0], int(stride), int(capacity), _ptr(out)], ws, capacity, True)
        return out[:m].clone()

    def coords_down(self, coords: torch.Tensor, stride: int, capacity: int = 0) -> torch.Tensor:
        return self._resample(self.lib.tsp3d_cuda_coords_down, self.lib.tsp3d_cuda_coords_down_workspace_size,
                              f"coords_down(stride={stride})", coords, stride, capacity, 1)

    def coords_up(self, coords: torch.Tensor, stride: int, capacity: int = 0) -> torch.Tensor:
        return self._resample(self.lib.tsp3d_cuda_coords_up, self.lib.tsp3d_cuda_coords_up_workspace_size,
                              f"coords_up(stride={stride})", coords, stride, capacity, 27)

    def kernel_map(self, in_coords, out_coords, kernel_size: int, offset_stride: int, transposed: bool = False):
        a, b = _coords(in_coords, "in_coords"), _coords(out_coords, "out_coords")
        if kernel_size not in (1, 2, 3):
            raise SparseInputError(f"kernel_size must be one of (1, 2, 3), got {kernel_size}")
        nbr = torch.empty((b.shape[0], kernel_size**3), dtype=torch.int32, device="cuda")
        ws = self._workspace(self.lib.tsp3d_cuda_kernel_map_workspace_size, "kernel_map", a.shape[0], b.shape[0])
        self._run("kernel_map", self.lib.tsp3d_cuda_kernel_map,
                  [_ptr(a), a.shape[0], _ptr(b), b.shape[0], kernel_size, int(offset_stride), int(bool(transposed)),
                   _ptr(nbr)], ws)
        return nbr

    # ------------------------------------------------------------------ rulebook application

    def sparse_conv(self, feats, nbr, weight, bias=None, activation: int = 0) -> torch.Tensor:
        """float32 (SIMT) or float16 (tensor cores, float32 accumulation) by the dtype of ``feats``."""
        f, nb, w, b = conv_inputs(_cuda, feats, nbr, weight, bias)
        out = torch.empty((nb.shape[0], w.shape[2]), dtype=f.dtype, device="cuda")
        fn = self.lib.tsp3d_cuda_sparse_conv_f32 if f.dtype == torch.float32 else self.lib.tsp3d_cuda_sparse_conv_f16
        ws = self._workspace(self.lib.tsp3d_cuda_sparse_conv_workspace_size, "sparse_conv", nb.shape[0])
        self._run("sparse_conv", fn, [_ptr(f), f.shape[0], f.shape[1], _ptr(nb), nb.shape[0], nb.shape[1], _ptr(w),
                                      w.shape[2], _ptr(b), int(activation), _ptr(out)], ws)
        return out

    def sparse_conv_int8(self, feats, feats_scale, nbr, weight, weight_scale, bias=None, activation: int = 0):
        """``feats_scale``: a float or a one-element float32 CUDA tensor (a graph tensor in TensorRT)."""
        f, nb, w, b = conv_inputs(_cuda, feats, nbr, weight, bias, int8=True)
        ws_ = weight_scale_input(_cuda, weight_scale, w)
        fs = torch.as_tensor(feats_scale, dtype=torch.float32).reshape(1).to("cuda").contiguous()
        out = torch.empty((nb.shape[0], w.shape[2]), dtype=torch.float32, device="cuda")
        ws = self._workspace(self.lib.tsp3d_cuda_sparse_conv_workspace_size, "sparse_conv_int8", nb.shape[0])
        self._run("sparse_conv_int8", self.lib.tsp3d_cuda_sparse_conv_i8,
                  [_ptr(f), _ptr(fs), f.shape[0], f.shape[1], _ptr(nb), nb.shape[0], nb.shape[1], _ptr(w),
                   _ptr(ws_), w.shape[2], _ptr(b), int(activation), _ptr(out)], ws)
        return out

    def sparse_max_pool(self, feats, nbr) -> torch.Tensor:
        f = _cuda(feats, "feats", (torch.float32, torch.float16), 2)
        nb = _cuda(nbr, "nbr", (torch.int32,), 2)
        out = torch.empty((nb.shape[0], f.shape[1]), dtype=f.dtype, device="cuda")
        fn = (self.lib.tsp3d_cuda_sparse_max_pool_f32 if f.dtype == torch.float32
              else self.lib.tsp3d_cuda_sparse_max_pool_f16)
        ws = self._workspace(self.lib.tsp3d_cuda_sparse_max_pool_workspace_size, "sparse_max_pool", nb.shape[0])
        self._run("sparse_max_pool", fn,
                  [_ptr(f), f.shape[0], f.shape[1], _ptr(nb), nb.shape[0], nb.shape[1], _ptr(out)], ws)
        return out

    # ------------------------------------------------------------------ lookup, prune, append

    def lookup(self, query, table) -> torch.Tensor:
        q, t = _coords(query, "query"), _coords(table, "table")
        idx = torch.empty((q.shape[0],), dtype=torch.int32, device="cuda")
        ws = self._workspace(self.lib.tsp3d_cuda_lookup_workspace_size, "lookup", q.shape[0], t.shape[0])
        self._run("lookup", self.lib.tsp3d_cuda_lookup, [_ptr(q), q.shape[0], _ptr(t), t.shape[0], _ptr(idx)], ws)
        return idx

    def prune(self, scores, threshold: float, mode: int = 0, min_keep: int = 1) -> torch.Tensor:
        s = _cuda(scores, "scores", (torch.float32, torch.float16), 1)
        n = s.shape[0]
        if min_keep < 0:
            raise SparseInputError(f"min_keep must be >= 0, got {min_keep}")
        idx = torch.empty((n,), dtype=torch.int32, device="cuda")
        fn = self.lib.tsp3d_cuda_prune_f32 if s.dtype == torch.float32 else self.lib.tsp3d_cuda_prune_f16
        ws = self._workspace(self.lib.tsp3d_cuda_prune_workspace_size, "prune", n)
        m = self._run("prune", fn, [_ptr(s), n, float(threshold), int(mode), int(min_keep), 0, _ptr(idx)], ws,
                      with_count=True)
        return idx[:m].clone()

    def append_missing(self, coords_a, coords_b, capacity: int = 0):
        a, b = _coords(coords_a, "coords_a"), _coords(coords_b, "coords_b")
        na, nb = a.shape[0], b.shape[0]
        room = self._room(na + nb, capacity)
        coords = torch.empty((room, 4), dtype=torch.int32, device="cuda")
        idx_b = torch.empty((min(nb, room),), dtype=torch.int32, device="cuda")
        ws = self._workspace(self.lib.tsp3d_cuda_append_missing_workspace_size, "append_missing", na, nb)
        m = self._run("append_missing", self.lib.tsp3d_cuda_append_missing,
                      [_ptr(a), na, _ptr(b), nb, int(capacity), _ptr(coords), _ptr(idx_b)], ws, capacity, True)
        return coords[:m].clone(), idx_b[: m - na].clone()


@functools.lru_cache(maxsize=None)
def load(path: Optional[str] = None) -> CudaKernels:
    """The CUDA kernels (``TSP3D_PLUGIN_DIR`` or build/plugins/lib). DependencyError without a library or a GPU."""
    if not torch.cuda.is_available():
        raise DependencyError("the CUDA kernels need a CUDA device and a CUDA build of torch",
                              hint="run on a GPU machine (scripts/gpu_check.sh)")
    return CudaKernels(library_path(SYMBOLS, path))
