"""The deployment steps' own times: export (trace + ONNX + FP16 graphs), INT8 calibration, TensorRT engine build.

Calibration uses ``tsp3d.calibration.calibrate_bundle`` when that package has it, on a small synthetic dataset
made here (its generation is not timed) with the sensitivity sweep off; the engine build needs TensorRT and a GPU
(``tsp3d.engine.build``). Where a step cannot run, the result says why instead of a number.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

CALIBRATION_SCENES = 8
CALIBRATION_SCENES_QUICK = 8  # the calibration package needs at least 8


def _dataset(work: Path, scenes: int, points: int) -> Path:
    from tsp3d.data.synth import generate

    root = work / f"calibration_data_{scenes}x{points // 1000}k"
    if not (root / "val").exists() and not root.exists():
        generate(root, train_scenes=scenes, val_scenes=1, points=points, workers=1)
    return root


def calibrate_int8(bundle: Path, work: Path, threads: int, quick: bool, points: int) -> dict:
    """{"graph", "seconds", "scenes", "method"} or {"reason"}: INT8 Q/DQ graphs of ``bundle`` into ``work``."""
    try:
        from tsp3d.calibration import calibrate_bundle
    except ImportError as e:
        return {"reason": f"tsp3d.calibration has no calibrate_bundle here ({e})"}
    scenes = CALIBRATION_SCENES_QUICK if quick else CALIBRATION_SCENES
    try:
        data = _dataset(work, scenes, points)
        out = work / "int8"
        if out.exists():  # a fresh calibration: no cached ranges from an earlier run
            shutil.rmtree(out)
        t0 = time.perf_counter()
        info = calibrate_bundle(bundle, data, out=out, force=True, scenes=scenes, sweep_samples=0, threads=threads)
        seconds = time.perf_counter() - t0
    except Exception as e:  # the calibration package is young: a failure is reported, the suite goes on
        return {"reason": f"calibration failed: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"}
    graph = out / "model.int8.onnx"
    if not graph.is_file():
        return {"reason": f"calibrate_bundle wrote no {graph.name}"}
    return {"graph": graph, "seconds": seconds, "scenes": scenes, "method": info.get("method"),
            "sweep": "off"}


def engine_build(bundle: Path, work: Path) -> dict:
    """{"seconds", ...} of a TensorRT engine build from the FP32 graph, or {"reason"} (no TensorRT / GPU)."""
    try:
        from tsp3d.engine.build import build_engine, detect_gpu, import_tensorrt

        trt = import_tensorrt()
        gpu = detect_gpu()
    except Exception as e:
        return {"reason": str(e).splitlines()[0] if str(e) else type(e).__name__}
    try:
        t0 = time.perf_counter()
        build_engine(Path(bundle) / "model.onnx", work / "model.engine", force=True, trt=trt, gpu=gpu)
        return {"seconds": time.perf_counter() - t0, "gpu": gpu}
    except Exception as e:
        return {"reason": f"engine build failed: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"}
