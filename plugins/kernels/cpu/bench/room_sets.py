"""Room-like coordinate sets for the benchmarks: points on the surfaces of a small furnished room, voxelized at
1 cm, then the strided sets of a backbone (tensor strides 1, 2, 4, 8 cm).

The surface area and point count are chosen so that the sets have about 50k / 28k / 8k / 2k sites, the sizes the
performance targets are stated for.
"""
from __future__ import annotations

import torch


def _box_surface(g: torch.Generator, n: int, lo, hi) -> torch.Tensor:
    """n points uniform on the 5 visible faces (no bottom) of an axis-aligned box."""
    lo, hi = torch.tensor(lo), torch.tensor(hi)
    size = hi - lo
    areas = torch.tensor([size[0] * size[1], size[0] * size[2], size[0] * size[2], size[1] * size[2],
                          size[1] * size[2]])
    face = torch.multinomial(areas / areas.sum(), n, replacement=True, generator=g)
    u = torch.rand((n, 3), generator=g)
    p = lo + u * size
    p[face == 0, 2] = hi[2]  # top
    p[face == 1, 1] = lo[1]
    p[face == 2, 1] = hi[1]
    p[face == 3, 0] = lo[0]
    p[face == 4, 0] = hi[0]
    return p


def room_points(n: int = 60000, seed: int = 0, scale: float = 1.0) -> torch.Tensor:
    """float32 [n, 6]: xyz (m) on a floor, two walls and a few furniture boxes, plus 3 colour channels."""
    g = torch.Generator().manual_seed(seed)
    parts = [
        ((0.0, 0.0, -0.01), (2.4, 2.0, 0.0), 0.34),  # floor
        ((0.0, -0.01, 0.0), (2.4, 0.0, 1.2), 0.17),  # wall y = 0
        ((-0.01, 0.0, 0.0), (0.0, 2.0, 1.2), 0.14),  # wall x = 0
        ((0.3, 0.3, 0.0), (1.1, 0.9, 0.75), 0.15),  # table
        ((1.5, 1.2, 0.0), (2.0, 1.7, 0.45), 0.10),  # chair seat
        ((1.6, 0.2, 0.0), (2.3, 0.6, 0.9), 0.10),  # cabinet
    ]
    pts = []
    for lo, hi, share in parts:
        pts.append(_box_surface(g, int(n * share), [v * scale for v in lo], [v * scale for v in hi]))
    xyz = torch.cat(pts)[:n]
    rgb = torch.rand((xyz.shape[0], 3), generator=g) - 0.5
    return torch.cat([xyz, rgb], dim=1).float().contiguous()


def room_sets(n_points: int = 66000, seed: int = 0, scale: float = 0.8) -> dict:
    """{stride: coords int32 [M, 4]} for strides 1, 2, 4, 8 (reference ops, canonical order) + the points."""
    from tsp3d.sparse import ops

    pts = room_points(n_points, seed, scale)
    c1, first = ops.voxelize(pts, 0.01, 0, 0)
    sets = {1: c1}
    for s in (1, 2, 4):
        sets[2 * s] = ops.coords_down(sets[s], s, 0)
    return {"points": pts, "first": first, "sets": sets}
