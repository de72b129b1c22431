"""Shared, cached artefacts for the export/runtime/validate/ground tests (one export per pytest process).

``tiny_checkpoint()``: a freshly initialised tiny model (1 attention layer per BiEncoder, the ``tiny`` text
encoder) saved with ``save_checkpoint``. ``shared_bundle()``: its FP32 + FP16 export with the text encoder and two
pre-encoded sentences. ``tiny_dataset()``: a small synthetic dataset. All live in one temporary directory removed
at exit. The few tests here check the helpers themselves.
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from tsp3d.utils.libraries import find_library

_ROOT = Path(tempfile.mkdtemp(prefix="tsp3d-export-tests-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
_CACHE: dict = {}
SENTENCES = ("the black chair next to the window", "the lamp")


def tiny_checkpoint() -> Path:
    if "ckpt" not in _CACHE:
        from tsp3d.checkpoint import save_checkpoint
        from tsp3d.model import TSP3D, load_config

        cfg = load_config("tiny").replace(text_encoder="tiny", text_dim=32)
        cfg.head.attn_layers = 1  # half the attention nodes: a faster export, the same graph structure
        torch.manual_seed(0)
        _CACHE["ckpt"] = save_checkpoint(_ROOT / "tiny.pt", TSP3D(cfg).eval())
    return _CACHE["ckpt"]


def shared_bundle() -> Path:
    """FP32 + FP16 graphs, text encoder, text_features.npz with ``SENTENCES``. Do not modify it in a test."""
    if "bundle" not in _CACHE:
        from tsp3d.bundle import export_bundle

        out = _ROOT / "bundle"
        _CACHE["manifest"] = export_bundle(tiny_checkpoint(), out, fp16=True, texts=list(SENTENCES))
        _CACHE["bundle"] = out
    return _CACHE["bundle"]


def tiny_dataset() -> Path:
    if "data" not in _CACHE:
        from tsp3d.data.synth import generate

        generate(_ROOT / "data", train_scenes=2, val_scenes=3, points=8000, workers=1)
        _CACHE["data"] = _ROOT / "data"
    return _CACHE["data"]


def scratch(name: str) -> Path:
    """A fresh directory for one test's outputs."""
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=_ROOT))
    return path


def room_points(n: int = 6000, seed: int = 0) -> np.ndarray:
    """A synthetic room [n, 6] (floor, walls, a few boxes), as the model tests use."""
    from test_model_forward import toy_room

    return toy_room(n, seed=seed)[0].numpy()


needs_ort = pytest.mark.skipif(find_library("ort") is None,
                               reason="libtsp3d_ort.so not built (bash scripts/build_plugins.sh)")


def test_tiny_checkpoint_loads_with_its_config():
    from tsp3d.checkpoint import load_model

    model, ckpt = load_model(tiny_checkpoint())
    assert ckpt.text_encoder == "tiny" and model.cfg.text_dim == 32 and model.cfg.head.attn_layers == 1


def test_room_points_are_valid_model_input():
    pts = room_points(3000, seed=1)
    assert pts.shape == (3000, 6) and pts.dtype == np.float32 and np.isfinite(pts).all()
    assert not np.array_equal(pts, room_points(3000, seed=2))
