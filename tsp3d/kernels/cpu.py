"""ctypes wrapper of ``libtsp3d_cpu.so``: the C++ CPU kernels (plugins/kernels/cpu) on torch tensors.

Used by the parity tests, the benchmarks and the GPU check (as the CPU side). Same signatures and errors as the
reference ``tsp3d.sparse`` primitives: ``SparseInputError`` for bad input, ``CapacityError`` over a capacity.

    from tsp3d.kernels import cpu as cpu_kernels
    coords, first = cpu_kernels.voxelize(points, 0.01)      # the default library (cpu_kernels.load())
    k = cpu_kernels.load("/path/to/libtsp3d_cpu.so")        # or a given one
"""
from __future__ import annotations

import ctypes
import functools
from pathlib import Path
from typing import Optional

import torch

from tsp3d.errors import SparseInputError
from tsp3d.kernels.library import KernelLibrary, SymbolTable, conv_inputs, library_path, weight_scale_input
from tsp3d.kernels.library import ptr as _ptr
from tsp3d.kernels.status import CAPACITY_EXCEEDED, OK  # noqa: F401 (re-exported codes)

INT8_PATHS = ("portable", "avx2", "avx512vnni")  # tsp3d::cpu::Int8Path, slowest first

_i32, _i64, _f32, _p = ctypes.c_int32, ctypes.c_int64, ctypes.c_float, ctypes.c_void_p
_SIGNATURES = {
    "tsp3d_cpu_voxelize": [_p, _i64, _i64, _f32, _i32, _i64, _p, _p, _p],
    "tsp3d_cpu_coords_down": [_p, _i64, _i32, _i64, _p, _p],
    "tsp3d_cpu_coords_up": [_p, _i64, _i32, _i64, _p, _p],
    "tsp3d_cpu_kernel_map": [_p, _i64, _p, _i64, _i32, _i32, _i32, _p],
    "tsp3d_cpu_sparse_conv_f32": [_p, _i64, _i64, _p, _i64, _i64, _p, _i64, _p, _i32, _p],
    "tsp3d_cpu_sparse_conv_f16": [_p, _i64, _i64, _p, _i64, _i64, _p, _i64, _p, _i32, _p],
    "tsp3d_cpu_sparse_conv_i8": [_p, _f32, _i64, _i64, _p, _i64, _i64, _p, _p, _i64, _p, _i32, _p],
    "tsp3d_cpu_sparse_conv_i8_acc": [_p, _i64, _i64, _p, _i64, _i64, _p, _i64, _p],
    "tsp3d_cpu_set_int8_path": [ctypes.c_char_p],
    "tsp3d_cpu_int8_path_available": [ctypes.c_char_p],
    "tsp3d_cpu_sparse_max_pool_f32": [_p, _i64, _i64, _p, _i64, _i64, _p],
    "tsp3d_cpu_lookup": [_p, _i64, _p, _i64, _p],
    "tsp3d_cpu_prune_f32": [_p, _i64, _f32, _i32, _i64, _i64, _p, _p],
    "tsp3d_cpu_append_missing": [_p, _i64, _p, _i64, _i64, _p, _p, _p],
    "tsp3d_cpu_set_num_threads": [_i32],
}
SYMBOLS = SymbolTable("cpu", "tsp3d_", _SIGNATURES, strings=("tsp3d_cpu_int8_path", "tsp3d_cpu_int8_path_problem"))


def _coords(t, name: str) -> torch.Tensor:
    if not isinstance(t, torch.Tensor) or t.dtype != torch.int32 or t.dim() != 2 or t.shape[1] != 4:
        raise SparseInputError(f"{name} must be an int32 [N, 4] tensor, got {getattr(t, 'dtype', type(t))} "
                               f"{list(getattr(t, 'shape', []))}")
    return t.detach().cpu().contiguous()


def _tensor(t, name: str, dtypes: tuple, dim: int) -> torch.Tensor:
    if not isinstance(t, torch.Tensor) or t.dtype not in dtypes or t.dim() != dim:
        raise SparseInputError(f"{name} must be a {dim}-d tensor of {[str(d) for d in dtypes]}, got "
                               f"{getattr(t, 'dtype', type(t))} {list(getattr(t, 'shape', []))}")
    return t.detach().cpu().contiguous()


