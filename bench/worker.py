"""One measurement in a fresh process, so that its peak memory and thread pools are its own.

    python -m tsp3d.bench.worker SPEC.json        -> the last stdout line is the result (JSON)

SPEC: ``runtime`` ("torch" with ``backend`` reference/cpp and ``checkpoint``, or "onnxruntime" with ``graph``),
``inputs`` (.npz from ``scenes.save_inputs``), ``threads``, ``warmup``, ``runs``, ``budget_s`` (stop adding timed
runs after this many seconds, never below one run), ``profile`` (ONNX Runtime: per-op profile of the last run;
PyTorch: one more run under its profiler), ``env`` (environment variables of the process: a value, or None to unset one inherited from the parent),
``fuse_attention`` (ONNX Runtime: run the graph after ``ort_attention.fuse_attention``), ``clock`` ("wall", or
"cpu": the process's CPU time, robust to other processes on a shared machine when everything runs on one thread).
Memory: ``rss_loaded_mb`` once the model/session is ready, ``peak_rss_mb`` the high-water mark from there through
the warm-up and timed runs, ``inference_peak_mb`` their difference (what inference itself needs).
``run_in_subprocess`` is the parent's side.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tsp3d.bench.common import summarize
from tsp3d.bench.memory import peak_rss_mb, reset_peak, rss_mb
from tsp3d.bench.scenes import load_inputs


def _torch_runner(spec: dict, points, feats, mask):
    import torch

    from tsp3d.checkpoint import load_model
    from tsp3d.sparse import set_backend

    torch.set_num_threads(spec["threads"])
    set_backend(spec["backend"])
    model, _ = load_model(spec["checkpoint"])
    model.eval()
    p, f, m = torch.from_numpy(points), torch.from_numpy(feats), torch.from_numpy(mask)

    def run():
        return list(model.predict(p, f, m).counts.values())

    return run


def _ort_runner(spec: dict, points, feats, mask):
    from tsp3d.runtime.ort_session import make_session, run as ort_run

    graph = spec["graph"]
    if spec.get("fuse_attention"):  # the ORT-only attention rewrite (ort_attention.py), done before timing
        import onnx

        from tsp3d.bench.ort_attention import fuse_attention

        graph = fuse_attention(onnx.load(graph))[0].SerializeToString()
    if spec.get("profile"):
        from tsp3d.bench.ort_profile import profiled_session

        sess = profiled_session(graph, spec["threads"], spec["profile_prefix"])
    else:
        sess = make_session(graph, threads=spec["threads"])
    feeds = {"points": points, "text_feats": feats, "text_mask": mask}

    def run():
        return [int(v) for v in ort_run(sess, feeds)[3]]

    return run, sess


def measure(spec: dict) -> dict:
    points, feats, mask = load_inputs(spec["inputs"])
    rss_start = rss_mb()
    t0 = time.perf_counter()
    sess = None
    if spec["runtime"] == "torch":
        run = _torch_runner(spec, points, feats, mask)
    elif spec["runtime"] == "onnxruntime":
        run, sess = _ort_runner(spec, points, feats, mask)
    else:
        raise ValueError(f"unknown runtime {spec['runtime']!r}")
    setup_s = time.perf_counter() - t0
    rss_loaded = rss_mb()
    peak_reset = reset_peak()
    clock = time.process_time if spec.get("clock") == "cpu" else time.perf_counter
    first = []
    for _ in range(max(spec.get("warmup", 1), 0)):
        t = clock()
        counts = run()
        first.append(clock() - t)
    times, budget, t_start = [], spec.get("budget_s") or float("inf"), time.perf_counter()
    while len(times) < spec.get("runs", 5) and (not times or time.perf_counter() - t_start < budget):
        t = clock()
        counts = run()
        times.append(clock() - t)
    peak = peak_rss_mb()
    out = {**summarize(times), "warmup_s": first, "setup_s": setup_s, "counts": counts,
           "rss_start_mb": rss_start, "rss_loaded_mb": rss_loaded, "peak_rss_mb": peak,
           "inference_peak_mb": (peak - rss_loaded) if peak_reset and peak and rss_loaded else None,
           "peak_reset": peak_reset, "threads": spec["threads"], "clock": spec.get("clock", "wall")}
    if sess is not None and spec.get("profile"):
        from tsp3d.bench.ort_profile import summarize as summarize_profile

        out["profile"] = summarize_profile(sess.end_profiling())
    elif spec.get("profile"):
        from tsp3d.bench.ort_profile import torch_profile

        out["profile"] = torch_profile(run)
    return out


def run_in_subprocess(spec: dict, timeout_s: float = 900.0) -> dict:
    """Run ``measure(spec)`` in a fresh Python process; failures come back as ``{"error": ...}`` (the suite goes
    on and the report shows the error)."""
    env = dict(os.environ, TSP3D_NUM_THREADS=str(spec["threads"]), OMP_NUM_THREADS=str(spec["threads"]),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    for name, value in spec.get("env", {}).items():  # None unsets a variable inherited from this process
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    with tempfile.TemporaryDirectory(prefix="tsp3d-bench-") as tmp:
        spec = dict(spec, profile_prefix=str(Path(tmp) / "ort_profile"))
        path = Path(tmp) / "spec.json"
        path.write_text(json.dumps(spec))
        try:
            proc = subprocess.run([sys.executable, "-m", "tsp3d.bench.worker", str(path)], capture_output=True,
                                  text=True, timeout=timeout_s, env=env)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout_s:.0f} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)[-400:]}
    return json.loads(lines[-1])


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    result = measure(spec)
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
