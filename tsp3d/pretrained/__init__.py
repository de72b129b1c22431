"""Pretrained tsp3d models shipped with the package, usable by name wherever a checkpoint path is taken
(``tsp3d ground/export/validate/eval --checkpoint tiny-synrefer``).

Each is a weights-only ``.safetensors`` file (model state + config + provenance in its metadata; see
``tsp3d.checkpoint.save_weights``) with its record ``<name>.json`` and model card ``<name>.md`` next to it
(``publish.py`` writes all three). The registry and the name resolution live in ``tsp3d.checkpoint`` (which loads
them); they are re-exported here.
"""
from tsp3d.checkpoint import PRETRAINED as MODELS
from tsp3d.checkpoint import PRETRAINED_DIR, pretrained_path, resolve_checkpoint

__all__ = ["MODELS", "PRETRAINED_DIR", "pretrained_path", "resolve_checkpoint"]
