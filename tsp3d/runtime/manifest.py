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
                raise ModelFormatError(f"{path} lacks {key!r}")

    # ---------------------------------------------------------------- facts

    @property
    def precisions(self) -> list[str]:
        return [p for p in ("fp32", "fp16") if p in self.manifest["graphs"]]

    @property
    def text_dim(self) -> int:
        return int(self.manifest["model"]["text_dim"])

    @property
    def max_points(self) -> int:
        return int(self.manifest["model"]["capacities"]["max_points"])

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
                                 hint="export with --fp16" if precision == "fp16" else None)
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
