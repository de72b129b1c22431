"""Which code executes the sparse primitives (their meaning is always the PyTorch reference's):

- ``reference``: the PyTorch reference (always there; CPU and CUDA);
- ``spconv``: spconv's native gather-GEMM-scatter for ``sparse_conv`` only (rulebooks stay the reference's);
- ``cpp``: our C++ CPU kernels (libtsp3d_cpu.so) for every primitive on CPU tensors (CUDA tensors use the
  reference).
Select with ``set_backend`` or the environment variable ``TSP3D_SPARSE_BACKEND``.
"""
from __future__ import annotations

import functools
import os

from tsp3d.errors import DependencyError, SparseInputError

BACKENDS = ("reference", "spconv", "cpp")
_state = {"name": None}


@functools.lru_cache(maxsize=None)
def spconv_available() -> bool:
    try:
        import spconv.pytorch  # noqa: F401
    except Exception:  # spconv missing, or its cumm build cannot load here
        return False
    return True


def cpp_available() -> bool:
    from tsp3d.utils.libraries import find_library

    return find_library("cpu") is not None


def set_backend(name: str) -> None:
    if name not in BACKENDS:
        raise SparseInputError(f"unknown sparse backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name == "spconv" and not spconv_available():
        raise DependencyError("the spconv backend needs spconv", hint="pip install spconv-cu126")
    if name == "cpp" and not cpp_available():
        raise DependencyError("the cpp backend needs libtsp3d_cpu.so", hint="build it with scripts/build_plugins.sh")
    _state["name"] = name


def get_backend() -> str:
    if _state["name"] is None:
        set_backend(os.environ.get("TSP3D_SPARSE_BACKEND", "reference"))
    return _state["name"]
