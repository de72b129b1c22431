"""Selection of the GEMM backend behind ``sparse_conv``: the PyTorch reference (always there) or spconv.

Only the gather-GEMM-scatter of ``sparse_conv`` is delegated; rulebooks, pooling, lookup and pruning always run
the reference code, so every backend sees the same kernel maps. Select with ``set_backend`` or the environment
variable ``TSP3D_SPARSE_BACKEND`` (``reference`` | ``spconv``).
"""
from __future__ import annotations

import functools
import os

from tsp3d.errors import DependencyError, SparseInputError

BACKENDS = ("reference", "spconv")
_state = {"name": None}


@functools.lru_cache(maxsize=None)
def spconv_available() -> bool:
    try:
        import spconv.pytorch  # noqa: F401
    except Exception:  # spconv missing, or its cumm build cannot load here
        return False
    return True


def set_backend(name: str) -> None:
    if name not in BACKENDS:
        raise SparseInputError(f"unknown sparse backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name == "spconv" and not spconv_available():
        raise DependencyError("the spconv backend needs spconv", hint="pip install spconv-cu126")
    _state["name"] = name


def get_backend() -> str:
    if _state["name"] is None:
        set_backend(os.environ.get("TSP3D_SPARSE_BACKEND", "reference"))
    return _state["name"]
