"""Frozen text encoders behind one interface (see encoder.py) and a per-utterance feature cache."""
from tsp3d.text.cache import TextFeatureCache
from tsp3d.text.encoder import TextEncoder, TextFeatures
from tsp3d.text.registry import DEFAULT, ENCODERS, describe_default, info, load_text_encoder

__all__ = ["TextFeatureCache", "TextEncoder", "TextFeatures", "DEFAULT", "ENCODERS", "describe_default", "info",
           "load_text_encoder"]
