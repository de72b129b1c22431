"""Scaling with the scene size: the same room at 10k, 50k and 200k points, time and memory per runtime, and the
fitted growth exponent (least-squares slope of log(value) over log(points): 1 = linear).

A random network's keep scores shift with point density, so biases calibrated on the 50k room would prune almost
everything at 10k and much less at 200k: a different workload, not a larger scene. The full suite therefore
calibrates the TGP/CBA biases at every size to the same pass fractions (``models.prepare(points=n)``, its own
FP32 bundle), as a trained model whose scores follow the content rather than the density would behave; the voxel
counts of every row are recorded. ``--quick`` reuses the main model at every size (a smoke test).

Memory is the inference peak above the loaded model (``inference_peak_mb``): the part that grows with the scene;
the process baseline (interpreter, libraries, weights) is reported separately and does not grow. PyTorch rows run
with ``OMP_WAIT_POLICY=PASSIVE`` only (see e2e.py); the end-to-end scene's row is the one measured there.
"""
from __future__ import annotations

from pathlib import Path

from tsp3d.bench import e2e
from tsp3d.bench.common import fit_exponent

SIZES = (10_000, 50_000, 200_000)
SIZES_QUICK = (5_000, 10_000, 20_000)
RUNTIMES = ("ort-fp32", "torch-cpp", "torch-reference")
RUNTIMES_QUICK = ("ort-fp32", "torch-cpp")
# the reference at 200k points takes seconds a run: fewer runs, and a budget
RUNS = {"ort-fp32": (1, 5, 30.0), "torch-cpp": (1, 3, 60.0), "torch-reference": (1, 2, 60.0)}
RUNS_QUICK = {"ort-fp32": (1, 2, 10.0), "torch-cpp": (1, 2, 10.0)}


def _size_models(model, bundle: Path, sizes, quick: bool, cache_dir) -> dict:
    """{points: (checkpoint, FP32 bundle, inputs)} for every size."""
    from tsp3d.bench.models import bench_inputs, export, prepare

    out = {}
    for n in sizes:
        if quick or n == model.calibration["points"]:
            out[n] = (model.checkpoint, bundle, bench_inputs(model, n))
        else:
            m = prepare(model.config, cache_dir, points=n)
            out[n] = (m.checkpoint, export(m, fp16=False, reuse=True)["bundle"], m.inputs)
    return out


def run(model, bundle: Path, threads: int, quick: bool, known: dict | None = None, runtimes=None,
        clock: str = "wall", cache_dir=None) -> dict:
    """``model``: a ``models.BenchModel``; ``known``: {(runtime key, points): e2e row} already measured this run."""
    known = known or {}
    sizes = SIZES_QUICK if quick else SIZES
    per_size = _size_models(model, bundle, sizes, quick, cache_dir)
    table = {}
    for key in runtimes or (RUNTIMES_QUICK if quick else RUNTIMES):
        rows = []
        for n in sizes:
            row = known.get((key, n))
            if row is None:
                checkpoint, size_bundle, inputs = per_size[n]
                runs = (RUNS_QUICK if quick else RUNS)[key]
                row = e2e.measure(key, checkpoint, size_bundle, inputs, threads, quick, runs=runs,
                                  best_of_env=False, clock=clock)
            rows.append({"points": n, **row})
        ok = [r for r in rows if "p50_s" in r]
        table[key] = {
            "label": e2e.ROWS[key][0], "rows": rows,
            "time_exponent": fit_exponent([r["points"] for r in ok], [r["p50_s"] for r in ok]),
            "memory_exponent": fit_exponent([r["points"] for r in ok], [r.get("inference_peak_mb") for r in ok]),
            "complete": len(ok) == len(sizes),
        }
    return {"config": model.config, "sizes": list(sizes), "recalibrated_per_size": not quick, "runtimes": table}
