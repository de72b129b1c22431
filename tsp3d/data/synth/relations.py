"""Geometric meaning of every word of the grammar, computed from the scene's boxes alone.

Each predicate answers TRUE, FALSE or UNSURE. UNSURE is the band around a threshold where a person could
disagree; a sentence is only accepted when the target is clearly TRUE and every competitor clearly FALSE.

Canonical viewpoint (for left / right): the observer stands on the -y side of the room looking towards +y, with
z up. So "left" is smaller x and "right" larger x. Boxes are axis-aligned, so these are plain comparisons.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tsp3d.data.types import Scene

FALSE, TRUE, UNSURE = 0, 1, -1

NEXT_TO_NEAR = 0.60  # footprint gap (m) up to which two objects are clearly next to each other
NEXT_TO_FAR = 1.00  # ... and from which they clearly are not
SIDE_MARGIN = 0.10  # left/right: the target must clear the anchor's side by this much (UNSURE within it)
ON_TOLERANCE = 0.05  # on: |bottom of the target - top of the anchor|
UNDER_MARGIN = 0.10  # under: the target's top is at least this far below the anchor's top
BETWEEN_T = (0.15, 0.85, 0.0, 1.0)  # along anchor1 -> anchor2: TRUE inside [a, b], FALSE outside [c, d]
BETWEEN_D = (0.60, 1.00)  # distance from the segment: TRUE below the first, FALSE above the second
DISTANCE_MARGIN = 0.40  # closest/farthest: the winner must beat the runner-up by this (m)
POSITION_MARGIN = 0.30  # leftmost/rightmost: centre x must beat the runner-up by this (m)
VOLUME_RATIO = 1.35  # largest/smallest: volume ratio to the runner-up

BINARY_RELATIONS = ("next_to", "left_of", "right_of", "on", "under")
RELATIONS = BINARY_RELATIONS + ("between", "closest", "farthest")
SUPERLATIVES = ("leftmost", "rightmost", "largest", "smallest")
VIEW_DEPENDENT = {"left_of", "right_of", "leftmost", "rightmost"}


def _tri(true_mask: np.ndarray, false_mask: np.ndarray) -> np.ndarray:
    out = np.full(true_mask.shape, UNSURE, dtype=np.int8)
    out[false_mask] = FALSE
    out[true_mask] = TRUE
    return out


@dataclass
class SceneFacts:
    """Per-object class/colour/size and pairwise relation tables ``rel[name][target, anchor]``."""

    labels: list[str]
    colors: list[str]
    sizes: list[str]
    boxes: np.ndarray  # [M, 6] centre/size

    def __post_init__(self) -> None:
        b = np.asarray(self.boxes, dtype=np.float64)
        self.lo, self.hi = b[:, :3] - b[:, 3:] / 2, b[:, :3] + b[:, 3:] / 2
        self.center = b[:, :3]
        self.volume = np.prod(b[:, 3:], axis=1)
        m = len(b)
        eye = np.eye(m, dtype=bool)
        lo, hi = self.lo, self.hi
        # footprint gap: distance between the xy rectangles, 0 if they overlap
        dx = np.maximum(np.maximum(lo[:, None, 0] - hi[None, :, 0], lo[None, :, 0] - hi[:, None, 0]), 0)
        dy = np.maximum(np.maximum(lo[:, None, 1] - hi[None, :, 1], lo[None, :, 1] - hi[:, None, 1]), 0)
        gap = np.hypot(dx, dy)
        overlap = (dx == 0) & (dy == 0)
        self.xy_dist = np.linalg.norm(self.center[:, None, :2] - self.center[None, :, :2], axis=2)
        inside = (  # target centre inside the anchor's footprint
            (self.center[:, None, 0] > lo[None, :, 0]) & (self.center[:, None, 0] < hi[None, :, 0])
            & (self.center[:, None, 1] > lo[None, :, 1]) & (self.center[:, None, 1] < hi[None, :, 1])
        )
        left_clear = lo[None, :, 0] - hi[:, None, 0]  # anchor xmin - target xmax
        right_clear = lo[:, None, 0] - hi[None, :, 0]  # target xmin - anchor xmax
        on = inside & (np.abs(lo[:, None, 2] - hi[None, :, 2]) <= ON_TOLERANCE)
        under = inside & (hi[:, None, 2] < hi[None, :, 2] - UNDER_MARGIN)
        self.rel = {
            "next_to": _tri(~overlap & (gap <= NEXT_TO_NEAR), overlap | (gap >= NEXT_TO_FAR)),
            "left_of": _tri(left_clear >= SIDE_MARGIN, left_clear <= -SIDE_MARGIN),
            "right_of": _tri(right_clear >= SIDE_MARGIN, right_clear <= -SIDE_MARGIN),
            "on": _tri(on, ~on),
            "under": _tri(under, ~under),
        }
        for table in self.rel.values():
            table[eye] = FALSE

    @classmethod
    def from_scene(cls, scene: Scene) -> "SceneFacts":
        attrs = scene.object_attributes
        if "color" not in attrs or "size" not in attrs:
            raise ValueError(f"scene {scene.scene_id} has no colour/size attributes (not a synthetic scene)")
        return cls(list(scene.labels), list(attrs["color"]), list(attrs["size"]), np.asarray(scene.boxes))

    def __len__(self) -> int:
        return len(self.labels)

    def between(self, targets: np.ndarray, a: int, b: int) -> np.ndarray:
        """Tri-state "target is between a and b" for each index in ``targets``."""
        pa, pb = self.center[a, :2], self.center[b, :2]
        v = pb - pa
        length2 = float(v @ v)
        p = self.center[targets, :2]
        if length2 < 1e-9:
            return np.full(len(targets), FALSE, dtype=np.int8)
        t = (p - pa) @ v / length2
        dist = np.linalg.norm(p - (pa + t[:, None] * v), axis=1)
        t_in, t_out = (t >= BETWEEN_T[0]) & (t <= BETWEEN_T[1]), (t < BETWEEN_T[2]) | (t > BETWEEN_T[3])
        out = _tri(t_in & (dist <= BETWEEN_D[0]), t_out | (dist >= BETWEEN_D[1]))
        out[(targets == a) | (targets == b)] = FALSE
        return out

    def ranking_key(self, word: str, anchor: int | None = None) -> tuple[np.ndarray, float, bool]:
        """For a superlative or closest/farthest: (key per object, margin, lower_wins)."""
        if word == "leftmost":
            return self.center[:, 0], POSITION_MARGIN, True
        if word == "rightmost":
            return self.center[:, 0], POSITION_MARGIN, False
        if word == "smallest":
            return np.log(np.maximum(self.volume, 1e-12)), float(np.log(VOLUME_RATIO)), True
        if word == "largest":
            return np.log(np.maximum(self.volume, 1e-12)), float(np.log(VOLUME_RATIO)), False
        if word in ("closest", "farthest"):
            return self.xy_dist[:, anchor], DISTANCE_MARGIN, word == "closest"
        raise ValueError(f"not a ranking word: {word}")
