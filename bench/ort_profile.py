"""Where a run spends its time: ONNX Runtime's profiler (``enable_profiling``) grouped by op type and by node, and
``torch.profiler`` for the PyTorch eager rows.

    sess = profiled_session("model.onnx", threads=2, prefix="/tmp/prof")   # attention="plain" for the graph as is
    ... sess.run(...) a few times ...
    summary = summarize(sess.end_profiling())      # the last run only

Node times are the profiler's ``*_kernel_time`` events (wall time of each node's kernel); their sum is below the
run's wall time by ORT's own overhead between nodes (reported as ``overhead_s``).
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path


def profiled_session(graph, threads: int | None, prefix: str, attention: str | None = None):
    """A ``make_session`` session (tsp3d ops registered, attention form as given) with ORT's profiler on."""
    from tsp3d.runtime.ort_session import make_session

    return make_session(graph, threads=threads, attention=attention, profile_prefix=prefix)


def summarize(profile_file: str | Path, top: int = 15) -> dict:
    """Per-op-type and top per-node kernel times of the last ``model_run`` in an ORT profile; deletes the file."""
    path = Path(profile_file)
    events = json.loads(path.read_text())
    path.unlink(missing_ok=True)
    runs = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    if not runs:
        return {"error": "no model_run in the profile"}
    last = runs[-1]
    start, end = last["ts"], last["ts"] + last["dur"]
    by_op, count, by_node = defaultdict(float), defaultdict(int), {}
    for e in events:
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
            continue
        if not start <= e["ts"] <= end:
            continue
        op = e.get("args", {}).get("op_name", "?")
        seconds = e["dur"] / 1e6
        by_op[op] += seconds
        count[op] += 1
        node = e["name"][: -len("_kernel_time")]
        by_node[node] = (op, by_node.get(node, (op, 0.0))[1] + seconds)
    total = sum(by_op.values())
    ops = [{"op": op, "seconds": s, "nodes": count[op], "share": s / total if total else 0.0}
           for op, s in sorted(by_op.items(), key=lambda kv: -kv[1])]
    nodes = [{"node": n, "op": op, "seconds": s} for n, (op, s) in
             sorted(by_node.items(), key=lambda kv: -kv[1][1])[:top]]
    return {"run_s": last["dur"] / 1e6, "nodes_s": total, "overhead_s": last["dur"] / 1e6 - total,
            "by_op": ops, "top_nodes": nodes}


def torch_profile(run, top: int = 15) -> dict:
    """One run of a PyTorch eager forward under ``torch.profiler``: the tsp3d custom ops with their totals
    (children included), and the ATen ops with the most self time. The profiler's own overhead inflates the run."""
    import time

    import torch

    t0 = time.perf_counter()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        run()
    run_s = time.perf_counter() - t0
    events = prof.key_averages()
    tsp3d = [{"op": e.key, "calls": e.count, "seconds": e.cpu_time_total / 1e6} for e in events
             if e.key.startswith("tsp3d::")]
    aten = [{"op": e.key, "calls": e.count, "seconds": e.self_cpu_time_total / 1e6} for e in events
            if not e.key.startswith("tsp3d::")]
    return {"run_s": run_s, "self_total_s": sum(e.self_cpu_time_total for e in events) / 1e6,
            "tsp3d_ops": sorted(tsp3d, key=lambda r: -r["seconds"]),
            "top_self": sorted(aten, key=lambda r: -r["seconds"])[:top]}
