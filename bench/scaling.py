"""Scaling with the scanned area: multi-room floors from 4 x 4 m (20k points) to 32 x 30 m (1.2M points) at the
generator's realistic point density, time and memory per runtime, and growth exponents fitted on voxel counts.

What grows in a robot's scan is the area, and TSP3D's head attends over every voxel of a level, so the head's
work is quadratic in the area. Rows (``ROWS``): ONNX Runtime FP32 exact (the whole floor at once; its sessions use
the fused attention, memory linear in the voxels), the same in tiles (``tsp3d.tiling``: backbone once, the head per
8 m tile), PyTorch eager with our kernels (its attention is ``scaled_dot_product_attention``), and a **control**:
ONNX Runtime running the attention as exported (plain MatMul/Softmax: [heads, N, N] tensors), which must fail the
memory verdict -- it is refused before running (``scene_memory``, a ``MEMORY_BUDGET_MB`` budget) once a floor
would need more.

A random network's keep scores depend on the scene (xyz are input features too), so pruning biases calibrated on
one floor keep 30 % on it and 60 % on a larger one; every floor therefore gets its own model with the biases
calibrated to the same pass fractions (``models.prepare(floor=...)``, as a trained model whose scores follow the
content would behave), and its voxel counts per level are recorded. Exponents: least-squares slope of log(value)
over log(scene voxels) (the floor's 16 cm voxels, what the head's levels are built from) and over log(area).
Memory is the inference peak above the loaded model; the process peak (loading included) is recorded too.
"""
from __future__ import annotations

from pathlib import Path

from tsp3d.bench.common import fit_exponent

FLOORS = ((4.0, 4.0), (8.0, 6.0), (12.0, 10.0), (18.0, 15.0), (24.0, 20.0), (32.0, 30.0))
FLOORS_QUICK = ((4.0, 4.0), (6.0, 5.0), (8.0, 6.0))
TILE, OVERLAP = 8.0, 2.0  # metres
MEMORY_BUDGET_MB = 4096  # the budget of the memory pre-check in every row (the control is refused beyond it)
ROWS = {
    "ort-fp32": ("ONNX Runtime FP32, whole floor (fused attention)", {"runtime": "onnxruntime"}),
    "ort-fp32-tiled": (f"ONNX Runtime FP32, {TILE:g} m tiles ({OVERLAP:g} m overlap)",
                       {"runtime": "tiled", "tile": TILE, "overlap": OVERLAP}),
    "torch-cpp": ("PyTorch eager, our C++ kernels, whole floor", {"runtime": "torch", "backend": "cpp",
                                                                   "env": {"OMP_WAIT_POLICY": "PASSIVE"}}),
    "ort-fp32-plain": ("control: ONNX Runtime FP32, attention as exported (plain MatMul/Softmax)",
                       {"runtime": "onnxruntime", "attention": "plain"}),
}
ROWS_QUICK = ("ort-fp32", "ort-fp32-tiled", "ort-fp32-plain")


def _runs(points: int, quick: bool) -> tuple[int, int, float]:
    """(warm-up, timed runs, budget s): a 1M-point floor takes minutes a run on one core."""
    if quick:
        return 0, 1, 30.0
    return (1, 3, 60.0) if points <= 200_000 else (0, 1, 60.0)


def scene_voxels(inputs: Path, voxel_size: float) -> dict:
    """Points and 16 / 32 / 64 cm voxels of a floor (from its points: the backbone's strided sets)."""
    import numpy as np

    from tsp3d.runtime.scene_memory import cells

    with np.load(inputs) as z:
        xyz = z["points"][:, :3]
    return {"points": int(xyz.shape[0]), **{f"v{s}": int(len(cells(xyz, voxel_size, s))) for s in (16, 32, 64)}}


