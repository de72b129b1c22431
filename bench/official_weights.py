"""A seeded official-layout TSP3D checkpoint: the weights behind the golden fixtures and the official-code baseline.

No official checkpoint can be obtained here, and pure random weights prune all or nothing (the keep logits are
nearly constant), so the recipe is: every tensor drawn from one seeded stream in a fixed order, then three biases
(``CALIBRATED_BIASES``) set to values calibrated for a realistic workload (about 30 % of the 64 cm voxels kept by
TGP-1, 60 % of the 32 cm ones by TGP-2, half of the CBA sample confident). The calibrated values are stored with
the fixtures, so CI rebuilds the identical file without the official code.

The draws are platform independent: numpy's PCG64 yields float32 uniforms from integers exactly, each is scaled
in float64 by a constant and rounded to float32 once; no transcendental function touches a weight. A SHA-256 of
the state (``weights_digest``) is recorded with the fixtures and checked before any comparison.
"""
from __future__ import annotations

import argparse
import hashlib
import math
from pathlib import Path

import numpy as np
import torch

from tsp3d.convert_official import official_config, to_official_state

# (our key, what it controls): the keep head at 64 cm, the keep head at 32 cm, the CBA confidence head.
CALIBRATED_BIASES = ("head.keep_conv.1.bias", "head.keep_conv.0.bias", "head.com_cls.bias")


def _fan_in(key: str, shape: tuple) -> int:
    if key.endswith(".kernel"):  # sparse kernel (K, Cin, Cout)
        return shape[0] * shape[1]
    return int(np.prod(shape[1:]))  # Linear (out, in), Conv1d (out, in, k), attention in_proj (3C, C)


def _draw(key: str, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """One tensor of the recipe: uniform draws in [-1, 1) scaled per kind of tensor (float32)."""
    n = int(np.prod(shape)) if shape else 1
    s = rng.random(n, dtype=np.float32).astype(np.float64) * 2.0 - 1.0  # exact: u has 24 significant bits
    name = key.rsplit(".", 1)[-1]
    if name == "running_var":
        v = 1.0 + 0.25 * s
    elif name == "running_mean":
        v = 0.1 * s
    elif name in ("weight",) and len(shape) == 1:  # BatchNorm / LayerNorm scale
        v = 1.0 + 0.1 * s
    elif len(shape) <= 1:  # biases (and BatchNorm / LayerNorm shifts)
        v = 0.05 * s
    else:
        v = s * (1.0 / math.sqrt(_fan_in(key, shape)))
    return v.astype(np.float32).reshape(shape)


def seeded_model(seed: int, biases: dict[str, float] | None = None):
    """A ``TSP3D`` with the official configuration and the recipe's weights (eval mode)."""
    from tsp3d.model import TSP3D

    model = TSP3D(official_config()).eval()
    rng = np.random.Generator(np.random.PCG64(seed))
    state = model.state_dict()
    new = {}
    for key in sorted(state):
        t = state[key]
        if not t.is_floating_point():
            new[key] = torch.zeros_like(t)  # num_batches_tracked
            continue
        new[key] = torch.from_numpy(_draw(key, tuple(t.shape), rng))
    for key, value in (biases or {}).items():
        if key not in CALIBRATED_BIASES:
            raise KeyError(f"{key} is not a calibrated bias ({', '.join(CALIBRATED_BIASES)})")
        new[key] = torch.full_like(new[key], float(value))
    model.load_state_dict(new)
    return model


def weights_digest(official_state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over names, dtypes, shapes and bytes, in key order."""
    h = hashlib.sha256()
    for name in sorted(official_state):
        t = official_state[name].contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def official_checkpoint(seed: int, biases: dict[str, float] | None = None) -> dict:
    """The checkpoint as the official training script saves it (``{'model': DDP state, 'epoch', 'config'}``)."""
    state = to_official_state(seeded_model(seed, biases))
    return {"model": state, "epoch": 0, "config": argparse.Namespace(voxel_size=0.01)}


def write_official_checkpoint(path: str | Path, seed: int, biases: dict[str, float] | None = None) -> str:
    """Write the checkpoint to ``path``; returns ``weights_digest`` of its state."""
    ckpt = official_checkpoint(seed, biases)
    torch.save(ckpt, path)
    return weights_digest(ckpt["model"])
