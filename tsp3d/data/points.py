"""Point-cloud helpers the model input needs: deterministic subsampling and colour conventions.

Colours inside the toolkit are floats in [0, 1]. The official TSP3D code divides 8-bit colours by **256** (not 255)
and then subtracts ``MEAN_RGB``; ``colors_to_unit`` and ``normalize_colors`` reproduce that, so a cloud read here
feeds an official checkpoint exactly what the official pipeline would.
"""
from __future__ import annotations

import numpy as np

DEFAULT_SEED = 1184  # the official code seeds numpy's global RNG with 1184 before picking its 50k points
COLOR_DIVISOR = 256.0  # the official code: rgb / 256
MEAN_RGB = np.array([109.8, 97.2, 83.8], dtype=np.float32) / np.float32(COLOR_DIVISOR)
GREY = 0.5  # colour given to clouds that have none (xyz only)


def subsample_indices(num_points: int, n: int, seed: int = DEFAULT_SEED) -> np.ndarray:
    """Rows to keep to get exactly ``n`` points out of ``num_points``.

    Without replacement when there are enough points, with replacement only when there are fewer (as the official
    code). Uses numpy's legacy ``RandomState(seed).choice``, which draws the same rows as the official
    ``np.random.seed(1184); np.random.choice(...)`` for the same cloud size.
    """
    if num_points <= 0:
        raise ValueError(f"cannot subsample an empty cloud (num_points={num_points})")
    if n <= 0:
        raise ValueError(f"n must be > 0, got {n}")
    rng = np.random.RandomState(seed)
    return rng.choice(num_points, n, replace=num_points < n)


def subsample(points: np.ndarray, n: int, seed: int = DEFAULT_SEED) -> np.ndarray:
    """``points [N, C]`` -> ``[n, C]`` rows picked by ``subsample_indices``."""
    return points[subsample_indices(points.shape[0], n, seed)]


def colors_to_unit(rgb: np.ndarray) -> np.ndarray:
    """Bring colours to float32 [0, 1] by this rule (documented in docs/data-format.md):

    - integer dtype (e.g. PLY ``uchar``): values must be in 0..255; divided by 256 (the official convention);
    - float dtype with max <= 1: taken as is;
    - float dtype with max in (1, 255]: 8-bit values stored as floats; divided by 256;
    - anything negative, above 255 or non-finite is refused (``ValueError``).
    """
    rgb = np.asarray(rgb)
    if rgb.size == 0:
        return rgb.astype(np.float32)
    if np.issubdtype(rgb.dtype, np.integer) or rgb.dtype == np.bool_:
        lo, hi = int(rgb.min()), int(rgb.max())
        if lo < 0 or hi > 255:
            raise ValueError(f"integer colours must be in 0..255, found values in [{lo}, {hi}]")
        return (rgb.astype(np.float32) / np.float32(COLOR_DIVISOR)).astype(np.float32)
    if not np.all(np.isfinite(rgb)):
        raise ValueError("colours contain NaN or Inf")
    lo, hi = float(rgb.min()), float(rgb.max())
    if lo < 0:
        raise ValueError(f"colours must be >= 0, found {lo}")
    if hi <= 1.0:
        return rgb.astype(np.float32)
    if hi <= 255.0:
        return (rgb.astype(np.float32) / np.float32(COLOR_DIVISOR)).astype(np.float32)
    raise ValueError(f"float colours must be in [0, 1] or [0, 255], found values up to {hi}")


def normalize_colors(points: np.ndarray) -> np.ndarray:
    """Model input: a float32 copy of ``points [N, 6]`` with r, g, b (in [0, 1]) minus ``MEAN_RGB``."""
    if points.ndim != 2 or points.shape[1] != 6:
        raise ValueError(f"points must be [N, 6] (x, y, z, r, g, b), got {points.shape}")
    out = points.astype(np.float32, copy=True)
    out[:, 3:6] -= MEAN_RGB
    return out


def denormalize_colors(points: np.ndarray) -> np.ndarray:
    """Inverse of ``normalize_colors`` (for visualisation)."""
    out = points.astype(np.float32, copy=True)
    out[:, 3:6] += MEAN_RGB
    return out
