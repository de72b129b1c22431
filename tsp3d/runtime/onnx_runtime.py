"""ONNX Runtime (CPU, our custom-op library) behind the runtime interface, from an export bundle.

``form="split"`` (default) runs ``backbone*.onnx`` once per scene and ``head*.onnx`` per sentence;
``form="single"`` runs ``model*.onnx`` per (scene, sentence) pair (the scene handle then keeps the points).
``precision`` picks the FP32 or FP16 graphs. Sessions are created on first use.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tsp3d.errors import InputFileError, Tsp3dError
from tsp3d.runtime.base import GroundingResult, Runtime, TextInput
from tsp3d.runtime.manifest import Bundle

LEVELS = ("v1_coords", "v1_feats", "v2_coords", "v2_feats", "v3_coords", "v3_feats")
FORMS = ("split", "single")


def _run(session, feeds: dict) -> list:
    """``ort_session.run`` (tsp3d op errors as CapacityError / SparseInputError); other failures become one line."""
    from tsp3d.runtime.ort_session import run

    try:
        return run(session, feeds)
    except Tsp3dError:
        raise
    except Exception as e:  # onnxruntime's own exception types (Fail, InvalidArgument, ...)
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise Tsp3dError(f"ONNX Runtime failed: {msg}") from e


class OnnxRuntime(Runtime):
    name = "onnxruntime"

    def __init__(self, bundle: str | Path | Bundle, precision: str = "fp32", form: str = "split",
                 threads: int | None = None, library: Path | None = None):
        self.bundle = bundle if isinstance(bundle, Bundle) else Bundle(bundle)
        if form not in FORMS:
            raise InputFileError(f"form must be one of {FORMS}, got {form!r}")
        self.bundle.graph(precision)  # a clear error when the bundle lacks this precision
        self.precision, self.form, self.threads, self.library = precision, form, threads, library
        self._sessions: dict = {}
        self._text = None
        super().__init__(self.bundle.text_dim, self.bundle.max_points, self.bundle.voxel_size)

    @property
    def label(self) -> str:
        return f"onnxruntime-{self.precision}" + ("-single" if self.form == "single" else "")

    def session(self, kind: str):
        """The ONNX Runtime session of graph ``kind`` (single, backbone, head)."""
        if kind not in self._sessions:
            from tsp3d.runtime.ort_session import make_session

            self._sessions[kind] = make_session(str(self.bundle.graph(self.precision, kind)), threads=self.threads,
                                                library=self.library)
        return self._sessions[kind]

    def _encode_scene(self, points: np.ndarray):
        if self.form == "single":
            return {"points": points}
        return dict(zip(LEVELS, _run(self.session("backbone"), {"points": points})))

    def _ground(self, levels: dict, text: TextInput) -> GroundingResult:
        feeds = {**levels, "text_feats": text.feats, "text_mask": text.mask}
        out = _run(self.session("single" if self.form == "single" else "head"), feeds)
        return GroundingResult.from_outputs(*out[:4])

    def encode_text(self, text: str) -> TextInput:
        if self._text is None:
            from tsp3d.runtime.text_encoder import BundleText

            self._text = BundleText(self.bundle, self.threads)
        return self._text.encode(text)

    def levels_numpy(self, levels: dict) -> list[np.ndarray]:
        if self.form == "single":
            raise InputFileError("the single-graph form has no level tensors; use form='split'")
        return [levels[k] for k in LEVELS]

    def run_head_with_extras(self, levels: dict, text: TextInput, proto, extra: list[str]):
        """Run a modified head graph ``proto`` (the bundle's head plus ``extra`` outputs, e.g. for validation)
        -> (result, {extra name: array}). The session is cached under the extra outputs' names."""
        key = ("head+", self.precision, tuple(extra))
        if key not in self._sessions:
            from tsp3d.runtime.ort_session import make_session

            self._sessions[key] = make_session(proto, threads=self.threads, library=self.library)
        out = _run(self._sessions[key], {**levels, "text_feats": text.feats, "text_mask": text.mask})
        return GroundingResult.from_outputs(*out[:4]), dict(zip(extra, out[4:]))

    def close(self) -> None:
        self._sessions.clear()
