"""Text features at run time from a bundle, without PyTorch: ``text_features.npz`` and ``text_encoder.onnx``.

``BundleText(bundle).encode(sentence)`` returns the sentence's pre-encoded features when the bundle has them
(robots with a fixed command vocabulary), else runs the exported encoder (``tokenizers`` + ONNX Runtime).
Either way the result is ``[1, L, D]`` features of the sentence's own tokens and a mask of False.
"""
from __future__ import annotations

import numpy as np

from tsp3d.errors import DependencyError, InputFileError, ModelFormatError
from tsp3d.runtime.base import TextInput
from tsp3d.runtime.manifest import Bundle


class FeatureTable:
    """The sentences of ``text_features.npz``."""

    def __init__(self, path, encoder_name: str, dim: int):
        try:
            with np.load(path, allow_pickle=False) as z:
                texts, feats, mask, name = z["texts"], z["feats"], z["mask"], str(z["encoder"])
        except (OSError, KeyError, ValueError) as e:
            raise ModelFormatError(f"{path} is not a tsp3d text-feature file: {e}") from e
        if name != encoder_name or feats.ndim != 3 or feats.shape[2] != dim or mask.shape != feats.shape[:2]:
            raise ModelFormatError(f"{path}: features of encoder {name!r} with shape {list(feats.shape)}; the "
                                   f"bundle's model needs {encoder_name!r} features of dim {dim}")
        self.index = {str(t): i for i, t in enumerate(texts)}
        self.feats, self.mask = feats, mask

    def __contains__(self, text: str) -> bool:
        return text in self.index

    def get(self, text: str) -> TextInput:
        i = self.index[text]
        n = int((~self.mask[i]).sum())  # real tokens are a prefix
        return TextInput(self.feats[i:i + 1, :n].astype(np.float32), np.zeros((1, n), bool), text)


class OnnxTextEncoder:
    """``tokenizer/tokenizer.json`` + ``text_encoder.onnx`` on the CPU."""

    def __init__(self, bundle: Bundle, threads: int | None = None):
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as e:
            raise DependencyError(f"encoding text needs onnxruntime and tokenizers: {e}") from e
        info = bundle.text_encoder
        if "file" not in info:
            raise InputFileError(f"{bundle.root} has no text encoder (exported with --no-text-encoder)",
                                 hint="give text features instead, or re-export with the text encoder")
        missing = [k for k in ("name", "dim", "max_length", "tokenizer") if k not in info]
        if missing:
            raise ModelFormatError(f"{bundle.root}/manifest.json: text_encoder lacks {missing}",
                                   hint="re-export the bundle with this tsp3d")
        tok_path = bundle.path(info["tokenizer"]) / "tokenizer.json"
        if not tok_path.is_file():
            raise ModelFormatError(f"{tok_path} is missing from the bundle")
        try:
            self.tokenizer = Tokenizer.from_file(str(tok_path))
        except Exception as e:  # tokenizers raises a bare Exception on bad JSON
            raise ModelFormatError(f"{tok_path} is not a readable tokenizer: {str(e).splitlines()[0]}") from e
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        unk = getattr(self.tokenizer.model, "unk_token", None)
        self.unk_id = self.tokenizer.token_to_id(unk) if unk else None
        so = ort.SessionOptions()
        so.log_severity_level = 4  # failures come back as exceptions
        if threads:
            so.intra_op_num_threads = int(threads)
        graph = bundle.path(info["file"])
        try:
            self.session = ort.InferenceSession(str(graph), sess_options=so, providers=["CPUExecutionProvider"])
        except Exception as e:
            raise ModelFormatError(f"ONNX Runtime cannot load the text encoder {graph}: "
                                   f"{' '.join(str(e).split())[:300]}",
                                   hint="re-export the bundle with this tsp3d") from e
        self.name, self.dim, self.max_length = info["name"], int(info["dim"]), int(info["max_length"])

    def encode(self, text: str) -> TextInput:
        if not isinstance(text, str) or not text.strip():
            raise InputFileError("empty text", hint="give a referring expression, e.g. 'the black chair'")
        enc = self.tokenizer.encode(text)
        ids = enc.ids
        if all(special or t == self.unk_id for t, special in zip(ids, enc.special_tokens_mask)):
            raise InputFileError(f"text {text[:40]!r} has no word or character the {self.name} encoder knows",
                                 hint="give a referring expression in words, e.g. 'the black chair'")
        if len(ids) > self.max_length:
            raise InputFileError(f"the text has {len(ids)} tokens, more than the {self.max_length} the "
                                 f"{self.name} encoder accepts", hint="shorten the text")
        input_ids = np.asarray([ids], dtype=np.int64)
        feats, mask = self.session.run(None, {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)})
        return TextInput(feats.astype(np.float32), mask.astype(bool), text)


class BundleText:
    """Sentence -> TextInput from a bundle: the feature table first, then the encoder (loaded on first use)."""

    def __init__(self, bundle: Bundle, threads: int | None = None):
        self.bundle, self.threads = bundle, threads
        info = bundle.text_encoder
        feats = info.get("features")
        self.table = (FeatureTable(bundle.path(feats["file"]), info.get("name"), bundle.text_dim)
                      if feats else None)
        self._encoder = None

    def encode(self, text: str) -> TextInput:
        if self.table is not None and text in self.table:
            return self.table.get(text)
        if "file" not in self.bundle.text_encoder:
            raise InputFileError(f"{text!r} is not among the bundle's pre-encoded sentences and the bundle has no "
                                 f"text encoder", hint="re-export with the text encoder or with this sentence")
        if self._encoder is None:
            self._encoder = OnnxTextEncoder(self.bundle, self.threads)
        return self._encoder.encode(text)
