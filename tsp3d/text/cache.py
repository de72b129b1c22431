"""Per-utterance text-feature cache for training: in memory, optionally on disk.

The encoder is frozen, so an utterance's features never change: encode each once. Disk entries live under
``<dir>/<encoder name>/<sha256(text)>.pt`` (written atomically, read with ``weights_only=True``) and store the text
itself, which is compared on load so a hash collision or a corrupt file is never used silently.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import torch

from tsp3d.text.encoder import TextEncoder, TextFeatures
from tsp3d.utils.atomic import write_bytes


def text_key(encoder_name: str, text: str) -> str:
    return hashlib.sha256(f"{encoder_name}\0{text}".encode("utf-8")).hexdigest()


class TextFeatureCache:
    def __init__(self, encoder: TextEncoder, directory: str | Path | None = None, truncate: bool = False):
        self.encoder, self.truncate = encoder, truncate
        self.dir = Path(directory) / encoder.name if directory is not None else None
        self._memory: dict[str, torch.Tensor] = {}
        self.hits = self.misses = 0

    def _path(self, text: str) -> Path:
        return self.dir / f"{text_key(self.encoder.name, text)}.pt"

    def _load(self, text: str) -> torch.Tensor | None:
        if self.dir is None or not self._path(text).is_file():
            return None
        try:
            entry = torch.load(self._path(text), weights_only=True)
        except Exception:  # unreadable entry: recompute and overwrite it
            return None
        if not isinstance(entry, dict) or entry.get("text") != text or entry.get("encoder") != self.encoder.name:
            return None
        feats = entry.get("feats")
        return feats if isinstance(feats, torch.Tensor) and feats.shape[-1:] == (self.encoder.dim,) else None

    def features(self, text: str) -> torch.Tensor:
        """[L, D] features of one utterance (its own tokens, no padding)."""
        if text in self._memory:
            self.hits += 1
            return self._memory[text]
        feats = self._load(text)
        if feats is None:
            self.misses += 1
            feats = self.encoder.encode([text], self.truncate).feats[0].cpu()
            if self.dir is not None:
                buf = io.BytesIO()
                torch.save({"text": text, "encoder": self.encoder.name, "feats": feats}, buf)
                write_bytes(self._path(text), buf.getvalue(), force=True)
        else:
            self.hits += 1
        self._memory[text] = feats
        return feats

    def encode(self, texts: list[str]) -> TextFeatures:
        """Like ``TextEncoder.encode``: features padded to the longest utterance, mask True at padding."""
        per_text = [self.features(t) for t in self.encoder._check_texts(texts)]
        length = max(f.shape[0] for f in per_text)
        feats = torch.zeros((len(per_text), length, self.encoder.dim))
        mask = torch.ones((len(per_text), length), dtype=torch.bool)
        for i, f in enumerate(per_text):
            feats[i, :f.shape[0]] = f
            mask[i, :f.shape[0]] = False
        return TextFeatures(feats, mask)
