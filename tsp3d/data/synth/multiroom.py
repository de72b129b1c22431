"""Multi-room scans: apartments and office floors (``floorplan.py``) furnished room by room, sampled at a fixed
point density, with verified referring expressions over the whole floor.

    scene, annotations = make_floor_scene(seed=0, split="val", index=0, width=24.0, depth=18.0, kind="office")

The floor is centred on the origin in x, y (floor at z = 0), as the single rooms. Each cell is laid out as a
single benchmark room (``layout.furnish``; its walls stand ``WALL`` / 2 inside the
cell's edges, so neighbours are separated by a ``WALL``-thick wall with a face on each side); floor objects keep
clear of the door ways; wall points in a door's opening are removed. The point count grows with the floor area
(``density`` points per square metre: the default gives ~20k points for 4 x 4 m and ~1.1M for 30 x 30 m). The
random stream depends only on (seed, split, index, kind, extent, density), like the single-room scenes.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from tsp3d.data.synth.floorplan import Cell, Door, make_floorplan
from tsp3d.data.synth.layout import WALL_HEIGHT, PlacedObject, Room, furnish, new_object
from tsp3d.data.synth.palette import FLOOR_COLORS, WALL_COLORS
from tsp3d.data.synth.sampling import POSITION_NOISE, _structure, sample_scene
from tsp3d.data.synth.scene import ANNOTATIONS_PER_SCENE, MIN_OBJECT_POINTS, SPLIT_CODES, _boxes, _tags
from tsp3d.data.types import Annotation, Scene

DENSITY = 1250.0  # points per square metre of floor (the default single room: 50k points on ~40 m^2)
WALL = 0.10  # thickness of every wall (m)
DOOR_HEIGHT = 2.05
DOOR_CLEARANCE = 0.8  # floor objects keep this deep a zone in front of each door free
CORRIDOR_OBJECTS = ("plant", "cabinet", "bookshelf", "trash can")
CORRIDOR_STRUCTURE_SHARE = 0.85  # a corridor is mostly walls and floor
KIND_CODES = {"room": 0, "apartment": 1, "office": 2}
MAX_POINTS = 4_000_000


def floor_scene_id(kind: str, split: str, index: int) -> str:
    return f"synth_{kind}_{split}_{index:05d}"


def _keep_out(cell: Cell, doors: list[Door], index: int) -> tuple:
    """Door ways of ``cell`` as footprints in its room's frame (room centred on the origin)."""
    cx, cy = cell.center
    zones = []
    for d in doors:
        if index not in (d.a, d.b):
            continue
        lo, hi = d.center - d.width / 2 - 0.1, d.center + d.width / 2 + 0.1
        if d.axis == 0:  # wall x = at
            x0, x1 = (d.at - DOOR_CLEARANCE, d.at) if np.isclose(d.at, cell.x1) else (d.at, d.at + DOOR_CLEARANCE)
            zones.append((x0 - cx, lo - cy, x1 - cx, hi - cy))
        else:
            y0, y1 = (d.at - DOOR_CLEARANCE, d.at) if np.isclose(d.at, cell.y1) else (d.at, d.at + DOOR_CLEARANCE)
            zones.append((lo - cx, y0 - cy, hi - cx, y1 - cy))
    return tuple(zones)


def _furnish_cell(cell: Cell, room: Room, keep_out: tuple, rng: np.random.Generator) -> list[PlacedObject]:
    if cell.kind == "room":
        return furnish(room, rng, keep_out=keep_out)
    if min(room.width, room.depth) < 1.6:
        return []
    planned = [new_object(CORRIDOR_OBJECTS[int(rng.integers(len(CORRIDOR_OBJECTS)))], rng)
               for _ in range(int(rng.integers(0, 3)))]
    return furnish(room, rng, planned=planned, keep_out=keep_out)


def _sample_cell(cell: Cell, room: Room, objects: list[PlacedObject], density: float, rng: np.random.Generator):
    n = max(int(round(density * cell.width * cell.depth)), 100)
    if objects:
        share = CORRIDOR_STRUCTURE_SHARE if cell.kind == "corridor" else None
        pts, obj = sample_scene(room, objects, n, rng, **({"structure_share": share} if share else {}))
    else:  # an empty corridor: walls and floor only
        pts = _structure(room, n, rng)
        pts[:, :3] += rng.normal(0.0, POSITION_NOISE, size=(n, 3))
        obj = np.full(n, -1, dtype=np.int32)
    pts = pts.astype(np.float32)
    pts[:, 0] += cell.center[0]
    pts[:, 1] += cell.center[1]
    return pts, obj


