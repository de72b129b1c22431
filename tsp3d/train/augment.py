"""Training augmentation, after the official recipe (spec §7), applied to a scene's points and boxes together.

- Rotation about z: 90 deg * U{0..3} +- U(5 deg) with x/y flips (p = 0.5 each) when the sentence has no
  view-dependent word; only +- U(5 deg) otherwise (turning the room would change what "left" means).
- Tilt about x and y: +- U(2.5 deg). Per-point noise U(0, 5 mm) per axis. Shift U(-0.5, 0.5) m per axis.
  Scale U(0.98, 1.02). Colour x U(0.98, 1.02) per point and channel (clipped to [0, 1]).
- Boxes: recomputed from the augmented object points (min/max) as the official code does, when the scene records
  which object each point belongs to (the synthetic benchmark does); otherwise each box becomes the axis-aligned
  hull of its transformed corners (exact for the 90-degree turns and flips, a few mm larger for the small tilts).
  Sizes are then jittered x U(0.95, 1.05). The official code also multiplies the *centres* by that jitter (spec
  §14.8, a bug inherited from BUTD-DETR); we do not.
Every draw comes from the generator passed in, so an epoch's augmentation is reproducible from its seed.
"""
from __future__ import annotations

import numpy as np

VIEW_DEPENDENT_WORDS = ("front", "behind", "back", "left", "right", "facing", "leftmost", "rightmost", "looking",
                        "across")


def is_view_dependent(text: str) -> bool:
    words = text.lower().replace(",", " ").replace(".", " ").split()
    return any(w in VIEW_DEPENDENT_WORDS for w in words)


def _rot(axis: int, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    i, j = [a for a in range(3) if a != axis]
    m = np.eye(3)
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def random_transform(rng: np.random.Generator, view_dependent: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """(3x3 linear part, shift [3], scale) of one draw."""
    small = np.deg2rad(5.0)
    theta = rng.uniform(-small, small)
    flip = np.eye(3)
    if not view_dependent:
        theta += np.pi / 2 * rng.integers(0, 4)
        if rng.random() < 0.5:
            flip[0, 0] = -1.0
        if rng.random() < 0.5:
            flip[1, 1] = -1.0
    tilt = np.deg2rad(2.5)
    m = _rot(0, rng.uniform(-tilt, tilt)) @ _rot(1, rng.uniform(-tilt, tilt)) @ _rot(2, theta) @ flip
    shift = rng.uniform(-0.5, 0.5, size=3)
    scale = rng.uniform(0.98, 1.02)
    return m, shift, scale


def transform_boxes(boxes: np.ndarray, m: np.ndarray, shift: np.ndarray, scale: float) -> np.ndarray:
    """Axis-aligned hull of each transformed box ``[M, 6]`` (centre, size)."""
    if boxes.shape[0] == 0:
        return boxes.copy()
    signs = np.array([[sx, sy, sz] for sx in (-0.5, 0.5) for sy in (-0.5, 0.5) for sz in (-0.5, 0.5)])
    corners = boxes[:, None, :3] + signs[None] * boxes[:, None, 3:]
    moved = (corners @ m.T) * scale + shift
    lo, hi = moved.min(axis=1), moved.max(axis=1)
    return np.concatenate([(lo + hi) / 2, hi - lo], axis=1).astype(np.float32)


def boxes_from_points(xyz: np.ndarray, point_objects: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Min/max box of each object's points; objects without points keep their ``fallback`` box."""
    out = fallback.copy()
    for j in range(fallback.shape[0]):
        mine = xyz[point_objects == j]
        if mine.shape[0]:
            lo, hi = mine.min(axis=0), mine.max(axis=0)
            out[j] = np.concatenate([(lo + hi) / 2, hi - lo])
    return out


def augment(points: np.ndarray, boxes: np.ndarray, text: str, rng: np.random.Generator,
            view_dependent: bool | None = None, point_objects: np.ndarray | None = None):
    """Return augmented copies ``(points [N, 6], boxes [M, 6])``.

    ``view_dependent``: whether turning the room changes the sentence's meaning; when the dataset does not say
    (``None``), the official keyword rule decides. ``point_objects``: object index of each point (-1 = none).
    """
    if view_dependent is None:
        view_dependent = is_view_dependent(text)
    m, shift, scale = random_transform(rng, view_dependent)
    xyz = points[:, :3].astype(np.float64) @ m.T
    xyz += rng.uniform(0.0, 0.005, size=xyz.shape)
    xyz = xyz * scale + shift
    rgb = np.clip(points[:, 3:6] * rng.uniform(0.98, 1.02, size=(points.shape[0], 3)), 0.0, 1.0)
    out_boxes = transform_boxes(boxes.astype(np.float64), m, shift, scale)
    if point_objects is not None:
        out_boxes = boxes_from_points(xyz, point_objects, out_boxes)
    out_boxes[:, 3:] *= rng.uniform(0.95, 1.05, size=(out_boxes.shape[0], 3))
    return np.concatenate([xyz, rgb], axis=1).astype(np.float32), out_boxes.astype(np.float32)
