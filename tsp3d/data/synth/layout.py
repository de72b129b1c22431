"""Room and furniture layout: which objects, their colours and sizes, and where they stand.

Floor objects keep at least ``FLOOR_GAP`` between footprints (well separated, so a box can be regressed from
8-16 cm voxels and relations are clear); some small objects stand on tables/desks/cabinets or under tables.
The room is centred on the origin in x, y with the floor at z = 0, as ScanNet's axis-aligned scans.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tsp3d.data.synth.catalog import CLASSES, ClassSpec
from tsp3d.data.synth.palette import FLOOR_COLORS, SIZE_NAMES, SIZE_PROBS, SIZES, WALL_COLORS
from tsp3d.data.synth.primitives import Primitive

ROOM_SIDE = (4.0, 9.0)  # metres, each of width (x) and depth (y)
WALL_HEIGHT = (2.4, 2.9)
FLOOR_GAP = 0.35  # minimum distance between the footprints of two floor objects
WALL_GAP = 0.05  # distance between a wall and an object standing back to it
TOP_MARGIN = 0.03  # objects on a support keep this far inside its top
TOP_GAP = 0.10  # between two objects on the same support
UNDER_CLEARANCE = 0.08  # between an object under a table and the underside of its top
ATTEMPTS = 60  # random positions tried per object before it is left out
GROUP_SIZES = (1, 2, 3, 4)
GROUP_PROBS = (0.30, 0.30, 0.25, 0.15)
REUSE_COLOR = 0.3  # chance that an instance repeats a colour already used by its class (then colour is not enough)
ON_SUPPORT = 0.55  # chance that a support gets objects on top
UNDER_TABLE = 0.35  # chance that a table gets an object under it


@dataclass
class Room:
    width: float
    depth: float
    height: float
    wall_color: tuple[float, float, float]
    floor_color: tuple[float, float, float]


@dataclass
class PlacedObject:
    cls: str
    color: str
    size: str
    dims: tuple[float, float, float]  # width, depth, height after scaling (local frame)
    turns: int  # quarter turns about z
    origin: tuple[float, float, float]  # world position of the local origin (footprint centre, bottom)
    support: int = -1  # index of the object it stands on; -1: the floor
    parts: list[Primitive] = field(default_factory=list)

    def footprint(self) -> np.ndarray:
        """(xmin, ymin, xmax, ymax) in the world."""
        w, d = (self.dims[0], self.dims[1]) if self.turns % 2 == 0 else (self.dims[1], self.dims[0])
        x, y = self.origin[0], self.origin[1]
        return np.array([x - w / 2, y - d / 2, x + w / 2, y + d / 2])

    @property
    def top(self) -> float:
        return self.origin[2] + self.dims[2]


def _gap(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between two rectangles (0 when they touch or overlap)."""
    dx = max(a[0] - b[2], b[0] - a[2], 0.0)
    dy = max(a[1] - b[3], b[1] - a[3], 0.0)
    return float(np.hypot(dx, dy))


def _dims(spec: ClassSpec, size: str, rng: np.random.Generator) -> tuple[float, float, float]:
    scale = rng.uniform(*SIZES[size])
    jitter = rng.uniform(0.95, 1.05, size=3)
    return tuple(float(v) for v in np.array(spec.size) * scale * jitter)


def _pick_colors(spec: ClassSpec, n: int, rng: np.random.Generator) -> list[str]:
    colors: list[str] = []
    for _ in range(n):
        fresh = [c for c in spec.colors if c not in colors]
        if colors and (rng.random() < REUSE_COLOR or not fresh):
            colors.append(colors[rng.integers(len(colors))])
        else:
            colors.append(fresh[rng.integers(len(fresh))])
    return colors


def _new(cls: str, color: str, rng: np.random.Generator) -> PlacedObject:
    size = SIZE_NAMES[rng.choice(len(SIZE_NAMES), p=SIZE_PROBS)]
    return PlacedObject(cls, color, size, _dims(CLASSES[cls], size, rng), 0, (0.0, 0.0, 0.0))


def _plan_floor(room: Room, rng: np.random.Generator) -> list[PlacedObject]:
    """Groups of same-class objects (the distractors that make sentences necessary), largest first."""
    area = room.width * room.depth
    wanted = int(np.clip(round(area / 4.0 * rng.uniform(0.85, 1.2)), 5, 16))
    floor = [s for s in CLASSES.values() if s.floor_weight > 0]
    weights = np.array([s.floor_weight for s in floor])
    counts: dict[str, int] = {}
    while sum(counts.values()) < wanted:
        spec = floor[rng.choice(len(floor), p=weights / weights.sum())]
        n = int(rng.choice(GROUP_SIZES, p=GROUP_PROBS))
        counts[spec.name] = min(spec.max_count, counts.get(spec.name, 0) + n)
        if all(counts.get(s.name, 0) >= s.max_count for s in floor):
            break
    objects = []
    for cls, n in counts.items():
        objects += [_new(cls, color, rng) for color in _pick_colors(CLASSES[cls], n, rng)]
    objects.sort(key=lambda o: -o.dims[0] * o.dims[1])
    return objects


