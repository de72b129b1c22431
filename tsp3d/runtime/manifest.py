"""Reading an exported bundle (``tsp3d export``): its ``manifest.json``, graph paths and file hashes.

Needs neither torch nor onnx: a robot with only ONNX Runtime (or TensorRT) reads bundles with this.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tsp3d.errors import InputFileError, ModelFormatError

FORMAT = "tsp3d-onnx-bundle"  # = tsp3d.export.metadata.FORMAT
FORMAT_VERSION = 1
OPSET = ("tsp3d", 1)
KINDS = ("single", "backbone", "head")


def _positive_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _model_section_problem(model) -> str | None:
    """What is wrong with ``manifest["model"]`` (the facts every runtime reads), or None."""
    if not isinstance(model, dict):
        return "model is not an object"
    if not _positive_int(model.get("text_dim")):
        return "model.text_dim is missing or not a positive integer"
    vs = model.get("voxel_size")  # optional: without it only the graph's Voxelize checks the coordinate range
    if vs is not None and (isinstance(vs, bool) or not isinstance(vs, (int, float)) or not vs > 0):
        return f"model.voxel_size {vs!r} is not a positive number"
    caps = model.get("capacities")
    if not isinstance(caps, dict) or not _positive_int(caps.get("max_points")):
        return "model.capacities.max_points is missing or not a positive integer"
    bad = sorted(k for k, v in caps.items() if not _positive_int(v))
    if bad:
        return f"model.capacities.{bad[0]} is not a positive integer"
    if not isinstance(model.get("count_names"), list):
        return "model.count_names is missing"
    return _config_problem(model.get("config"))


def _config_problem(config) -> str | None:
    """The model config the pre-run memory check reads (tsp3d.runtime.scene_memory.ModelFacts)."""
    from tsp3d.runtime.scene_memory import ModelFacts

    if not isinstance(config, dict):
        return "model.config is missing"
    try:
        ModelFacts.from_config(config)
    except (KeyError, TypeError, ValueError) as e:
        return f"model.config lacks or mistypes {e}"
    return None


class Bundle:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        path = self.root / "manifest.json"
        if not self.root.is_dir():
            raise InputFileError(f"ONNX bundle {self.root} is not a directory", hint="create one with tsp3d export")
        if not path.is_file():
            raise InputFileError(f"{self.root} has no manifest.json: not a tsp3d export bundle",
                                 hint="create one with tsp3d export")
        try:
            self.manifest = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelFormatError(f"{path} is not readable JSON: {e}") from e
        m = self.manifest
        if m.get("format") != FORMAT:
            raise ModelFormatError(f"{path}: format {m.get('format')!r}, expected {FORMAT!r}")
        if m.get("format_version") != FORMAT_VERSION:
            raise ModelFormatError(f"{path}: bundle format version {m.get('format_version')!r}; this tsp3d reads "
                                   f"version {FORMAT_VERSION}", hint="re-export the checkpoint with this tsp3d")
        opset = m.get("opset") or {}
        if (opset.get("domain"), opset.get("version")) != OPSET:
            raise ModelFormatError(f"{path}: opset {opset.get('domain')}:{opset.get('version')}, this tsp3d runs "
                                   f"{OPSET[0]}:{OPSET[1]}", hint="re-export the checkpoint with this tsp3d")
        for key in ("model", "graphs", "files"):
            if key not in m:
                raise ModelFormatError(f"{path} lacks {key!r}", hint="re-export the checkpoint with this tsp3d")
        problem = _model_section_problem(m["model"])
        if problem:
            raise ModelFormatError(f"{path}: {problem}", hint="re-export the checkpoint with this tsp3d")

    # ---------------------------------------------------------------- facts

    @property
    def precisions(self) -> list[str]:
        return [p for p in ("fp32", "fp16", "int8") if p in self.manifest["graphs"]]

    @property
    def text_dim(self) -> int:
        return int(self.manifest["model"]["text_dim"])

    @property
    def max_points(self) -> int:
        return int(self.manifest["model"]["capacities"]["max_points"])

    @property
    def voxel_size(self) -> float | None:
        """Metres per base voxel (None in a manifest without it: then only the graph's Voxelize checks range)."""
        v = self.manifest["model"].get("voxel_size")
        return None if v is None else float(v)

    @property
    def capacities(self) -> dict[str, int]:
        return dict(self.manifest["model"]["capacities"])

    @property
    def count_names(self) -> list[str]:
        return list(self.manifest["model"]["count_names"])

    @property
    def text_encoder(self) -> dict:
        return dict(self.manifest.get("text_encoder") or {})

    def graph(self, precision: str = "fp32", kind: str = "single") -> Path:
        """Path of a graph (``kind``: single, backbone, head); a clear error when the bundle lacks it."""
        graphs = self.manifest["graphs"]
        if precision not in graphs:
            raise InputFileError(f"{self.root} has no {precision} graphs (has {', '.join(self.precisions)})",
                                 hint={"fp16": "export with --fp16", "int8": "export with --int8 --calibration DIR"}.get(precision))
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        path = self.root / graphs[precision][kind]["file"]
        if not path.is_file():
            raise InputFileError(f"{path} is missing from the bundle")
        return path

    def path(self, relative: str) -> Path:
        return self.root / relative

    def verify(self) -> None:
        """Every file listed in the manifest exists with its recorded sha256 (ModelFormatError otherwise)."""
        for rel, entry in self.manifest["files"].items():
            p = self.root / rel
            if not p.is_file():
                raise ModelFormatError(f"{p} (listed in manifest.json) is missing")
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            if h.hexdigest() != entry["sha256"]:
                raise ModelFormatError(f"{p} does not match its sha256 in manifest.json (modified or corrupt)")
