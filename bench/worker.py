"""One measurement in a fresh process, so that its peak memory and thread pools are its own.

    python -m tsp3d.bench.worker SPEC.json        -> the last stdout line is the result (JSON)

SPEC: ``runtime`` ("torch" with ``backend`` reference/cpp and ``checkpoint``, "onnxruntime" with ``graph``,
"tiled": ONNX Runtime on the split graphs of ``bundle``, grounding in ``tile`` m tiles with ``overlap``, or
"official": the official code in ``checkout`` with the official-layout state dict file ``state``),
``inputs`` (.npz from ``scenes.save_inputs``), ``threads``, ``warmup``, ``runs``, ``budget_s`` (stop adding timed
runs after this many seconds, never below one run), ``profile`` (ONNX Runtime: per-op profile of the last run;
PyTorch: one more run under its profiler), ``env`` (environment variables of the process: a value, or None to unset one inherited from the parent),
``attention`` (ONNX Runtime: "fused", the sessions' default, or "plain": the graph's attention as exported,
``tsp3d.runtime.ort_session``), ``clock`` ("wall", or
"cpu": the process's CPU time, robust to other processes on a shared machine when everything runs on one thread).
``memory_check`` (ONNX Runtime: refuse before running, as ``tsp3d ground`` does, when the attention would
exceed ``TSP3D_MAX_MEMORY_MB``; the result is then ``{"error": ..., "refused": true}``).
Memory: ``setup_peak_rss_mb`` the process's high-water mark while loading, ``rss_loaded_mb`` once the model/session
is ready, ``peak_rss_mb`` the high-water mark from there through
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
    from tsp3d.runtime.ort_session import make_session, run as ort_run, session_attention

    graph, attention = spec["graph"], spec.get("attention")
    if spec.get("profile"):
        from tsp3d.bench.ort_profile import profiled_session

        sess = profiled_session(graph, spec["threads"], spec["profile_prefix"], attention)
    else:
        sess = make_session(graph, threads=spec["threads"], attention=attention)
    feeds = {"points": points, "text_feats": feats, "text_mask": mask}

    def run():
        return [int(v) for v in ort_run(sess, feeds)[3]]

    return run, sess, session_attention(sess)


def _official_runner(spec: dict, points, feats, mask):
    """The official TSP3D code (``official_model``: a checkout + MinkowskiEngine) on an official-layout state."""
    import torch

    from tsp3d.bench.official_model import OfficialModel

    torch.set_num_threads(spec["threads"])
    model = OfficialModel(spec["checkout"], torch.load(spec["state"], weights_only=True))

    def run():
        model.run(points, feats, mask)
        return []

    return run


def _official_trace(spec: dict) -> dict:
    """Voxel counts of one official run (``official_trace``, CBA with the official 2,400-voxel draw, seeded)."""
    import torch

    from tsp3d.bench.official_model import OfficialModel
    from tsp3d.bench.official_trace import trace_official

    torch.set_num_threads(spec["threads"])
    points, feats, mask = load_inputs(spec["inputs"])
    model = OfficialModel(spec["checkout"], torch.load(spec["state"], weights_only=True))
    v = trace_official(model, points, feats, mask, cba=model.head.num_samples_com)
    names = ("v3_coords", "tgp64_kept", "up32", "tgp32_kept", "up16", "cba_sample", "cba_confident", "final")
    return {name: int(len(v[name])) for name in names if name in v}


def _tiled_runner(spec: dict, points, feats, mask):
    from tsp3d.runtime.onnx_runtime import OnnxRuntime
    from tsp3d.tiling import ground_tiled

    rt = OnnxRuntime(spec["bundle"], threads=spec["threads"])
    info = {}

    def run():
        best, tiles = ground_tiled(rt, rt.encode_scene(points), feats, mask, size=spec["tile"],
                                   overlap=spec["overlap"])
        info["tiles"] = len(tiles)
        return list(best.counts.values())

    return run, rt, info


def _check_memory(spec: dict, points, form: str) -> None:
    """The pre-run check of ``tsp3d ground`` (``scene_memory``) for a bundle or checkpoint; raises
    ``CapacityError``."""
    from tsp3d.runtime.scene_memory import ModelFacts, check_scene_memory

    if spec["runtime"] == "torch":
        from tsp3d.checkpoint import load_checkpoint

        config = load_checkpoint(spec["checkpoint"]).config.to_dict()
    else:
        from tsp3d.runtime.manifest import Bundle

        config = Bundle(Path(spec.get("bundle") or Path(spec["graph"]).parent)).manifest["model"]["config"]
    check_scene_memory(points[:, :3], ModelFacts.from_config(config), "plain" if form == "plain" else "fused")


def measure(spec: dict) -> dict:
    if spec["runtime"] == "official-trace":
        return _official_trace(spec)
    points, feats, mask = load_inputs(spec["inputs"])
    rss_start = rss_mb()
    t0 = time.perf_counter()
    sess, attention, extra = None, {"form": "fused (scaled_dot_product_attention)"}, {}
    if spec["runtime"] == "torch":
        run = _torch_runner(spec, points, feats, mask)
    elif spec["runtime"] == "onnxruntime":
        run, sess, attention = _ort_runner(spec, points, feats, mask)
    elif spec["runtime"] == "official":
        run, attention = _official_runner(spec, points, feats, mask), {"form": "official nn.MultiheadAttention"}
    elif spec["runtime"] == "tiled":
        run, rt, extra = _tiled_runner(spec, points, feats, mask)
        from tsp3d.runtime.ort_session import session_attention

        attention = session_attention(rt.session("head"))
    else:
        raise ValueError(f"unknown runtime {spec['runtime']!r}")
    if spec.get("memory_check"):
        from tsp3d.errors import CapacityError

        try:
            _check_memory(spec, points, attention.get("form", "plain"))
        except CapacityError as e:
            return {"error": f"refused before running: {e}", "refused": True, "attention": attention}
    setup_s = time.perf_counter() - t0
    setup_peak = peak_rss_mb()
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
           "peak_reset": peak_reset, "threads": spec["threads"], "clock": spec.get("clock", "wall"),
           "attention": attention, "setup_peak_rss_mb": setup_peak, "points": int(points.shape[0]), **extra}
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
