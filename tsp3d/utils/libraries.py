"""Where the compiled plugin libraries are: ``TSP3D_PLUGIN_DIR``, else the repository's build/plugins/lib."""
from __future__ import annotations

import os
from pathlib import Path

from tsp3d.errors import DependencyError

LIBRARIES = {
    "ort": "libtsp3d_ort.so",  # ONNX Runtime custom ops (C++ CPU kernels)
    "cpu": "libtsp3d_cpu.so",  # the CPU kernels behind a C ABI (bench, tests)
    "cuda": "libtsp3d_cuda.so",  # the CUDA kernels behind a C ABI (GPU check)
    "trt": "libtsp3d_trt.so",  # TensorRT IPluginV3 plugins
}
REPO_ROOT = Path(__file__).resolve().parents[2]


def search_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("TSP3D_PLUGIN_DIR"):
        dirs.append(Path(os.environ["TSP3D_PLUGIN_DIR"]))
    dirs.append(REPO_ROOT / "build" / "plugins" / "lib")
    return dirs


def find_library(kind: str) -> Path | None:
    name = LIBRARIES[kind]
    for d in search_dirs():
        if (d / name).is_file():
            return d / name
    return None


def require_library(kind: str) -> Path:
    path = find_library(kind)
    if path is None:
        where = ", ".join(str(d) for d in search_dirs())
        raise DependencyError(
            f"{LIBRARIES[kind]} not found (searched {where})",
            hint="build it with ./scripts/setup.sh (or scripts/build_plugins.sh), or set TSP3D_PLUGIN_DIR",
        )
    return path
