"""Room-like scenes for the benchmarks: one scene of the synthetic benchmark's generator at a given point count."""
from __future__ import annotations

import torch


def room_points(points: int, seed: int = 0) -> torch.Tensor:
    """float32 [points, 6] (x, y, z in metres, r, g, b in [0, 1]) of generated room number ``seed``."""
    from tsp3d.data.synth import generate_scene

    scene, _ = generate_scene(index=seed, points=points, seed=0, split="val")
    return torch.as_tensor(scene.points, dtype=torch.float32)
