"""The furniture classes: nominal size, shape (primitives), colours, and where each may stand.

Shapes are built in a local frame: footprint centred on the origin, bottom at z = 0, the object's back towards +y
(backrests, headboards, the back panel of a shelf). Placement turns them by multiples of 90 degrees.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from tsp3d.data.synth.palette import COLOR_NAMES, FOLIAGE
from tsp3d.data.synth.primitives import Box, Cylinder, Primitive, Sphere


def _box(x0, y0, z0, x1, y1, z1, shade=1.0, color=None) -> Box:
    return Box((x0, y0, z0), (x1, y1, z1), shade, color)


def _legs(w, d, z1, size, inset, shade=0.8) -> list[Box]:
    xs = (-w / 2 + inset, w / 2 - inset - size)
    ys = (-d / 2 + inset, d / 2 - inset - size)
    return [_box(x, y, 0.0, x + size, y + size, z1, shade) for x in xs for y in ys]


def chair(w, d, h):
    seat = 0.5 * h
    return [
        _box(-w / 2, -d / 2, seat - 0.06, w / 2, d / 2, seat),
        *_legs(w, d, seat - 0.06, 0.05, 0.02),
        _box(-w / 2, d / 2 - 0.07, seat, w / 2, d / 2, h, shade=0.95),
    ]


def table(w, d, h):
    return [_box(-w / 2, -d / 2, h - 0.05, w / 2, d / 2, h), *_legs(w, d, h - 0.05, 0.07, 0.05)]


def desk(w, d, h):
    t = 0.04
    return [
        _box(-w / 2, -d / 2, h - t, w / 2, d / 2, h),
        _box(-w / 2 + 0.01, -d / 2 + 0.03, 0.0, -w / 2 + 0.05, d / 2 - 0.02, h - t, 0.85),
        _box(w / 2 - 0.05, -d / 2 + 0.03, 0.0, w / 2 - 0.01, d / 2 - 0.02, h - t, 0.85),
        _box(-w / 2 + 0.05, d / 2 - 0.05, 0.30, w / 2 - 0.05, d / 2 - 0.02, h - t, 0.85),  # modesty panel
        _box(w / 2 - 0.45, -d / 2 + 0.05, 0.10, w / 2 - 0.05, d / 2 - 0.05, h - t, 0.9),  # drawer unit
    ]


def sofa(w, d, h):
    arm, back = 0.18, 0.22
    return [
        _box(-w / 2 + arm, -d / 2, 0.0, w / 2 - arm, d / 2 - back, 0.44),
        _box(-w / 2, d / 2 - back, 0.0, w / 2, d / 2, h, 0.9),
        _box(-w / 2, -d / 2, 0.0, -w / 2 + arm, d / 2 - back, 0.64, 0.9),
        _box(w / 2 - arm, -d / 2, 0.0, w / 2, d / 2 - back, 0.64, 0.9),
    ]


def bed(w, d, h):
    head = 0.08
    return [
        _box(-w / 2, -d / 2, 0.0, w / 2, d / 2 - head, 0.30, 0.85),
        _box(-w / 2 + 0.03, -d / 2 + 0.03, 0.30, w / 2 - 0.03, d / 2 - head - 0.02, 0.54, 1.1),  # mattress
        _box(-w / 2, d / 2 - head, 0.0, w / 2, d / 2, h),
    ]


def cabinet(w, d, h):
    return [
        _box(-w / 2 + 0.03, -d / 2 + 0.03, 0.0, w / 2 - 0.03, d / 2 - 0.03, 0.07, 0.6),  # plinth
        _box(-w / 2, -d / 2 + 0.02, 0.07, w / 2, d / 2, h),
        _box(-0.10, -d / 2 - 0.0, 0.55 * h, -0.05, -d / 2 + 0.02, 0.75 * h, 0.5),  # handles
        _box(0.05, -d / 2 - 0.0, 0.55 * h, 0.10, -d / 2 + 0.02, 0.75 * h, 0.5),
    ]


def bookshelf(w, d, h):
    t = 0.03
    parts = [
        _box(-w / 2, -d / 2, 0.0, -w / 2 + t, d / 2, h),
        _box(w / 2 - t, -d / 2, 0.0, w / 2, d / 2, h),
        _box(-w / 2 + t, d / 2 - 0.02, 0.0, w / 2 - t, d / 2, h, 0.85),  # back panel
        _box(-w / 2 + t, -d / 2, h - t, w / 2 - t, d / 2 - 0.02, h),
    ]
    for frac in (0.0, 0.28, 0.52, 0.76):
        z = frac * h + (0.05 if frac == 0 else 0.0)
        parts.append(_box(-w / 2 + t, -d / 2, z, w / 2 - t, d / 2 - 0.02, z + t, 0.95))
    return parts


def lamp(w, d, h):
    r = min(w, d) / 2
    return [
        Cylinder((0.0, 0.0), 0.0, 0.03, 0.8 * r, shade=0.7),
        Cylinder((0.0, 0.0), 0.03, h - 0.30, 0.02, top=False, bottom=False, shade=0.7),
        Cylinder((0.0, 0.0), h - 0.38, h, r, top=False, bottom=False),  # open shade
    ]


def storage_box(w, d, h):
    return [_box(-w / 2, -d / 2, 0.0, w / 2, d / 2, h)]


def monitor(w, d, h):
    return [
        _box(-0.12, -d / 2, 0.0, 0.12, d / 2, 0.02, 0.8),
        _box(-0.025, 0.02, 0.02, 0.025, 0.06, 0.14, 0.8),
        _box(-w / 2, -0.02, 0.12, w / 2, 0.03, h),
    ]


def trash_can(w, d, h):
    r = min(w, d) / 2
    return [
        Cylinder((0.0, 0.0), 0.0, h, r, top=False, bottom=False),  # open top: the inside bottom shows
        Cylinder((0.0, 0.0), 0.0, 0.02, 0.95 * r, bottom=False, shade=0.7),
    ]


def plant(w, d, h):
    r = min(w, d) / 2
    pot_h = 0.35 * h
    return [
        Cylinder((0.0, 0.0), 0.0, pot_h, 0.6 * r),
        Sphere((0.0, 0.0, h - r), r, color=FOLIAGE),
    ]


@dataclass(frozen=True)
class ClassSpec:
    name: str
    size: tuple[float, float, float]  # nominal width (x), depth (y), height (z) in metres
    build: Callable[[float, float, float], list[Primitive]]
    colors: tuple[str, ...] = COLOR_NAMES
    floor_weight: float = 1.0  # relative frequency of a group of this class on the floor (0: never on the floor)
    max_count: int = 4  # most instances per scene on the floor
    wall: float = 0.0  # probability that a floor instance stands back to a wall
    support: bool = False  # flat top other objects may stand on
    on: tuple[str, ...] = ()  # classes it may stand on
    under: tuple[str, ...] = ()  # classes it may stand under


CLASSES: dict[str, ClassSpec] = {
    spec.name: spec
    for spec in (
        ClassSpec("chair", (0.52, 0.52, 0.92), chair, floor_weight=3.0, max_count=5),
        ClassSpec("table", (1.40, 0.85, 0.75), table, floor_weight=1.5, max_count=3, support=True),
        ClassSpec("desk", (1.30, 0.68, 0.75), desk, max_count=3, wall=0.7, support=True),
        ClassSpec("sofa", (2.00, 0.90, 0.85), sofa, max_count=3, wall=0.6),
        ClassSpec("bed", (1.50, 2.05, 1.00), bed, floor_weight=0.7, max_count=2, wall=0.8),
        ClassSpec("cabinet", (0.80, 0.48, 1.05), cabinet, floor_weight=1.2, max_count=3, wall=0.7, support=True),
        ClassSpec("bookshelf", (0.90, 0.36, 1.80), bookshelf, max_count=3, wall=0.85),
        ClassSpec("lamp", (0.46, 0.46, 1.60), lamp),
        ClassSpec("box", (0.48, 0.42, 0.40), storage_box, floor_weight=1.5, on=("table", "desk", "cabinet"),
                  under=("table",)),
        ClassSpec("monitor", (0.62, 0.22, 0.46), monitor, colors=("black", "white", "grey", "blue", "red"),
                  floor_weight=0.0, on=("desk", "table")),
        ClassSpec("trash can", (0.38, 0.38, 0.50), trash_can, under=("table",)),
        ClassSpec("plant", (0.50, 0.50, 0.90), plant, colors=tuple(c for c in COLOR_NAMES if c != "green"),
                  on=("table", "desk", "cabinet")),
    )
}
CLASS_NAMES = tuple(CLASSES)
