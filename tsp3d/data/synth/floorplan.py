"""Floor plans of multi-room scans: apartments (rooms split from one rectangle, joined by doors) and office floors
(rows of rooms along corridors). Pure geometry, in metres, the floor's extent ``[0, width] x [0, depth]``.

``make_floorplan(rng, width, depth, kind)`` returns the cells (rooms and corridors, axis-aligned rectangles that
tile the extent) and the doors between them; every cell is reachable from every other one through doors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("room", "apartment", "office")
EXTENT = (4.0, 64.0)  # metres, each side of a floor
MIN_SIDE = 2.6  # a room is never narrower than this
MAX_SIDE = 7.5  # an apartment room wider than this is split again
CORRIDOR = 2.0  # corridor width (office floors)
OFFICE_BAND = 12.0  # depth of one "rooms | corridor | rooms" band
OFFICE_ROOM = (3.0, 6.0)  # length of an office along its corridor
DOOR_WIDTH = 0.9
DOOR_MARGIN = 0.3  # a door keeps this far from the ends of its wall segment
EXTRA_DOOR = 0.25  # chance that two adjacent apartment rooms get a door beyond the spanning tree


@dataclass(frozen=True)
class Cell:
    x0: float
    y0: float
    x1: float
    y1: float
    kind: str  # "room" or "corridor"

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def depth(self) -> float:
        return self.y1 - self.y0

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2


@dataclass(frozen=True)
class Door:
    """An opening in the wall between cells ``a`` and ``b``: the wall is the line ``x = at`` (``axis`` 0) or
    ``y = at`` (``axis`` 1); the opening spans ``[center - width / 2, center + width / 2]`` along it."""

    a: int
    b: int
    axis: int
    at: float
    center: float
    width: float


@dataclass(frozen=True)
class FloorPlan:
    width: float
    depth: float
    kind: str
    cells: tuple[Cell, ...]
    doors: tuple[Door, ...]


def _split(cell: Cell, rng: np.random.Generator, out: list[Cell]) -> None:
    """Binary space partition: split the longer side while a room is too large (and sometimes when it is not)."""
    w, d = cell.width, cell.depth
    side = max(w, d)
    if side < 2 * MIN_SIDE or (side <= MAX_SIDE and w * d < 30.0 and rng.random() < 0.7) or \
            (side <= MAX_SIDE and rng.random() < 0.4):
        out.append(cell)
        return
    t = float(rng.uniform(MIN_SIDE, side - MIN_SIDE))
    if w >= d:
        parts = (Cell(cell.x0, cell.y0, cell.x0 + t, cell.y1, "room"), Cell(cell.x0 + t, cell.y0, cell.x1, cell.y1, "room"))
    else:
        parts = (Cell(cell.x0, cell.y0, cell.x1, cell.y0 + t, "room"), Cell(cell.x0, cell.y0 + t, cell.x1, cell.y1, "room"))
    for p in parts:
        _split(p, rng, out)


def _row(x0: float, x1: float, y0: float, y1: float, rng: np.random.Generator) -> list[Cell]:
    """Offices side by side along x between ``x0`` and ``x1``."""
    cells, x = [], x0
    while x1 - x > OFFICE_ROOM[1]:
        step = float(rng.uniform(*OFFICE_ROOM))
        if x1 - (x + step) < OFFICE_ROOM[0]:
            step = (x1 - x) / 2
        cells.append(Cell(x, y0, x + step, y1, "room"))
        x += step
    cells.append(Cell(x, y0, x1, y1, "room"))
    return cells


def _office(width: float, depth: float, rng: np.random.Generator) -> list[Cell]:
    """Bands of ``rooms | corridor | rooms`` along x, their corridors joined by one corridor along the x = 0 side."""
    spine = CORRIDOR if width >= CORRIDOR + 2 * MIN_SIDE and depth > OFFICE_BAND / 2 else 0.0
    cells = [Cell(0.0, 0.0, spine, depth, "corridor")] if spine else []
    bands = max(1, int(round(depth / OFFICE_BAND)))
    edges = np.linspace(0.0, depth, bands + 1)
    for y0, y1 in zip(edges[:-1], edges[1:]):
        band = y1 - y0
        if band >= CORRIDOR + 2 * MIN_SIDE:
            c0 = y0 + (band - CORRIDOR) / 2
            cells += _row(spine, width, y0, c0, rng) + _row(spine, width, c0 + CORRIDOR, y1, rng)
            cells.append(Cell(spine, c0, width, c0 + CORRIDOR, "corridor"))
        elif band >= CORRIDOR + MIN_SIDE:
            cells += _row(spine, width, y0 + CORRIDOR, y1, rng)
            cells.append(Cell(spine, y0, width, y0 + CORRIDOR, "corridor"))
        else:
            cells += _row(spine, width, y0, y1, rng)
    return cells


def _shared_wall(a: Cell, b: Cell) -> tuple[int, float, float, float] | None:
    """(axis, line, lo, hi) of the wall segment ``a`` and ``b`` share, if it is long enough for a door."""
    for axis, (a0, a1, b0, b1, lo, hi) in enumerate((
            (a.x0, a.x1, b.x0, b.x1, max(a.y0, b.y0), min(a.y1, b.y1)),
            (a.y0, a.y1, b.y0, b.y1, max(a.x0, b.x0), min(a.x1, b.x1)))):
        for line in (a1,) if np.isclose(a1, b0) else (a0,) if np.isclose(a0, b1) else ():
            if hi - lo >= DOOR_WIDTH + 2 * DOOR_MARGIN:
                return axis, float(line), float(lo), float(hi)
    return None


def _door(i: int, j: int, wall, cells, rng: np.random.Generator) -> Door:
    axis, line, lo, hi = wall
    both_corridors = cells[i].kind == cells[j].kind == "corridor"
    width = hi - lo - 0.2 if both_corridors else DOOR_WIDTH  # corridors open into each other
    half = width / 2
    center = (lo + hi) / 2 if both_corridors else float(rng.uniform(lo + DOOR_MARGIN + half, hi - DOOR_MARGIN - half))
    return Door(i, j, axis, line, center, float(width))


def _doors(cells: list[Cell], rng: np.random.Generator) -> list[Door]:
    """A door on every room-corridor and corridor-corridor wall; rooms without a corridor are joined by a random
    spanning tree over shared walls (plus a few extra doors), so every cell is reachable."""
    n = len(cells)
    walls = {(i, j): w for i in range(n) for j in range(i + 1, n) if (w := _shared_wall(cells[i], cells[j]))}
    corridor = {i for i, c in enumerate(cells) if c.kind == "corridor"}
    chosen = {e for e in walls if e[0] in corridor or e[1] in corridor}
    reached = set(corridor) if corridor else {0}
    for i, j in chosen:  # rooms on a corridor are reached through it
        reached |= {i, j}
    while len(reached) < n:
        frontier = sorted(e for e in walls if (e[0] in reached) != (e[1] in reached))
        if not frontier:
            raise RuntimeError("floor plan with unreachable cells")  # cells tile a rectangle: never
        e = frontier[int(rng.integers(len(frontier)))]
        chosen.add(e)
        reached |= set(e)
    for e in sorted(walls):
        if e not in chosen and not corridor and rng.random() < EXTRA_DOOR:
            chosen.add(e)
    return [_door(i, j, walls[(i, j)], cells, rng) for i, j in sorted(chosen)]


def make_floorplan(rng: np.random.Generator, width: float, depth: float, kind: str = "apartment") -> FloorPlan:
    """A ``kind`` floor of ``width`` x ``depth`` metres (``room``: a single room of that size)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not (EXTENT[0] <= width <= EXTENT[1] and EXTENT[0] <= depth <= EXTENT[1]):
        raise ValueError(f"each side must be in [{EXTENT[0]}, {EXTENT[1]}] m, got {width} x {depth}")
    whole = Cell(0.0, 0.0, float(width), float(depth), "room")
    if kind == "room":
        cells = [whole]
    elif kind == "office":
        cells = _office(float(width), float(depth), rng)
    else:
        cells = []
        _split(whole, rng, cells)
    return FloorPlan(float(width), float(depth), kind, tuple(cells), tuple(_doors(cells, rng)))
