"""Memory a scene will need in the head's attention, known before anything runs, and a clear error when it does
not fit (instead of an allocator failure minutes in, or the machine swapping).

    check_scene_memory(points, facts_of(runtime), attention_form(runtime))     # CapacityError if too large

The head attends over every voxel of a level (``keep_trans[1]`` at 64 cm, ``keep_trans[0]`` at 32 cm, and
``com_trans`` over the CBA sample). How many voxels that is, is bounded from the points alone: the 64 cm set is the
points' 64 cm cells (exact: the backbone's strided sets are floor-quantisations of the voxels), the 32 cm set is at
most the generative upsampling of *every* 64 cm voxel (what TGP-1 keeps is a subset) and at most
``capacities.up_s32``, the CBA sample at most ``head.cba_samples``. The attention memory per block is then
* plain (the graph as exported: TensorRT, ONNX Runtime with ``attention="plain"``): scores and probabilities,
  ``2 * heads * N^2`` floats;
* fused (ONNX Runtime's default session form, PyTorch's ``scaled_dot_product_attention``): a flash-style kernel,
  linear in N (``FUSED_BYTES_PER_VOXEL``).
The budget is the memory the caller allows (``--max-memory``), by default what the machine has available.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from tsp3d.errors import CapacityError

FUSED_BYTES_PER_VOXEL = 8 * 1024  # q, k, v, output and per-thread blocks of one fused block, per voxel (generous)
FORMS = ("fused", "plain")


@dataclass(frozen=True)
class ModelFacts:
    """What the estimate needs from a model: its voxel size, attention heads and bounds."""

    voxel_size: float
    heads: int
    channels: int
    cba_samples: int
    up_s32: int

    @classmethod
    def from_config(cls, cfg: dict) -> "ModelFacts":
        """From a model config as a dict (``ModelConfig.to_dict()``, or a bundle manifest's ``model.config``)."""
        h = cfg["head"]
        return cls(float(cfg["voxel_size"]), int(h["attn_heads"]), int(h["channels"]), int(h["cba_samples"]),
                   int(cfg["capacities"]["up_s32"]))


@dataclass(frozen=True)
class LevelMemory:
    level: str  # e.g. "32 cm (keep_trans[0])"
    voxels: int  # at most this many voxels attend to each other
    bound: str  # where the bound comes from
    bytes: int  # attention memory of one block at that size


def cells(xyz: np.ndarray, voxel_size: float, stride: int) -> np.ndarray:
    """Unique voxel corners (int64 [K, 3], units of ``voxel_size``) of the points at ``stride``."""
    q = np.floor(np.asarray(xyz, dtype=np.float32) / np.float32(voxel_size)).astype(np.int64)
    return np.unique(np.floor_divide(q, stride) * stride, axis=0)


def children(coords: np.ndarray, stride: int) -> np.ndarray:
    """Sites of a generative transposed conv k3 s2 from ``stride`` to ``stride // 2``: every parent's 27 offsets."""
    half = stride // 2
    offsets = np.stack(np.meshgrid(*([np.array([-half, 0, half])] * 3), indexing="ij"), -1).reshape(-1, 3)
    return np.unique((coords[:, None, :] + offsets[None]).reshape(-1, 3), axis=0)


def attention_bytes(n: int, heads: int, form: str) -> int:
    if form not in FORMS:
        raise ValueError(f"attention form must be one of {FORMS}, got {form!r}")
    return 2 * heads * n * n * 4 if form == "plain" else FUSED_BYTES_PER_VOXEL * n


def estimate(xyz: np.ndarray, facts: ModelFacts, form: str) -> list[LevelMemory]:
    """Per attention level: the voxel bound and the memory of one attention block (see the module docstring)."""
    v3 = cells(xyz, facts.voxel_size, 64)
    up32 = min(len(children(v3, 64)), facts.up_s32)
    up32_from = ("capacities.up_s32" if up32 == facts.up_s32 else
                 f"the upsampling of all {len(v3)} 64 cm voxels")
    v1 = len(cells(xyz, facts.voxel_size, 16))
    cba = min(v1, facts.cba_samples)
    rows = [("64 cm (keep_trans[1])", len(v3), "the scene's 64 cm voxels"), ("32 cm (keep_trans[0])", up32, up32_from),
            ("16 cm CBA sample (com_trans)", cba, "head.cba_samples" if cba < v1 else "the scene's 16 cm voxels")]
    return [LevelMemory(name, n, why, attention_bytes(n, facts.heads, form)) for name, n, why in rows]


def available_bytes() -> int | None:
    """MemAvailable of this machine (Linux), else None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def budget_bytes(max_memory_mb: float | None = None) -> int | None:
    """``max_memory_mb``, else ``TSP3D_MAX_MEMORY_MB``, else what the machine has available."""
    if max_memory_mb is None and os.environ.get("TSP3D_MAX_MEMORY_MB"):
        max_memory_mb = float(os.environ["TSP3D_MAX_MEMORY_MB"])
    return int(max_memory_mb * 2**20) if max_memory_mb is not None else available_bytes()


def _gb(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def check_scene_memory(xyz: np.ndarray, facts: ModelFacts, form: str, max_memory_mb: float | None = None,
                       tiled: bool = False) -> list[LevelMemory]:
    """Raise ``CapacityError`` naming the first level whose attention would not fit the budget; else return the
    estimate. ``tiled``: the points are one tile of a larger scene (the hint then says: smaller tiles)."""
    budget = budget_bytes(max_memory_mb)
    rows = estimate(xyz, facts, form)
    if budget is None:
        return rows
    for r in rows:
        if r.bytes > budget:
            what = "[heads, N, N] scores and probabilities" if form == "plain" else "the fused attention"
            hint = ("use smaller tiles (--tile), " if tiled else "ground it in tiles (tsp3d ground --tile 8), ") + \
                "crop the scene, " + ("use the fused attention (ONNX Runtime's default), " if form == "plain" else "") \
                + "or raise --max-memory if the machine has the memory"
            raise CapacityError(
                f"attention at {r.level} over up to {r.voxels} voxels ({r.bound}) would need {_gb(r.bytes)} for "
                f"{what} ({form} attention, {facts.heads} heads), over the memory budget of {_gb(budget)}",
                hint=hint)
    return rows
