"""Inputs of the benchmarks: scenes of the synthetic benchmark's generators and one sentence about each.

Scenes are generated in memory (deterministic: scene ``seed`` of the ``val`` split, generator seed 0): a single
room at any point count (``room_scene``: the end-to-end scene), or a multi-room floor of a given extent at the
generator's realistic point density (``floor_scene``: the scaling scenes, whose point count grows with the area).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def room_scene(points: int, seed: int = 0):
    """(points float32 [points, 6], first annotation's sentence) of generated room number ``seed``."""
    from tsp3d.data.synth import generate_scene

    scene, anns = generate_scene(index=seed, points=points, seed=0, split="val")
    return np.ascontiguousarray(scene.points, dtype=np.float32), anns[0].text


FLOOR_KIND = "apartment"  # rooms of a binary space partition joined by doors (tsp3d.data.synth.floorplan)


def floor_scene(width: float, depth: float, seed: int = 0, kind: str = FLOOR_KIND):
    """(points float32 [N, 6], first annotation's sentence) of a ``width`` x ``depth`` m multi-room floor."""
    from tsp3d.data.synth.multiroom import make_floor_scene

    scene, anns = make_floor_scene(seed=0, split="val", index=seed, width=width, depth=depth, kind=kind)
    return np.ascontiguousarray(scene.points, dtype=np.float32), anns[0].text


def room_points(points: int, seed: int = 0):
    """float32 torch tensor [points, 6] (x, y, z in metres, r, g, b in [0, 1]) of generated room ``seed``."""
    import torch

    return torch.from_numpy(room_scene(points, seed)[0])


def text_input(encoder: str, dim: int, sentence: str) -> dict:
    """The sentence's text features from ``encoder`` (what the model's text path gets: [1, L, dim] + padding mask).

    Without the encoder (not installed), seeded random features of the same shape stand in; ``source`` says which.
    Text encoding is not part of any timed run: the paper's numbers exclude the text encoder too.
    """
    try:
        from tsp3d.text import load_text_encoder

        t = load_text_encoder(encoder).encode([sentence])
        feats, mask, source = t.feats.detach().numpy(), t.pad_mask.numpy(), encoder
    except Exception as e:  # no encoder files here: a stand-in of the right shape
        rng = np.random.default_rng(0)
        feats = rng.standard_normal((1, 12, dim)).astype(np.float32)
        mask, source = np.zeros((1, 12), dtype=bool), f"random stand-in ({type(e).__name__}: {str(e)[:80]})"
    if feats.shape[2] != dim:
        raise ValueError(f"text encoder {encoder!r} gives {feats.shape[2]} features, the model expects {dim}")
    return {"feats": np.ascontiguousarray(feats, dtype=np.float32), "mask": np.ascontiguousarray(mask),
            "sentence": sentence, "source": source}


def save_inputs(path: Path, points: np.ndarray, text: dict) -> Path:
    """One ``.npz`` with the points and the text features (what a measurement subprocess reads)."""
    np.savez(path, points=points, text_feats=text["feats"], text_mask=text["mask"])
    return path


def load_inputs(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.load(path) as z:
        return z["points"], z["text_feats"], z["text_mask"]