def _try_floor(obj: PlacedObject, room: Room, placed: list[PlacedObject], rng: np.random.Generator,
               keep_out: tuple = ()) -> bool:
    """``keep_out``: footprints (xmin, ymin, xmax, ymax) floor objects keep ``FLOOR_GAP`` from (door ways)."""
    spec = CLASSES[obj.cls]
    hw, hd = room.width / 2, room.depth / 2
    for _ in range(ATTEMPTS):
        if rng.random() < spec.wall:
            wall = int(rng.integers(4))  # 0: +y, 1: -x, 2: -y, 3: +x; the local back (+y) faces that wall
            obj.turns = wall
            w, d = obj.dims[0], obj.dims[1]
            along = (hw if wall % 2 == 0 else hd) - w / 2 - WALL_GAP
            if along <= 0:
                continue
            t = rng.uniform(-along, along)
            off = (hd if wall % 2 == 0 else hw) - d / 2 - WALL_GAP
            x, y = {0: (t, off), 1: (-off, t), 2: (t, -off), 3: (off, t)}[wall]
        else:
            obj.turns = int(rng.integers(4))
            w, d = (obj.dims[0], obj.dims[1]) if obj.turns % 2 == 0 else (obj.dims[1], obj.dims[0])
            mx, my = hw - w / 2 - WALL_GAP, hd - d / 2 - WALL_GAP
            if mx <= 0 or my <= 0:
                continue
            x, y = rng.uniform(-mx, mx), rng.uniform(-my, my)
        obj.origin = (float(x), float(y), 0.0)
        fp = obj.footprint()
        if all(_gap(fp, o.footprint()) >= FLOOR_GAP for o in placed if o.support == -1) and \
                all(_gap(fp, np.asarray(k)) >= FLOOR_GAP for k in keep_out):
            return True
    return False


def _try_inside(obj: PlacedObject, region: np.ndarray, z: float, others: list[PlacedObject], gap: float,
                rng: np.random.Generator) -> bool:
    """Place ``obj`` with its footprint inside ``region`` at height ``z``, ``gap`` away from ``others``."""
    for _ in range(ATTEMPTS // 4):
        obj.turns = int(rng.integers(4))
        w, d = (obj.dims[0], obj.dims[1]) if obj.turns % 2 == 0 else (obj.dims[1], obj.dims[0])
        x0, x1 = region[0] + w / 2, region[2] - w / 2
        y0, y1 = region[1] + d / 2, region[3] - d / 2
        if x0 > x1 or y0 > y1:
            return False
        obj.origin = (float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1)), float(z))
        if all(_gap(obj.footprint(), o.footprint()) >= gap for o in others):
            return True
    return False


def _add_small_objects(objects: list[PlacedObject], rng: np.random.Generator) -> None:
    """Objects on supports ("on") and under tables ("under")."""
    floor_count = len(objects)
    for i in range(floor_count):
        host = objects[i]
        spec = CLASSES[host.cls]
        if spec.support and rng.random() < ON_SUPPORT:
            guests = [s.name for s in CLASSES.values() if host.cls in s.on]
            top = host.footprint() + np.array([TOP_MARGIN, TOP_MARGIN, -TOP_MARGIN, -TOP_MARGIN])
            on_top: list[PlacedObject] = []
            for _ in range(int(rng.integers(1, 3))):
                cls = guests[rng.integers(len(guests))]
                obj = _new(cls, _pick_colors(CLASSES[cls], 1, rng)[0], rng)
                obj.support = i
                if _try_inside(obj, top, host.top, on_top, TOP_GAP, rng):
                    on_top.append(obj)
            objects.extend(on_top)
        if host.cls == "table" and rng.random() < UNDER_TABLE:
            guests = [s.name for s in CLASSES.values() if host.cls in s.under]
            cls = guests[rng.integers(len(guests))]
            obj = _new(cls, _pick_colors(CLASSES[cls], 1, rng)[0], rng)
            legs_free = host.footprint() + np.array([0.15, 0.15, -0.15, -0.15])
            if obj.dims[2] <= host.top - 0.05 - UNDER_CLEARANCE and _try_inside(obj, legs_free, 0.0, [], 0.0, rng):
                objects.append(obj)


def furnish(room: Room, rng: np.random.Generator, planned: list[PlacedObject] | None = None,
            keep_out: tuple = ()) -> list[PlacedObject]:
    """Place furniture in ``room`` (centred on the origin): ``planned`` floor objects (default: a plan for the
    room's area), then small objects on and under them; each object gets its primitives."""
    placed: list[PlacedObject] = []
    for obj in _plan_floor(room, rng) if planned is None else planned:
        if _try_floor(obj, room, placed, rng, keep_out):
            placed.append(obj)
    _add_small_objects(placed, rng)
    for obj in placed:
        local = CLASSES[obj.cls].build(*obj.dims)
        obj.parts = [p.moved(obj.turns, np.array(obj.origin)) for p in local]
    return placed


def new_object(cls: str, rng: np.random.Generator) -> PlacedObject:
    """One unplaced object of class ``cls`` with a colour of its class and a random size."""
    return _new(cls, _pick_colors(CLASSES[cls], 1, rng)[0], rng)


def make_layout(rng: np.random.Generator) -> tuple[Room, list[PlacedObject]]:
    room = Room(
        width=float(rng.uniform(*ROOM_SIDE)),
        depth=float(rng.uniform(*ROOM_SIDE)),
        height=float(rng.uniform(*WALL_HEIGHT)),
        wall_color=WALL_COLORS[rng.integers(len(WALL_COLORS))],
        floor_color=FLOOR_COLORS[rng.integers(len(FLOOR_COLORS))],
    )
    return room, furnish(room, rng)
