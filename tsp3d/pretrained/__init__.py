"""Pretrained tsp3d models shipped with the package, usable by name wherever a checkpoint path is taken
(``tsp3d ground/export/validate/eval --checkpoint tiny-synrefer``).

Each is a weights-only ``.safetensors`` file (model state + config + provenance in its metadata; see
``tsp3d.checkpoint.save_weights``) with a model card next to it (``<name>.md``: how it was trained, its measured
accuracy, how to reproduce it).
"""
from __future__ import annotations

from pathlib import Path

from tsp3d.errors import CheckpointError

PRETRAINED_DIR = Path(__file__).resolve().parent
MODELS = {"tiny-synrefer": "tiny-synrefer.safetensors"}


def pretrained_path(name: str) -> Path:
    """The packaged file of pretrained model ``name``."""
    if name not in MODELS:
        raise CheckpointError(f"unknown pretrained model {name!r}", hint=f"known: {', '.join(sorted(MODELS))}")
    path = PRETRAINED_DIR / MODELS[name]
    if not path.is_file():
        raise CheckpointError(f"pretrained model {name!r} is not installed ({path} is missing)")
    return path


def resolve_checkpoint(value) -> Path:
    """A checkpoint path as given, or, for a pretrained model name that is not an existing path, its file."""
    path = Path(value)
    if str(value) in MODELS and not path.exists():
        return pretrained_path(str(value))
    return path
