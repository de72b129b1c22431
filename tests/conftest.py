"""Shared fixtures: MinkowskiEngine (the official model's library, our oracle) and random sparse sets."""
from __future__ import annotations

import collections
import collections.abc
import os
import warnings

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