def _door_openings(points: np.ndarray, point_objects: np.ndarray, doors: list[Door]) -> np.ndarray:
    """Mask of the points to keep: wall points inside a door's opening go."""
    keep = np.ones(len(points), dtype=bool)
    wall = point_objects < 0
    for d in doors:
        across, along = points[:, d.axis], points[:, 1 - d.axis]
        hole = wall & (np.abs(across - d.at) < WALL / 2 + 0.02) & (np.abs(along - d.center) < d.width / 2) & \
            (points[:, 2] < DOOR_HEIGHT) & (points[:, 2] > 0.02)
        keep &= ~hole
    return keep


def _drop_sparse_objects(point_objects: np.ndarray, objects: list[PlacedObject]):
    """Objects with fewer than ``MIN_OBJECT_POINTS`` points become structure (their boxes would be unreliable);
    returns the new point labels, the kept objects' old indices and their supports (renumbered, -1 if the host
    was dropped)."""
    counts = np.bincount(point_objects[point_objects >= 0], minlength=len(objects))
    kept = np.flatnonzero(counts >= MIN_OBJECT_POINTS)
    new_index = np.full(len(objects) + 1, -1, dtype=np.int32)  # last slot: -1 maps to -1
    new_index[kept] = np.arange(len(kept), dtype=np.int32)
    supports = [int(new_index[objects[i].support]) if objects[i].support >= 0 else -1 for i in kept]
    return new_index[point_objects], kept, supports


def make_floor_scene(seed: int = 0, split: str = "val", index: int = 0, width: float = 12.0, depth: float = 10.0,
                     kind: str = "apartment", density: float = DENSITY, mix: dict[str, float] | None = None,
                     sentences: tuple[int, int] = ANNOTATIONS_PER_SCENE) -> tuple[Scene, list[Annotation]]:
    """Floor ``index`` of ``split``: a ``kind`` floor of ``width`` x ``depth`` m and its annotations (a random
    number in ``sentences``, inclusive; fewer only when the grammar cannot single out enough objects)."""
    from tsp3d.data.synth.describe import check_mix, describe_scene
    from tsp3d.data.synth.relations import SceneFacts

    if split not in SPLIT_CODES or kind not in KIND_CODES or index < 0 or seed < 0:
        raise ValueError(f"bad floor scene request: split {split!r}, kind {kind!r}, index {index}, seed {seed}")
    if not 1.0 <= density <= 20_000.0 or density * width * depth > MAX_POINTS:
        raise ValueError(f"density {density} points/m^2 over {width} x {depth} m: need 1..20000 points/m^2 and at "
                         f"most {MAX_POINTS} points")
    rng = np.random.default_rng(np.random.SeedSequence(
        [seed, SPLIT_CODES[split], index, KIND_CODES[kind], int(round(width * 100)), int(round(depth * 100)),
         int(round(density))]))
    plan = make_floorplan(rng, width, depth, kind)
    height = float(rng.uniform(*WALL_HEIGHT))
    wall_color = WALL_COLORS[rng.integers(len(WALL_COLORS))]
    objects: list[PlacedObject] = []
    parts, labels, cell_of = [], [], []
    for i, cell in enumerate(plan.cells):
        room = Room(cell.width - WALL, cell.depth - WALL, height, wall_color,
                    FLOOR_COLORS[rng.integers(len(FLOOR_COLORS))])
        placed = _furnish_cell(cell, room, _keep_out(cell, list(plan.doors), i), rng)
        pts, obj = _sample_cell(cell, room, placed, density, rng)
        for o in placed:
            if o.support >= 0:
                o.support += len(objects)
        parts.append(pts)
        labels.append(np.where(obj >= 0, obj + len(objects), -1).astype(np.int32))
        objects += placed
        cell_of += [i] * len(placed)
    points, point_objects = np.concatenate(parts), np.concatenate(labels)
    keep = _door_openings(points, point_objects, list(plan.doors))
    order = rng.permutation(int(keep.sum()))
    points, point_objects = points[keep][order], point_objects[keep][order]
    points[:, :2] -= np.array([width / 2, depth / 2], dtype=np.float32)  # centred on the origin, like the rooms
    point_objects, kept, supports = _drop_sparse_objects(point_objects, objects)
    objects, cell_of = [objects[i] for i in kept], [cell_of[i] for i in kept]
    sid = floor_scene_id(kind, split, index)
    attrs = {"color": [o.color for o in objects], "size": [o.size for o in objects], "support": supports,
             "room": cell_of}
    scene = Scene(sid, np.ascontiguousarray(points, dtype=np.float32), _boxes(points, point_objects, len(objects)),
                  [o.cls for o in objects], point_objects, attrs)
    facts = SceneFacts.from_scene(scene)
    described = describe_scene(facts, int(rng.integers(sentences[0], sentences[1] + 1)), rng, check_mix(mix))
    annotations = [Annotation(sid, f"{sid}_{k}", d.text, d.target, d.resolution.anchors,
                              unique=Counter(scene.labels)[scene.labels[d.target]] == 1, tags=_tags(facts, d))
                   for k, d in enumerate(described)]
    return scene, annotations
