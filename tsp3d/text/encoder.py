"""The text-encoder interface: tokenize + encode -> last hidden state [B, L, D] and padding mask.

Encoders are frozen (no gradients, always in eval mode, so no dropout: deterministic features; the official code
leaves RoBERTa's dropout active while training). Texts are checked: empty text is an error, and a text longer than
the encoder's maximum is refused unless the caller asks for truncation (then it is truncated with a warning).
Any Unicode text is accepted as the tokenizer normalises it (MiniLM's: lower case, accents stripped, control
characters dropped; characters outside its vocabulary become ``[UNK]``), but a text with no token the vocabulary
knows (only emoji, control or zero-width characters, ...) is refused: its features would carry no meaning.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from tsp3d.errors import InputFileError


@dataclass
class TextFeatures:
    feats: torch.Tensor  # float32 [B, L, D]: the encoder's last hidden state
    pad_mask: torch.Tensor  # bool [B, L]: True at padding (official ``attention_mask.ne(1)``)

    def __len__(self) -> int:
        return self.feats.shape[0]


class TextEncoder:
    """A frozen Hugging Face encoder and its tokenizer. ``name``, ``dim`` and ``max_length`` describe it."""

    def __init__(self, name: str, model, tokenizer, max_length: int, source: str = ""):
        self.name, self.model, self.tokenizer, self.max_length, self.source = name, model, tokenizer, max_length, source
        self.model.eval()
        self.model.requires_grad_(False)
        self.dim = int(model.config.hidden_size)

    def __repr__(self) -> str:
        return f"TextEncoder({self.name!r}, dim={self.dim}, max_length={self.max_length})"

    def _check_texts(self, texts) -> list[str]:
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        if not texts:
            raise InputFileError("no text given")
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise InputFileError(f"text {i} is a {type(t).__name__}, not a string")
            if not t.strip():
                raise InputFileError(f"text {i} is empty", hint="give a referring expression, e.g. 'the black chair'")
        return texts

    def tokenize(self, texts, truncate: bool = False) -> dict[str, torch.Tensor]:
        """``input_ids`` and ``attention_mask`` (int64 [B, L], padded to the longest text)."""
        texts = self._check_texts(texts)
        all_ids = self.tokenizer(texts, add_special_tokens=True, verbose=False)["input_ids"]  # no length chatter
        meaningless = set(self.tokenizer.all_special_ids) | {self.tokenizer.unk_token_id}
        for i, ids in enumerate(all_ids):
            if all(t in meaningless for t in ids):
                raise InputFileError(
                    f"text {i} ({texts[i][:40]!r}) has no word or character the {self.name} encoder knows",
                    hint="give a referring expression in words, e.g. 'the black chair'")
        lengths = [len(ids) for ids in all_ids]
        too_long = [(i, n) for i, n in enumerate(lengths) if n > self.max_length]
        if too_long and not truncate:
            i, n = too_long[0]
            raise InputFileError(
                f"text {i} has {n} tokens, more than the {self.max_length} the {self.name} encoder accepts",
                hint="shorten the text (or ask for truncation explicitly)")
        if too_long:
            warnings.warn(f"{len(too_long)} text(s) truncated to {self.max_length} tokens ({self.name})",
                          stacklevel=2)
        enc = self.tokenizer(texts, padding="longest", truncation=bool(too_long), max_length=self.max_length,
                             return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}

    @torch.no_grad()
    def encode(self, texts, truncate: bool = False) -> TextFeatures:
        tokens = self.tokenize(texts, truncate)
        device = next(self.model.parameters()).device
        out = self.model(input_ids=tokens["input_ids"].to(device),
                         attention_mask=tokens["attention_mask"].to(device))
        return TextFeatures(out.last_hidden_state.float(), tokens["attention_mask"].to(device) == 0)
