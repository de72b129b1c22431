"""Shared fixtures: MinkowskiEngine (the official model's library, our oracle) and random sparse sets."""
from __future__ import annotations

import collections
import collections.abc
import json
import os
import warnings
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def import_minkowski():
    """Import MinkowskiEngine 0.5.4 or skip. On Python >= 3.10 it needs collections.Sequence (test-side shim)."""
    if not hasattr(collections, "Sequence"):
        collections.Sequence = collections.abc.Sequence  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import MinkowskiEngine as ME
        except ImportError as e:
            if os.environ.get("TSP3D_REQUIRE_ORACLE") == "1":
                raise  # CI installs ME: its absence there is a failure, not a skip
            pytest.skip(f"MinkowskiEngine not installed ({e}); scripts/setup.sh installs it")
    return ME


@pytest.fixture(scope="session")
def ME():
    return import_minkowski()


def random_coords(n: int, extent: int, stride: int = 1, batches: int = 1, seed: int = 0) -> torch.Tensor:
    """Unique int32 [<=n, 4] coordinates in [-extent, extent) * stride, spread over `batches` items, sorted."""
    g = torch.Generator().manual_seed(seed)
    xyz = torch.randint(-extent, extent, (n, 3), generator=g) * stride
    b = torch.randint(0, batches, (n, 1), generator=g)
    return torch.unique(torch.cat([b, xyz], dim=1), dim=0).to(torch.int32)


def sort_rows(coords: torch.Tensor, *feats: torch.Tensor):
    """Sort coordinate rows (and matching feature rows) by (batch, x, y, z): ME returns rows in hash order."""
    from tsp3d.sparse.coords import pack

    order = torch.argsort(pack(coords.to(torch.int32)))
    return (coords[order].to(torch.int32),) + tuple(f[order] for f in feats)


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    """A tiny synthetic dataset and a micro config (same topology as tiny, small sizes) so steps take ~0.1 s."""
    from tsp3d.data.synth import generate

    root = tmp_path_factory.mktemp("micro")
    data = root / "data"
    generate(data, train_scenes=3, val_scenes=2, points=3000, seed=1, workers=1)
    cfg = json.loads((Path(__file__).resolve().parents[1] / "tsp3d" / "configs" / "tiny.json").read_text())
    cfg["name"] = "micro"
    cfg["text_encoder"], cfg["text_dim"] = "tiny", _tiny_text_dim()
    cfg["backbone"].update(stem_channels=8, max_channels=16)
    cfg["head"].update(channels=16, attn_ffn=16, cba_samples=64, train_attn_samples=[16, 64], train_topk_32=64,
                       train_topk_16=[32, 64])
    cfg["capacities"]["max_points"] = 3000
    path = root / "micro.json"
    path.write_text(json.dumps(cfg))
    return data, path


def _tiny_text_dim() -> int:
    from tsp3d.text.registry import load_text_encoder

    return load_text_encoder("tiny").dim
