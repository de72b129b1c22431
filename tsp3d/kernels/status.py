"""Kernel statuses as typed errors, for the ctypes wrappers of the CPU and CUDA kernels.

The codes and their texts are one table, ``plugins/kernels/include/tsp3d/status.h``: the name of a status (what
went wrong) and its hint (what to change) come from the loaded library through its C ABI (``tsp3d_status_string``
/ ``tsp3d_status_hint``, or the ``tsp3d_cuda_`` twins), as the ONNX Runtime and TensorRT glues read them from the
header. Python states only the codes it branches on (tests/test_kernel_status.py checks them against the header).
"""
from __future__ import annotations

import ctypes
from typing import Optional

from tsp3d.errors import CapacityError, SparseInputError

# tsp3d::Status codes this module and the wrappers branch on.
OK, CAPACITY_EXCEEDED, CUDA_ERROR, OUT_OF_MEMORY = 0, 1, 8, 9


class StatusTexts:
    """The status texts of one loaded kernel library; ``prefix`` is ``"tsp3d_"`` (CPU) or ``"tsp3d_cuda_"``."""

    def __init__(self, lib: ctypes.CDLL, prefix: str):
        self._name = getattr(lib, prefix + "status_string")
        self._hint = getattr(lib, prefix + "status_hint")
        for fn in (self._name, self._hint):
            fn.argtypes = [ctypes.c_int32]
            fn.restype = ctypes.c_char_p

    def name(self, status: int) -> str:
        return self._name(int(status)).decode()

    def hint(self, status: int) -> Optional[str]:
        return self._hint(int(status)).decode() or None

    def error(self, status: int, op: str, count: int = -1, capacity: int = 0,
              what: Optional[str] = None) -> Optional[Exception]:
        """The exception for a kernel's data status (None for OK): ``CapacityError`` over a capacity,
        ``MemoryError`` when an allocation failed, else ``SparseInputError``; ``what`` replaces the status name."""
        if status == OK:
            return None
        if status == CAPACITY_EXCEEDED:
            return CapacityError(f"{op} produced {count} rows, over its capacity of {capacity}",
                                 hint=self.hint(status))
        what = what or self.name(status)
        if status == OUT_OF_MEMORY:
            return MemoryError(f"{op}: {what}")
        return SparseInputError(f"{op}: {what}", hint=self.hint(status))
