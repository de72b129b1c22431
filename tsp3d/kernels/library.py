"""The ctypes loader of the two kernel libraries: ``libtsp3d_cpu.so`` (``cpu``) and ``libtsp3d_cuda.so``
(``cuda``), each described by its own ``SymbolTable``.

Loading opens the library, gives every function of the table its argument types and its int32 status result (the
string functions their ``const char*`` result), and binds the status texts of ``tsp3d/status.h``
(``status.StatusTexts``). Nothing is loaded at import time, so the wrappers import without the built
libraries. The conv argument checks the two wrappers share live here too.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch

from tsp3d.errors import SparseInputError
from tsp3d.kernels.status import StatusTexts


@dataclass(frozen=True)
class SymbolTable:
    """What one kernel library exports: ``kind`` for ``tsp3d.utils.libraries``, the prefix of its status-text
    functions, the argument types of its status-returning functions, and its functions returning a string."""

    kind: str
    status_prefix: str
    signatures: dict
    strings: tuple = ()


class KernelLibrary:
    """One loaded kernel library: ``lib`` with the table's prototypes, ``status`` its status texts."""

    def __init__(self, path: Path, table: SymbolTable):
        self.path = Path(path)
        self.lib = ctypes.CDLL(str(self.path))
        for name, args in table.signatures.items():
            _prototype(getattr(self.lib, name), args, ctypes.c_int32)
        for name in table.strings:
            _prototype(getattr(self.lib, name), [], ctypes.c_char_p)
        self.status = StatusTexts(self.lib, table.status_prefix)


def _prototype(fn, argtypes: list, restype) -> None:
    fn.argtypes = argtypes
    fn.restype = restype


def library_path(table: SymbolTable, path: Optional[str]) -> Path:
    """``path`` if given, else the built library of the table's kind (DependencyError when not built)."""
    if path is not None:
        return Path(path)
    from tsp3d.utils.libraries import require_library

    return require_library(table.kind)


def ptr(t: Optional[torch.Tensor]):
    """The data pointer of ``t`` for a ctypes call (None for an absent optional input)."""
    return None if t is None else ctypes.c_void_p(t.data_ptr())


def conv_inputs(tensor, feats, nbr, weight, bias, int8: bool = False) -> tuple:
    """(feats, nbr, weight, bias) of SparseConv (float32 or float16 throughout) or, ``int8``, of SparseConvInt8
    (int8 feats and weight, float32 bias), each checked and placed by the wrapper's ``tensor(t, name, dtypes, dim)``,
    then checked against each other: feats [N, Cin], nbr [M, K], weight [K, Cin, Cout], bias [Cout] or None."""
    f = tensor(feats, "feats", (torch.int8,) if int8 else (torch.float32, torch.float16), 2)
    nb = tensor(nbr, "nbr", (torch.int32,), 2)
    w = tensor(weight, "weight", (f.dtype,), 3)
    b = None if bias is None else tensor(bias, "bias", (torch.float32 if int8 else f.dtype,), 1)
    if w.shape[0] != nb.shape[1] or w.shape[1] != f.shape[1]:
        raise SparseInputError(f"weight {list(w.shape)} does not match feats {list(f.shape)} and "
                               f"nbr {list(nb.shape)} (expected [K={nb.shape[1]}, Cin={f.shape[1]}, Cout])")
    if b is not None and list(b.shape) != [w.shape[2]]:
        raise SparseInputError(f"bias must have shape [{w.shape[2]}], got {list(b.shape)}")
    return f, nb, w, b


def weight_scale_input(tensor, weight_scale, weight: torch.Tensor) -> torch.Tensor:
    """SparseConvInt8's float32 [Cout] weight scales, checked and placed by ``tensor``."""
    ws = tensor(weight_scale, "weight_scale", (torch.float32,), 1)
    if ws.shape[0] != weight.shape[2]:
        raise SparseInputError(f"weight_scale must have shape [{weight.shape[2]}], got {list(ws.shape)}")
    return ws
