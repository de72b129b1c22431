"""What every benchmark shares: timing (median after warm-up), the machine's dense GEMM rate, and JSON output.

Every figure is measured in the run that reports it, on the machine that runs it; ratios between numbers of one
run are the headline, absolute times are context.
"""
from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable, Sequence

RESULTS_DIR = Path(__file__).resolve().parents[1] / "docs" / "bench"
# Dense GEMM shapes (M, K, N): the [rows, 128] x [128, 128] products the sparse convs run, plus a large square one.
GEMM_SHAPES = ((2048, 128, 128), (8192, 128, 128), (25000, 128, 128), (1024, 1024, 1024), (2048, 2048, 2048))
GEMM_SHAPES_QUICK = ((8192, 128, 128), (1024, 1024, 1024))


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in [0, 100]) of already sorted values."""
    if not sorted_values:
        return float("nan")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarize(times: Sequence[float]) -> dict:
    """p50 (median) / p90 / min / mean of wall times in seconds, and the runs themselves."""
    s = sorted(times)
    return {"median_s": statistics.median(s), "p50_s": statistics.median(s), "p90_s": percentile(s, 90),
            "min_s": s[0], "mean_s": statistics.fmean(s), "runs": len(s), "times_s": list(times)}


CLOCKS = {"wall": time.perf_counter, "thread": time.thread_time}
_clock = {"fn": time.perf_counter}


def set_clock(name: str) -> None:
    """``wall`` (default) or ``thread``: CPU time of the calling thread, robust to other processes on a shared
    machine but only meaningful when all the work runs on the calling thread (one thread everywhere)."""
    _clock["fn"] = CLOCKS[name]


def timeit(fn: Callable[[], object], repeat: int = 5, warmup: int = 1, min_time: float = 0.0,
           max_runs: int | None = None) -> dict:
    """Time statistics of ``fn`` over at least ``repeat`` runs (and ``min_time`` seconds) after ``warmup``."""
    clock = _clock["fn"]
    for _ in range(warmup):
        fn()
    times: list[float] = []
    cap = max_runs or 10 * max(repeat, 1)
    t_start = time.perf_counter()
    while len(times) < repeat or (time.perf_counter() - t_start < min_time and len(times) < cap):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return summarize(times)


def _ort_matmul_session(k: int, n: int, threads: int):
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    b = numpy_helper.from_array(np.random.default_rng(0).standard_normal((k, n)).astype(np.float32), "B")
    graph = helper.make_graph([helper.make_node("MatMul", ["A", "B"], ["C"])], "gemm",
                              [helper.make_tensor_value_info("A", TensorProto.FLOAT, ["M", k])],
                              [helper.make_tensor_value_info("C", TensorProto.FLOAT, ["M", n])], [b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def dense_gemm_gflops(threads: int | None = None, quick: bool = False, repeat: int = 5) -> dict:
    """The machine's dense fp32 GEMM rate: the best of torch.mm (MKL/oneDNN) and ONNX Runtime's MatMul (MLAS) over
    a few shapes, at ``threads`` threads. The best is the most favourable figure for the dense side."""
    import numpy as np
    import torch

    threads = threads or torch.get_num_threads()
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    rows = []
    try:
        for m, k, n in GEMM_SHAPES_QUICK if quick else GEMM_SHAPES:
            flop = 2.0 * m * k * n
            a, b = torch.randn(m, k), torch.randn(k, n)
            t = timeit(lambda: torch.mm(a, b), repeat=repeat, warmup=2, min_time=0.3)["median_s"]
            rows.append({"library": "torch.mm", "shape": [m, k, n], "gflops": flop / t / 1e9})
            try:
                sess = _ort_matmul_session(k, n, threads)
                a_np = np.random.default_rng(1).standard_normal((m, k)).astype(np.float32)
                t = timeit(lambda: sess.run(None, {"A": a_np}), repeat=repeat, warmup=2, min_time=0.3)["median_s"]
                rows.append({"library": "onnxruntime MatMul", "shape": [m, k, n], "gflops": flop / t / 1e9})
            except Exception as e:  # onnxruntime missing: the torch figure stands alone
                rows.append({"library": "onnxruntime MatMul", "shape": [m, k, n], "error": str(e)[:200]})
    finally:
        torch.set_num_threads(old)
    best = max((r for r in rows if "gflops" in r), key=lambda r: r["gflops"])
    return {"gflops": best["gflops"], "best": best, "shapes": rows, "threads": threads}


def fit_exponent(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of log(y) over log(x): y ~ x^slope (None with fewer than 2 positive points)."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x and y and x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / den if den else None


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    try:
        info["load_average"] = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        pass
    for name in ("torch", "onnxruntime", "onnx"):
        try:
            info[name] = __import__(name).__version__
        except Exception:
            info[name] = None
    return info


def write_result(name: str, payload: dict, out_dir: Path | None = None) -> Path:
    """Write ``<out_dir>/<name>.json`` atomically (results are regenerated by every run, so overwriting is the
    point here)."""
    from tsp3d.utils.atomic import write_json

    out_dir = Path(out_dir) if out_dir else RESULTS_DIR
    path = out_dir / f"{name}.json"
    write_json(path, {"benchmark": name, "machine": machine_info(), **payload}, force=True)
    return path


def load_result(name: str, out_dir: Path | None = None) -> dict | None:
    path = (Path(out_dir) if out_dir else RESULTS_DIR) / f"{name}.json"
    try:
        return json.loads(path.read_text()) if path.exists() else None
    except (OSError, json.JSONDecodeError):
        return None
