"""The engine manifest: what a serialized TensorRT engine was built with, written next to it.

    model.engine            the serialized engine
    model.engine.json       {"format": "tsp3d-engine", "format_version": 1, "engine": {file, sha256, bytes},
                             "tensorrt_version", "gpu": {name, compute_capability}, "plugin_library": {file,
                             sha256}, "kernel_library": {...}, "source_onnx": {file, sha256, graph, precision},
                             "profile": {input: {min, opt, max}}, "build": {...}, "tsp3d_version", "created_unix"}

An engine only loads with the TensorRT version and plugin library it was built with, on the GPU architecture it
was built for; TensorRT's own failure is a cryptic deserialization error (or worse, a plugin with other field
semantics). ``check_engine`` compares the manifest with what this machine has and refuses a mismatch with a
clear ``ModelFormatError`` before TensorRT sees the file.
"""
from __future__ import annotations

import json
from pathlib import Path

from tsp3d.errors import InputFileError, ModelFormatError

FORMAT = "tsp3d-engine"
FORMAT_VERSION = 1


def manifest_path(engine: str | Path) -> Path:
    engine = Path(engine)
    return engine.with_name(engine.name + ".json")


def file_entry(path: str | Path) -> dict:
    from tsp3d.export.metadata import sha256_file

    path = Path(path).resolve()
    return {"file": str(path), "sha256": sha256_file(path), "bytes": path.stat().st_size}


def make_manifest(*, engine: Path, tensorrt_version: str, gpu: dict, plugin: Path, kernels: Path | None,
                  source: Path, source_meta: dict, profile: dict, build: dict) -> dict:
    import time

    import tsp3d

    return {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "engine": {**file_entry(engine), "file": Path(engine).name},
        "tensorrt_version": str(tensorrt_version),
        "gpu": {"name": str(gpu.get("name", "")), "compute_capability": str(gpu.get("compute_capability", ""))},
        "plugin_library": file_entry(plugin),
        "kernel_library": file_entry(kernels) if kernels is not None and Path(kernels).is_file() else None,
        "source_onnx": {**file_entry(source), **source_meta},
        "profile": profile,
        "build": build,
        "tsp3d_version": tsp3d.__version__,
        "created_unix": int(time.time()),
    }


def read_manifest(engine: str | Path) -> dict:
    """The manifest of ``engine`` (``ModelFormatError`` when it is missing or malformed)."""
    engine = Path(engine)
    if not engine.is_file():
        raise InputFileError(f"engine {engine} does not exist")
    path = manifest_path(engine)
    if not path.is_file():
        raise ModelFormatError(f"{engine} has no manifest ({path.name}): its TensorRT version and plugin library "
                               f"are unknown", hint="build engines with tsp3d build-engine")
    try:
        m = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFormatError(f"{path} is not readable JSON: {e}") from e
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise ModelFormatError(f"{path} is not a tsp3d engine manifest")
    if m.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(f"{path}: manifest version {m.get('format_version')!r}, this tsp3d reads "
                               f"{FORMAT_VERSION}", hint="rebuild the engine with tsp3d build-engine")
    for key in ("engine", "tensorrt_version", "plugin_library", "gpu", "profile"):
        if key not in m:
            raise ModelFormatError(f"{path} lacks {key!r}")
    return m


def mismatches(manifest: dict, *, tensorrt_version: str, plugin_sha256: str,
               compute_capability: str | None = None) -> list[str]:
    """What differs between the build (``manifest``) and this machine; empty when the engine may be loaded."""
    out = []
    if manifest["tensorrt_version"] != str(tensorrt_version):
        out.append(f"built with TensorRT {manifest['tensorrt_version']}, this is TensorRT {tensorrt_version}")
    if manifest["plugin_library"]["sha256"] != plugin_sha256:
        out.append(f"built with another libtsp3d_trt.so (sha256 {manifest['plugin_library']['sha256'][:12]}..., "
                   f"this one {plugin_sha256[:12]}...)")
    built_cc = manifest["gpu"].get("compute_capability")
    if compute_capability is not None and built_cc and built_cc != str(compute_capability):
        out.append(f"built for compute capability {built_cc} ({manifest['gpu'].get('name')}), this GPU is "
                   f"{compute_capability}")
    return out


def check_engine(engine: str | Path, *, tensorrt_version: str, plugin: str | Path,
                 compute_capability: str | None = None) -> dict:
    """Refuse (``ModelFormatError``) an engine whose manifest does not match this TensorRT, plugin library and GPU,
    or whose file is not the one the manifest describes. Returns the manifest."""
    from tsp3d.export.metadata import sha256_file

    engine = Path(engine)
    m = read_manifest(engine)
    if sha256_file(engine) != m["engine"].get("sha256"):
        raise ModelFormatError(f"{engine} does not match the sha256 in {manifest_path(engine).name} (replaced or "
                               f"corrupt)", hint="rebuild the engine with tsp3d build-engine")
    problems = mismatches(m, tensorrt_version=tensorrt_version, plugin_sha256=sha256_file(plugin),
                          compute_capability=compute_capability)
    if problems:
        raise ModelFormatError(f"{engine} cannot be loaded here: " + "; ".join(problems),
                               hint="rebuild it on this machine: tsp3d build-engine <model.onnx> --out "
                                    f"{engine} --force")
    return m