def _models(config: str, floors, quick: bool, cache_dir) -> dict:
    """{(width, depth): (checkpoint, FP32 bundle, inputs)}: a model calibrated on each floor (one for --quick)."""
    from tsp3d.bench.models import export, floor_inputs, prepare

    out, shared = {}, None
    for w, d in floors:
        if quick:
            shared = shared or prepare(config, cache_dir, floor=floors[-1])
            m, inputs = shared, floor_inputs(shared, w, d)
        else:
            m = prepare(config, cache_dir, floor=(w, d))
            inputs = m.inputs
        out[(w, d)] = (m.checkpoint, export(m, fp16=False, reuse=True)["bundle"], inputs)
    return out


def measure(key: str, checkpoint: Path, bundle: Path, inputs: Path, threads: int, runs: tuple,
            clock: str) -> dict:
    from tsp3d.bench.worker import run_in_subprocess

    warmup, n, budget = runs
    spec = {**ROWS[key][1], "inputs": str(inputs), "threads": threads, "warmup": warmup, "runs": n,
            "budget_s": budget, "clock": clock, "memory_check": True}
    spec["env"] = {**spec.get("env", {}), "TSP3D_MAX_MEMORY_MB": str(MEMORY_BUDGET_MB)}
    if spec["runtime"] == "torch":
        spec["checkpoint"] = str(checkpoint)
    elif spec["runtime"] == "tiled":
        spec["bundle"] = str(bundle)
    else:
        spec["graph"] = str(Path(bundle) / "model.onnx")
    return {"key": key, "label": ROWS[key][0], **run_in_subprocess(spec, 3600.0)}


def fit(rows: list[dict], x: str, y: str) -> float | None:
    ok = [r for r in rows if "p50_s" in r]
    return fit_exponent([r[x] for r in ok], [r.get(y) for r in ok])


def summarize(rows: list[dict], n_floors: int) -> dict:
    ok = [r for r in rows if "p50_s" in r]
    refused = next((r for r in rows if r.get("refused")), None)
    return {"complete": len(ok) == n_floors,
            "time_exponent_voxels": fit(rows, "v16", "p50_s"), "time_exponent_area": fit(rows, "area_m2", "p50_s"),
            "memory_exponent_voxels": fit(rows, "v16", "inference_peak_mb"),
            "memory_exponent_area": fit(rows, "area_m2", "inference_peak_mb"),
            "first_failure": None if len(ok) == n_floors else
            {"floor": next(r["floor"] for r in rows if "p50_s" not in r),
             "error": (refused or next(r for r in rows if "p50_s" not in r)).get("error", "")[:400]}}


def run(config: str, threads: int, quick: bool, clock: str = "wall", cache_dir=None, keys=None,
        say=print) -> dict:
    """Every row of ``ROWS`` (``ROWS_QUICK`` with ``quick``) on every floor; a row stops at its first failure
    (a larger floor would fail too, and a refused control says why)."""
    floors = FLOORS_QUICK if quick else FLOORS
    models = _models(config, floors, quick, cache_dir)
    voxel_size = 0.01
    scenes = {f: {"floor": f"{f[0]:g} x {f[1]:g} m", "area_m2": f[0] * f[1], **scene_voxels(models[f][2], voxel_size)}
              for f in floors}
    table = {}
    for key in keys or (ROWS_QUICK if quick else tuple(ROWS)):
        rows = []
        for f in floors:
            checkpoint, bundle, inputs = models[f]
            say(f"  {key}: {scenes[f]['floor']} ({scenes[f]['points']} points)")
            r = measure(key, checkpoint, bundle, inputs, threads, _runs(scenes[f]["points"], quick), clock)
            rows.append({**scenes[f], **r})
            if "p50_s" not in r:
                say(f"    stopped: {r.get('error', '?')[:200]}")
                break
        table[key] = {"label": ROWS[key][0], "rows": rows, **summarize(rows, len(floors))}
    return {"config": config, "floors": [scenes[f] for f in floors], "tile_m": TILE, "overlap_m": OVERLAP,
            "memory_budget_mb": MEMORY_BUDGET_MB, "recalibrated_per_floor": not quick, "runtimes": table}