class CpuKernels(KernelLibrary):
    """The kernels of one loaded ``libtsp3d_cpu.so``."""

    def __init__(self, path: Path):
        super().__init__(path, SYMBOLS)

    # ------------------------------------------------------------------ plumbing

    def _check(self, status: int, op: str, count: int = -1, capacity: int = 0) -> None:
        if status == OK:
            return
        problem = self.lib.tsp3d_cpu_int8_path_problem()
        what = problem.decode() if problem and op.startswith("sparse_conv_int8") else None  # a bad TSP3D_INT8_PATH
        raise self.status.error(status, op, count, capacity, what)

    def _rows_op(self, fn, op: str, natural: int, capacity: int, width: int, args: list):
        """Call a data-dependent op with an output of min(capacity, natural) rows; return (count, buffers)."""
        if capacity < 0:
            raise SparseInputError(f"{op}: capacity must be >= 0, got {capacity}")
        room = natural if capacity <= 0 else min(capacity, natural)
        out = torch.empty((room, width) if width else (room,), dtype=torch.int32)
        count = ctypes.c_int64(-1)
        return out, count, room, fn(*args, room, _ptr(out), ctypes.byref(count))

    def set_num_threads(self, n: int) -> int:
        """Threads of the kernels' pool (0 = all hardware threads); returns the previous setting."""
        return int(self.lib.tsp3d_cpu_set_num_threads(int(n)))

    # ------------------------------------------------------------------ coordinates and rulebooks

    def voxelize(self, points: torch.Tensor, voxel_size: float, batch: int = 0, capacity: int = 0):
        p = _tensor(points, "points", (torch.float32,), 2)
        n = p.shape[0]
        room = n if capacity <= 0 else min(capacity, n)
        coords = torch.empty((room, 4), dtype=torch.int32)
        first = torch.empty((room,), dtype=torch.int32)
        count = ctypes.c_int64(-1)
        st = self.lib.tsp3d_cpu_voxelize(_ptr(p), n, p.shape[1], float(voxel_size), int(batch), room, _ptr(coords),
                                         _ptr(first), ctypes.byref(count))
        self._check(st, "voxelize", count.value, capacity)
        return coords[: count.value].clone(), first[: count.value].clone()

    def coords_down(self, coords: torch.Tensor, stride: int, capacity: int = 0) -> torch.Tensor:
        c = _coords(coords, "coords")
        out, count, _, st = self._rows_op(self.lib.tsp3d_cpu_coords_down, "coords_down", c.shape[0], capacity, 4,
                                          [_ptr(c), c.shape[0], int(stride)])
        self._check(st, f"coords_down(stride={stride})", count.value, capacity)
        return out[: count.value].clone()

    def coords_up(self, coords: torch.Tensor, stride: int, capacity: int = 0) -> torch.Tensor:
        c = _coords(coords, "coords")
        out, count, _, st = self._rows_op(self.lib.tsp3d_cpu_coords_up, "coords_up", 27 * c.shape[0], capacity, 4,
                                          [_ptr(c), c.shape[0], int(stride)])
        self._check(st, f"coords_up(stride={stride})", count.value, capacity)
        return out[: count.value].clone()

    def kernel_map(self, in_coords, out_coords, kernel_size: int, offset_stride: int, transposed: bool = False):
        a, b = _coords(in_coords, "in_coords"), _coords(out_coords, "out_coords")
        if kernel_size not in (1, 2, 3):
            raise SparseInputError(f"kernel_size must be one of (1, 2, 3), got {kernel_size}")
        nbr = torch.empty((b.shape[0], kernel_size**3), dtype=torch.int32)
        st = self.lib.tsp3d_cpu_kernel_map(_ptr(a), a.shape[0], _ptr(b), b.shape[0], kernel_size, int(offset_stride),
                                           int(bool(transposed)), _ptr(nbr))
        self._check(st, "kernel_map")
        return nbr

    # ------------------------------------------------------------------ rulebook application

    def sparse_conv(self, feats, nbr, weight, bias=None, activation: int = 0,
                    out: Optional[torch.Tensor] = None) -> torch.Tensor:
        """float32 or float16 (float32 accumulation) by the dtype of ``feats``; ``out`` (optional) is reused."""
        f, nb, w, b = conv_inputs(_tensor, feats, nbr, weight, bias)
        shape = (nb.shape[0], w.shape[2])
        if out is None:
            out = torch.empty(shape, dtype=f.dtype)
        elif tuple(out.shape) != shape or out.dtype != f.dtype or not out.is_contiguous() or out.device.type != "cpu":
            raise SparseInputError(f"out must be a contiguous CPU {f.dtype} tensor of shape {list(shape)}, got "
                                   f"{out.dtype} {list(out.shape)}")
        fn = self.lib.tsp3d_cpu_sparse_conv_f32 if f.dtype == torch.float32 else self.lib.tsp3d_cpu_sparse_conv_f16
        st = fn(_ptr(f), f.shape[0], f.shape[1], _ptr(nb), nb.shape[0], nb.shape[1], _ptr(w), w.shape[2], _ptr(b),
                int(activation), _ptr(out))
        self._check(st, "sparse_conv")
        return out

    def sparse_conv_int8(self, feats, feats_scale: float, nbr, weight, weight_scale, bias=None, activation: int = 0):
        f, nb, w, b = conv_inputs(_tensor, feats, nbr, weight, bias, int8=True)
        ws = weight_scale_input(_tensor, weight_scale, w)
        out = torch.empty((nb.shape[0], w.shape[2]), dtype=torch.float32)
        st = self.lib.tsp3d_cpu_sparse_conv_i8(_ptr(f), float(feats_scale), f.shape[0], f.shape[1], _ptr(nb),
                                               nb.shape[0], nb.shape[1], _ptr(w), _ptr(ws), w.shape[2], _ptr(b),
                                               int(activation), _ptr(out))
        self._check(st, "sparse_conv_int8")
        return out

    def sparse_conv_int8_acc(self, feats, nbr, weight) -> torch.Tensor:
        """The exact int32 accumulators of ``sparse_conv_int8`` (before scales, bias and activation)."""
        f, nb, w, _ = conv_inputs(_tensor, feats, nbr, weight, None, int8=True)
        acc = torch.empty((nb.shape[0], w.shape[2]), dtype=torch.int32)
        st = self.lib.tsp3d_cpu_sparse_conv_i8_acc(_ptr(f), f.shape[0], f.shape[1], _ptr(nb), nb.shape[0],
                                                   nb.shape[1], _ptr(w), w.shape[2], _ptr(acc))
        self._check(st, "sparse_conv_int8_acc")
        return acc

    # ------------------------------------------------------------------ int8 code paths

    def int8_paths(self) -> list[str]:
        """The int8 code paths this CPU (and build) has, ``portable`` always."""
        return [p for p in INT8_PATHS if self.lib.tsp3d_cpu_int8_path_available(p.encode())]

    def int8_path(self) -> str:
        """The path the int8 convs take now."""
        return self.lib.tsp3d_cpu_int8_path().decode()

    def set_int8_path(self, name: str) -> None:
        """Force an int8 path for this process (``auto``: by CPU features)."""
        if name != "auto" and name not in self.int8_paths():
            raise SparseInputError(f"int8 path {name!r} is not available here", hint=f"one of auto, "
                                   f"{', '.join(self.int8_paths())}")
        self._check(self.lib.tsp3d_cpu_set_int8_path(name.encode()), "set_int8_path")

    def sparse_max_pool(self, feats, nbr) -> torch.Tensor:
        """float32 kernel; float16 goes through float32 (exact: the max is one of the inputs)."""
        f = _tensor(feats, "feats", (torch.float32, torch.float16), 2)
        nb = _tensor(nbr, "nbr", (torch.int32,), 2)
        f32 = f.float().contiguous()
        out = torch.empty((nb.shape[0], f.shape[1]), dtype=torch.float32)
        st = self.lib.tsp3d_cpu_sparse_max_pool_f32(_ptr(f32), f.shape[0], f.shape[1], _ptr(nb), nb.shape[0],
                                                    nb.shape[1], _ptr(out))
        self._check(st, "sparse_max_pool")
        return out.to(f.dtype)

    # ------------------------------------------------------------------ lookup, prune, append

    def lookup(self, query, table) -> torch.Tensor:
        q, t = _coords(query, "query"), _coords(table, "table")
        idx = torch.empty((q.shape[0],), dtype=torch.int32)
        self._check(self.lib.tsp3d_cpu_lookup(_ptr(q), q.shape[0], _ptr(t), t.shape[0], _ptr(idx)), "lookup")
        return idx

    def prune(self, scores, threshold: float, mode: int = 0, min_keep: int = 1, capacity: int = 0) -> torch.Tensor:
        """float16 scores go through float32 (exact; the op compares in float32)."""
        s = _tensor(scores, "scores", (torch.float32, torch.float16), 1).float().contiguous()
        out, count, _, st = self._rows_op(self.lib.tsp3d_cpu_prune_f32, "prune", s.shape[0], capacity, 0,
                                          [_ptr(s), s.shape[0], float(threshold), int(mode), int(min_keep)])
        self._check(st, "prune", count.value, capacity)
        return out[: count.value].clone()

    def append_missing(self, coords_a, coords_b, capacity: int = 0):
        a, b = _coords(coords_a, "coords_a"), _coords(coords_b, "coords_b")
        natural = a.shape[0] + b.shape[0]
        room = natural if capacity <= 0 else min(capacity, natural)
        coords = torch.empty((room, 4), dtype=torch.int32)
        idx_b = torch.empty((max(room - a.shape[0], 0),), dtype=torch.int32)
        count = ctypes.c_int64(-1)
        st = self.lib.tsp3d_cpu_append_missing(_ptr(a), a.shape[0], _ptr(b), b.shape[0], room, _ptr(coords),
                                               _ptr(idx_b), ctypes.byref(count))
        self._check(st, "append_missing", count.value, capacity)
        return coords[: count.value].clone(), idx_b[: count.value - a.shape[0]].clone()


