"""The procedural grounding benchmark: indoor rooms, furniture, and verified referring expressions.

``generate(out_dir, ...)`` writes a dataset (docs/data-format.md); ``resolve(text, scene)`` re-checks a sentence.
Attributes load lazily so that importing the defaults (for the CLI) does not import numpy.
"""
from tsp3d.data.synth.defaults import DEFAULT_POINTS, DEFAULT_SEED, DEFAULT_TRAIN_SCENES, DEFAULT_VAL_SCENES

_LAZY = {
    "generate": "tsp3d.data.synth.benchmark",
    "GENERATOR_VERSION": "tsp3d.data.synth.benchmark",
    "generate_scene": "tsp3d.data.synth.scene",
    "resolve": "tsp3d.data.synth.resolver",
    "Resolution": "tsp3d.data.synth.resolver",
}
__all__ = ["DEFAULT_POINTS", "DEFAULT_SEED", "DEFAULT_TRAIN_SCENES", "DEFAULT_VAL_SCENES", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
