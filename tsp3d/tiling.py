"""Tiled grounding for scans larger than a room: the backbone once over the whole scan, the head once per
overlapping tile, the best score wins.

    scene = runtime.encode_scene(points)                        # whole scan (split-form runtimes)
    result, tiles = ground_tiled(runtime, scene, feats, mask, size=8.0, overlap=2.0)

TSP3D's head attends over every voxel of a level, so its time and memory grow with the square of the scanned
area; a tile bounds them (the head's cost per tile is constant, the number of tiles grows with the area). Tiles are
squares of ``size`` metres on the xy plane, ``size - overlap`` apart, aligned to the 64 cm lattice so that every
level is cropped along the same voxel boundaries; an object smaller than ``overlap`` lies whole in some tile. Each
tile gets the backbone's features of its voxels at 16, 32 and 64 cm (computed over the whole scan: the backbone
sees the whole context), runs the head (TGP, upsampling, CBA and the box head within the tile) and proposes its top
box with its score; the highest score wins (ties: the first tile in x-then-y order). What tiling changes against
whole-scene grounding: attention and the CBA sample see the tile, not the floor (measured in docs/model.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tsp3d.errors import InputFileError

ALIGN_STRIDE = 64  # tiles start on the coarsest level's lattice
LEVEL_NAMES = ("v1_coords", "v1_feats", "v2_coords", "v2_feats", "v3_coords", "v3_feats")


@dataclass(frozen=True)
class Tile:
    x0: float
    y0: float
    x1: float
    y1: float

    def to_dict(self) -> dict:
        return {"x0": self.x0, "y0": self.y0, "x1": self.x1, "y1": self.y1}


def check_tiling(size: float, overlap: float) -> None:
    if not (math.isfinite(size) and math.isfinite(overlap)) or size <= 0 or overlap < 0 or overlap >= size:
        raise InputFileError(f"tile size {size} m with overlap {overlap} m: need size > 0 and 0 <= overlap < size",
                             hint="e.g. --tile 8 --tile-overlap 2")


def tile_grid(lo: tuple[float, float], hi: tuple[float, float], size: float, overlap: float,
              align: float) -> list[Tile]:
    """Tiles of ``size`` m, ``size - overlap`` apart (both rounded to ``align``), covering [lo, hi] in x and y."""
    check_tiling(size, overlap)
    size_a = max(align, round(size / align) * align)
    step = max(align, round((size - overlap) / align) * align)
    starts = []
    for axis in (0, 1):
        first = math.floor(lo[axis] / align) * align
        n = max(1, math.ceil(max(hi[axis] - first - size_a, 0.0) / step) + 1)
        starts.append([first + i * step for i in range(n)])
    return [Tile(x, y, x + size_a, y + size_a) for x in starts[0] for y in starts[1]]


def crop(arrays: list[np.ndarray], tile: Tile, voxel_size: float) -> list[np.ndarray]:
    """The rows of every level whose voxel corner lies in the tile (coords int32 [n, 4]: batch, x, y, z)."""
    lo = np.array([tile.x0, tile.y0]) / voxel_size
    hi = np.array([tile.x1, tile.y1]) / voxel_size
    out = []
    for coords, feats in zip(arrays[0::2], arrays[1::2]):
        xy = coords[:, 1:3]
        inside = np.all((xy >= np.round(lo)) & (xy < np.round(hi)), axis=1)
        out += [np.ascontiguousarray(coords[inside]), np.ascontiguousarray(feats[inside])]
    return out


def _as_levels(runtime, arrays: list[np.ndarray]):
    """Numpy level arrays back into the runtime's own scene form (torch tensors for PyTorch)."""
    if runtime.name == "torch":
        import torch

        return tuple(torch.from_numpy(a).to(runtime.device) for a in arrays)
    return dict(zip(LEVEL_NAMES, arrays))


def ground_tiled(runtime, scene, text_feats, text_mask, text: str | None = None, size: float = 8.0,
                 overlap: float = 2.0) -> tuple:
    """The best box over the tiles -> (``GroundingResult`` with ``counts`` of the winning tile, per-tile list of
    {tile, score, counts}). ``scene``: ``runtime.encode_scene(points)`` of a split-form runtime."""
    from tsp3d.runtime.base import SceneHandle

    voxel_size = runtime.voxel_size
    arrays = runtime.levels_numpy(scene.levels)  # refuses runtimes without level tensors (single-graph form)
    v1 = arrays[0][:, 1:3] * voxel_size
    if v1.shape[0] == 0:
        raise InputFileError("the scene has no voxels to ground in")
    tiles = tile_grid(tuple(v1.min(axis=0)), tuple(v1.max(axis=0) + 16 * voxel_size), size, overlap,
                      ALIGN_STRIDE * voxel_size)
    best, report = None, []
    for tile in tiles:
        part = crop(arrays, tile, voxel_size)
        if min(part[0].shape[0], part[2].shape[0], part[4].shape[0]) == 0:
            continue  # an empty tile (outside the scan's footprint): nothing to propose
        result = runtime.ground(SceneHandle(_as_levels(runtime, part), scene.num_points), text_feats, text_mask, text)
        report.append({"tile": tile.to_dict(), "score": result.score, "counts": result.counts})
        if best is None or result.score > best.score:
            best = result
    return best, report
