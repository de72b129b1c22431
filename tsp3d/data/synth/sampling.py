"""Coloured points on the visible surfaces of a laid-out room, like a scan.

Points are drawn uniformly by area on every primitive, then those inside another solid part are dropped (the
floor under a cabinet, a table top under a box, a leg's end inside a seat). Walls and floor get a fixed,
ScanNet-like share of the points; objects share the rest in proportion to their visible area. Small Gaussian
noise on positions and colours mimics a sensor.
"""
from __future__ import annotations

import numpy as np

from tsp3d.data.synth.layout import PlacedObject, Room
from tsp3d.data.synth.palette import COLORS

STRUCTURE_SHARE = 0.40  # fraction of the points on walls + floor
POSITION_NOISE = 0.003  # metres (standard deviation)
COLOR_NOISE = 0.025  # per channel, on [0, 1] colours
PART_SHADE_NOISE = 0.04  # per part, so parts of one object differ slightly
HIDDEN_MARGIN = 0.004  # a point this close inside another solid counts as hidden
OVERSAMPLE = 1.6  # candidates drawn per kept object point (some are hidden), grown if not enough survive


def _structure(room: Room, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points on the floor and the four walls (inner faces), uniform by area; returns [n, 6]."""
    w, d, h = room.width, room.depth, room.height
    areas = np.array([w * d, w * h, w * h, d * h, d * h])
    counts = rng.multinomial(n, areas / areas.sum())
    u = [rng.random((k, 2)) for k in counts]
    parts = [
        np.stack([(u[0][:, 0] - 0.5) * w, (u[0][:, 1] - 0.5) * d, np.zeros(counts[0])], axis=1),
        np.stack([(u[1][:, 0] - 0.5) * w, np.full(counts[1], d / 2), u[1][:, 1] * h], axis=1),
        np.stack([(u[2][:, 0] - 0.5) * w, np.full(counts[2], -d / 2), u[2][:, 1] * h], axis=1),
        np.stack([np.full(counts[3], w / 2), (u[3][:, 0] - 0.5) * d, u[3][:, 1] * h], axis=1),
        np.stack([np.full(counts[4], -w / 2), (u[4][:, 0] - 0.5) * d, u[4][:, 1] * h], axis=1),
    ]
    xyz = np.concatenate(parts)
    rgb = np.empty_like(xyz)
    rgb[: counts[0]] = room.floor_color
    rgb[counts[0]:] = room.wall_color
    return np.concatenate([xyz, rgb], axis=1)


def _object_candidates(objects: list[PlacedObject], n: int, rng: np.random.Generator):
    """``n`` surface points over all parts of all objects (by area), with their object and part index."""
    parts = [(i, j, p) for i, o in enumerate(objects) for j, p in enumerate(o.parts)]
    areas = np.array([p.area() for _, _, p in parts])
    counts = rng.multinomial(n, areas / areas.sum())
    xyz, rgb, obj_idx, part_idx = [], [], [], []
    for (i, j, p), k in zip(parts, counts):
        base = np.array(p.color if p.color is not None else COLORS[objects[i].color])
        shade = p.shade * (1.0 + rng.normal(0.0, PART_SHADE_NOISE))
        xyz.append(p.sample(int(k), rng))
        rgb.append(np.broadcast_to(np.clip(base * shade, 0, 1), (k, 3)))
        obj_idx.append(np.full(k, i))
        part_idx.append(np.full(k, len(part_idx)))
    return np.concatenate(xyz), np.concatenate(rgb), np.concatenate(obj_idx), np.concatenate(part_idx), parts


def _visible(xyz: np.ndarray, part_of_point: np.ndarray, parts) -> np.ndarray:
    """Mask of points not inside any solid part other than their own (part index -1: walls/floor)."""
    keep = np.ones(len(xyz), dtype=bool)
    by_x = np.argsort(xyz[:, 0], kind="stable")  # each part then only looks at the points in its x slab
    xs = xyz[by_x, 0]
    for k, (_, _, p) in enumerate(parts):
        if not p.solid:
            continue
        lo, hi = p.aabb()
        i0, i1 = np.searchsorted(xs, [lo[0] - HIDDEN_MARGIN, hi[0] + HIDDEN_MARGIN])
        idx = by_x[i0:i1]
        q = xyz[idx]
        near = np.all((q[:, 1:] > lo[1:] - HIDDEN_MARGIN) & (q[:, 1:] < hi[1:] + HIDDEN_MARGIN), axis=1)
        idx = idx[near & keep[idx] & (part_of_point[idx] != k)]
        if idx.size:
            keep[idx[p.contains(xyz[idx], HIDDEN_MARGIN)]] = False
    return keep


def sample_scene(room: Room, objects: list[PlacedObject], n_points: int, rng: np.random.Generator,
                 structure_share: float = STRUCTURE_SHARE):
    """Return ``points float32 [n, 6]`` (x, y, z, r, g, b in [0, 1]) and ``point_objects int32 [n]`` (-1: structure)."""
    if not objects:
        raise ValueError("a scene needs at least one object")
    n_struct = int(round(structure_share * n_points))
    n_obj = n_points - n_struct
    factor = OVERSAMPLE
    while True:
        xyz, rgb, obj_idx, part_idx, parts = _object_candidates(objects, int(n_obj * factor) + 16, rng)
        keep = _visible(xyz, part_idx, parts)
        if keep.sum() >= n_obj:
            break
        factor *= 1.5
    pick = np.sort(rng.choice(np.flatnonzero(keep), n_obj, replace=False))
    obj_points = np.concatenate([xyz[pick], rgb[pick]], axis=1)
    obj_of_point = obj_idx[pick]

    struct = _structure(room, int(n_struct * 1.3) + 16, rng)
    s_keep = np.flatnonzero(_visible(struct[:, :3], np.full(len(struct), -1), parts))
    while s_keep.size < n_struct:  # objects cover a lot of floor: draw more
        more = _structure(room, n_struct, rng)
        struct = np.concatenate([struct, more])
        s_keep = np.flatnonzero(_visible(struct[:, :3], np.full(len(struct), -1), parts))
    struct = struct[np.sort(rng.choice(s_keep, n_struct, replace=False))]

    points = np.concatenate([obj_points, struct])
    point_objects = np.concatenate([obj_of_point, np.full(n_struct, -1)])
    points[:, :3] += rng.normal(0.0, POSITION_NOISE, size=(n_points, 3))
    points[:, 3:] = np.clip(points[:, 3:] + rng.normal(0.0, COLOR_NOISE, size=(n_points, 3)), 0.0, 1.0)
    order = rng.permutation(n_points)  # a scan has no object order
    return points[order].astype(np.float32), point_objects[order].astype(np.int32)
