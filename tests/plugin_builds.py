"""Where the native build's files are, for the tests of the TensorRT plugin library and tsp3d_infer."""
from __future__ import annotations

from pathlib import Path

import pytest

from tsp3d.utils.libraries import search_dirs


def build_file(*parts: str) -> Path | None:
    """``<build>/<parts>`` of the first plugin build folder that has it (``bin/...``, ``lib/...``), else None."""
    for lib_dir in search_dirs():
        path = lib_dir.parent.joinpath(*parts)
        if path.is_file():
            return path
    return None


def built_binary(name: str, what: str | None = None) -> Path:
    """``<build>/bin/<name>``, or skip the test: it is built by scripts/build_plugins.sh with nvcc and TensorRT
    headers (``what``: how the skip names it, default ``name``)."""
    path = build_file("bin", name)
    if path is None:
        pytest.skip(f"{what or name} not built (scripts/build_plugins.sh with nvcc and TensorRT headers)")
    return path
