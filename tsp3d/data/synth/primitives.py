"""Solid primitives furniture is built from: axis-aligned boxes, upright cylinders, spheres.

Each one can sample points uniformly on its surface (by area), say which points lie inside it (to drop surface
points another solid hides), and turn by a multiple of 90 degrees about z (which keeps boxes axis-aligned).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

ON_FLOOR = 1e-6  # a face this close to z = 0 rests on the floor and is never seen


def _rot90(xy: np.ndarray, quarter_turns: int) -> np.ndarray:
    x, y = xy[..., 0], xy[..., 1]
    for _ in range(quarter_turns % 4):
        x, y = -y, x
    return np.stack([x, y], axis=-1)


@dataclass(frozen=True)
class Box:
    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    shade: float = 1.0  # brightness factor of this part relative to the object's colour
    color: tuple[float, float, float] | None = None  # fixed colour (e.g. foliage) instead of the object's

    solid = True

    def _faces(self):
        lo, hi = np.array(self.lo), np.array(self.hi)
        d = hi - lo
        faces = []  # (axis, side value, area)
        for axis in range(3):
            a, b = [i for i in range(3) if i != axis]
            area = d[a] * d[b]
            for value, is_bottom in ((lo[axis], axis == 2), (hi[axis], False)):
                if is_bottom and value <= ON_FLOOR:
                    continue
                faces.append((axis, value, area))
        return faces

    def area(self) -> float:
        return float(sum(f[2] for f in self._faces()))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        faces = self._faces()
        areas = np.array([f[2] for f in faces])
        counts = rng.multinomial(n, areas / areas.sum())
        lo, hi = np.array(self.lo), np.array(self.hi)
        out = []
        for (axis, value, _), k in zip(faces, counts):
            p = lo + rng.random((k, 3)) * (hi - lo)
            p[:, axis] = value
            out.append(p)
        return np.concatenate(out) if out else np.zeros((0, 3))

    def contains(self, p: np.ndarray, margin: float) -> np.ndarray:
        lo, hi = np.array(self.lo) - margin, np.array(self.hi) + margin
        return np.all((p > lo) & (p < hi), axis=1)

    def aabb(self):
        return np.array(self.lo), np.array(self.hi)

    def moved(self, quarter_turns: int, offset) -> "Box":
        corners = np.array([self.lo[:2], self.hi[:2]])
        xy = _rot90(corners, quarter_turns)
        lo_xy, hi_xy = xy.min(axis=0) + offset[:2], xy.max(axis=0) + offset[:2]
        return replace(
            self,
            lo=(float(lo_xy[0]), float(lo_xy[1]), float(self.lo[2] + offset[2])),
            hi=(float(hi_xy[0]), float(hi_xy[1]), float(self.hi[2] + offset[2])),
        )


@dataclass(frozen=True)
class Cylinder:
    """Upright cylinder; ``top``/``bottom`` say which caps exist; a hollow one (no caps) hides nothing."""

    center: tuple[float, float]
    z0: float
    z1: float
    radius: float
    top: bool = True
    bottom: bool = True
    shade: float = 1.0
    color: tuple[float, float, float] | None = None

    @property
    def solid(self) -> bool:
        return self.top or self.bottom

    def _parts(self):
        side = 2 * np.pi * self.radius * (self.z1 - self.z0)
        cap = np.pi * self.radius**2
        parts = [("side", side)]
        if self.top:
            parts.append(("top", cap))
        if self.bottom and self.z0 > ON_FLOOR:
            parts.append(("bottom", cap))
        return parts

    def area(self) -> float:
        return float(sum(a for _, a in self._parts()))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        parts = self._parts()
        areas = np.array([a for _, a in parts])
        counts = rng.multinomial(n, areas / areas.sum())
        cx, cy = self.center
        out = []
        for (name, _), k in zip(parts, counts):
            theta = rng.random(k) * 2 * np.pi
            if name == "side":
                r = np.full(k, self.radius)
                z = self.z0 + rng.random(k) * (self.z1 - self.z0)
            else:
                r = self.radius * np.sqrt(rng.random(k))  # uniform on the disc
                z = np.full(k, self.z1 if name == "top" else self.z0)
            out.append(np.stack([cx + r * np.cos(theta), cy + r * np.sin(theta), z], axis=1))
        return np.concatenate(out) if out else np.zeros((0, 3))

    def contains(self, p: np.ndarray, margin: float) -> np.ndarray:
        cx, cy = self.center
        r2 = (p[:, 0] - cx) ** 2 + (p[:, 1] - cy) ** 2
        return (r2 < (self.radius + margin) ** 2) & (p[:, 2] > self.z0 - margin) & (p[:, 2] < self.z1 + margin)

    def aabb(self):
        cx, cy = self.center
        r = self.radius
        return np.array([cx - r, cy - r, self.z0]), np.array([cx + r, cy + r, self.z1])

    def moved(self, quarter_turns: int, offset) -> "Cylinder":
        xy = _rot90(np.array(self.center), quarter_turns) + offset[:2]
        return replace(self, center=(float(xy[0]), float(xy[1])), z0=self.z0 + offset[2], z1=self.z1 + offset[2])


@dataclass(frozen=True)
class Sphere:
    center: tuple[float, float, float]
    radius: float
    shade: float = 1.0
    color: tuple[float, float, float] | None = None

    solid = True

    def area(self) -> float:
        return float(4 * np.pi * self.radius**2)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        v = rng.normal(size=(n, 3))
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        return np.array(self.center) + self.radius * v

    def contains(self, p: np.ndarray, margin: float) -> np.ndarray:
        return np.sum((p - np.array(self.center)) ** 2, axis=1) < (self.radius + margin) ** 2

    def aabb(self):
        c = np.array(self.center)
        return c - self.radius, c + self.radius

    def moved(self, quarter_turns: int, offset) -> "Sphere":
        xy = _rot90(np.array(self.center[:2]), quarter_turns) + offset[:2]
        return replace(self, center=(float(xy[0]), float(xy[1]), float(self.center[2] + offset[2])))


Primitive = Box | Cylinder | Sphere
