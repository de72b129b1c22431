"""Axis-aligned 3D boxes: ``[..., 6]`` rows of centre (x, y, z) and size (dx, dy, dz), metres.

The IoU is the official grounding metric's (spec §10.5): corner intersection over union with sizes clamped to
>= 1e-6, and Acc@k counts IoU **strictly** greater than k. Evaluation code imports these.
"""
from __future__ import annotations

import numpy as np

MIN_SIZE = 1e-6  # the official evaluator clamps box sizes to this before the IoU


def to_corners(boxes: np.ndarray) -> np.ndarray:
    """``[..., 6]`` centre/size -> ``[..., 6]`` (xmin, ymin, zmin, xmax, ymax, zmax)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    half = np.maximum(boxes[..., 3:6], MIN_SIZE) / 2
    return np.concatenate([boxes[..., :3] - half, boxes[..., :3] + half], axis=-1)


def from_corners(corners: np.ndarray) -> np.ndarray:
    """``[..., 6]`` (min, max) -> ``[..., 6]`` centre/size."""
    corners = np.asarray(corners, dtype=np.float64)
    return np.concatenate([(corners[..., :3] + corners[..., 3:]) / 2, corners[..., 3:] - corners[..., :3]], axis=-1)


def box_of_points(xyz: np.ndarray) -> np.ndarray:
    """The axis-aligned min/max box of points ``[K, >=3]`` as centre/size (how the official code makes GT boxes)."""
    xyz = np.asarray(xyz)[:, :3]
    if xyz.shape[0] == 0:
        raise ValueError("box_of_points: no points")
    lo, hi = xyz.min(axis=0).astype(np.float64), xyz.max(axis=0).astype(np.float64)
    return np.concatenate([(lo + hi) / 2, hi - lo])


def axis_aligned_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of axis-aligned boxes, broadcasting ``a [..., 6]`` against ``b [..., 6]``; returns float64 ``[...]``."""
    ca, cb = to_corners(a), to_corners(b)
    lo = np.maximum(ca[..., :3], cb[..., :3])
    hi = np.minimum(ca[..., 3:], cb[..., 3:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=-1)
    vol_a = np.prod(ca[..., 3:] - ca[..., :3], axis=-1)
    vol_b = np.prod(cb[..., 3:] - cb[..., :3], axis=-1)
    return inter / (vol_a + vol_b - inter)


def pairwise_iou(boxes: np.ndarray) -> np.ndarray:
    """``[M, M]`` IoU of every pair of boxes ``[M, 6]``."""
    boxes = np.asarray(boxes)
    return axis_aligned_iou(boxes[:, None, :], boxes[None, :, :])


def hit(iou, threshold: float):
    """Acc@k's test: strictly greater than the threshold (as the official evaluator)."""
    return np.asarray(iou) > threshold