@functools.lru_cache(maxsize=None)
def load(path: Optional[str] = None) -> CpuKernels:
    """The CPU kernels (``TSP3D_PLUGIN_DIR`` or build/plugins/lib; DependencyError when not built)."""
    return CpuKernels(library_path(SYMBOLS, path))


# Module-level shortcuts to the default library: cpu_kernels.sparse_conv(...) == load().sparse_conv(...).
def voxelize(points, voxel_size, batch=0, capacity=0):
    return load().voxelize(points, voxel_size, batch, capacity)


def coords_down(coords, stride, capacity=0):
    return load().coords_down(coords, stride, capacity)


def coords_up(coords, stride, capacity=0):
    return load().coords_up(coords, stride, capacity)


def kernel_map(in_coords, out_coords, kernel_size, offset_stride, transposed=False):
    return load().kernel_map(in_coords, out_coords, kernel_size, offset_stride, transposed)


def sparse_conv(feats, nbr, weight, bias=None, activation=0, out=None):
    return load().sparse_conv(feats, nbr, weight, bias, activation, out)


def sparse_conv_int8(feats, feats_scale, nbr, weight, weight_scale, bias=None, activation=0):
    return load().sparse_conv_int8(feats, feats_scale, nbr, weight, weight_scale, bias, activation)


def sparse_conv_int8_acc(feats, nbr, weight):
    return load().sparse_conv_int8_acc(feats, nbr, weight)


def int8_paths() -> list[str]:
    return load().int8_paths()


def set_int8_path(name: str) -> None:
    load().set_int8_path(name)


def sparse_max_pool(feats, nbr):
    return load().sparse_max_pool(feats, nbr)


def lookup(query, table):
    return load().lookup(query, table)


def prune(scores, threshold, mode=0, min_keep=1, capacity=0):
    return load().prune(scores, threshold, mode, min_keep, capacity)


def append_missing(coords_a, coords_b, capacity=0):
    return load().append_missing(coords_a, coords_b, capacity)


def set_num_threads(n: int) -> int:
    return load().set_num_threads(n)
