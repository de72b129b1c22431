"""Where the native build's files are, for the tests of the TensorRT plugin library and tsp3d_infer."""
from __future__ import annotations

from pathlib import Path

from tsp3d.utils.libraries import search_dirs


def build_file(*parts: str) -> Path | None:
    """``<build>/<parts>`` of the first plugin build folder that has it (``bin/...``, ``lib/...``), else None."""
    for lib_dir in search_dirs():
        path = lib_dir.parent.joinpath(*parts)
        if path.is_file():
            return path
    return None
