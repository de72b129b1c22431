"""Sessions that compose (issue 14, item 5): throughput of two ONNX Runtime sessions of one thread each, running
at the same time in one process, against one session of two threads running the same inferences in turn.

libtsp3d_ort.so runs its kernels' parallel loops on the ONNX Runtime intra-op pool of the session that calls them
(``KernelContext_ParallelFor``), so two sessions share no thread of ours: neither waits for the other (the former
private process-wide pool served one job at a time) and together they use the threads they were given. The model
is the benchmark model's single graph on its room (``--graph`` another); wall clock, since running at the same
time is the point; the two configurations alternate round by round so that load from other processes hits both.

    python -m tsp3d.bench.ort_sessions [--config base] [--runs 6] [--rounds 3] [--graph G] [--out DIR]
"""
from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from pathlib import Path

NAME = "ort_sessions"


def _feeds(inputs: Path) -> dict:
    from tsp3d.bench.scenes import load_inputs

    points, feats, mask = load_inputs(inputs)
    return {"points": points, "text_feats": feats, "text_mask": mask}


def one_session(session, feeds: dict, runs: int) -> float:
    """Seconds for ``runs`` inferences, one after another, on one session."""
    from tsp3d.runtime.ort_session import run

    t0 = time.perf_counter()
    for _ in range(runs):
        run(session, feeds)
    return time.perf_counter() - t0


def two_sessions(sessions: list, feeds: dict, runs: int) -> float:
    """Seconds for ``runs`` inferences split over the sessions, each on its own Python thread (ONNX Runtime
    releases the GIL while it runs)."""
    from tsp3d.runtime.ort_session import run

    errors: list = []

    def work(sess, n: int) -> None:
        try:
            for _ in range(n):
                run(sess, feeds)
        except Exception as e:  # re-raised below: a failed run must not look like a fast one
            errors.append(e)

    share = [runs // len(sessions) + (i < runs % len(sessions)) for i in range(len(sessions))]
    threads = [threading.Thread(target=work, args=(s, n)) for s, n in zip(sessions, share)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - t0


def measure(graph: Path, inputs: Path, runs: int = 6, rounds: int = 3) -> dict:
    from tsp3d.runtime.ort_session import make_session, run

    feeds = _feeds(inputs)
    single = make_session(str(graph), threads=2)
    pair = [make_session(str(graph), threads=1) for _ in range(2)]
    for s in [single] + pair:  # warm-up: first-run allocations out of the timed rounds
        run(s, feeds)
    rows = []
    for r in range(rounds):
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        a = one_session(single, feeds, runs)
        b = two_sessions(pair, feeds, runs)
        rows.append({"round": r, "one_session_2_threads_s": a, "two_sessions_1_thread_s": b,
                     "load_average_1min": load})
    per_s = {"one_session_2_threads": statistics.median(runs / x["one_session_2_threads_s"] for x in rows),
             "two_sessions_1_thread": statistics.median(runs / x["two_sessions_1_thread_s"] for x in rows)}
    return {"graph": str(graph), "inputs": str(inputs), "runs_per_round": runs, "rounds": rows,
            "inferences_per_s": per_s,
            "two_sessions_vs_one": per_s["two_sessions_1_thread"] / per_s["one_session_2_threads"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="base")
    p.add_argument("--graph", type=Path, help="an ONNX graph (default: the benchmark model's model.onnx)")
    p.add_argument("--runs", type=int, default=6, help="inferences per configuration and round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cache", default=None, help="benchmark model cache (default: build/bench)")
    p.add_argument("--out", default=None, help="result directory (default: build/bench/ort_sessions)")
    a = p.parse_args()
    from tsp3d.bench.common import write_result
    from tsp3d.bench.models import DEFAULT_CACHE, export, prepare

    bm = prepare(a.config, a.cache)
    graph = a.graph or export(bm, fp16=False, reuse=True)["bundle"] / "model.onnx"
    r = {"title": "Sessions that compose: 2 sessions x 1 thread vs 1 session x 2 threads", "config": a.config,
         **measure(graph, bm.inputs, a.runs, a.rounds)}
    from tsp3d.bench.int8_markdown import ort_sessions_markdown

    r["markdown"] = ort_sessions_markdown(r)
    write_result(NAME, r, Path(a.out) if a.out else DEFAULT_CACHE / NAME)
    ips = r["inferences_per_s"]
    print(f"1 session x 2 threads: {ips['one_session_2_threads']:.2f} inferences/s; 2 sessions x 1 thread: "
          f"{ips['two_sessions_1_thread']:.2f} inferences/s (x{r['two_sessions_vs_one']:.2f})")


if __name__ == "__main__":
    main()
