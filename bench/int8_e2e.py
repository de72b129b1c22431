"""End to end, INT8 against FP32: the benchmark model on its room through ONNX Runtime with libtsp3d_ort.so, the
FP32 graph against the INT8 Q/DQ graph, each measurement in a fresh process (``e2e.measure``), the two alternating
pair by pair so that load from other processes hits both; per thread count. Plus one profiled run of the INT8 graph
grouped by op type: where its time goes, and how much of it stays in float (the basis of the BF16 decision in
docs/int8.md).

The INT8 graph is calibrated as the suite calibrates it (``pipeline_times.calibrate_int8``: 8 synthetic scenes,
entropy, the structural keep rules, no sweep: the random-init benchmark model has no accuracy to protect), then
given the FP32 graph's workload (``int8_workload.match_pruning``: the same voxel counts at every pruning step;
quantizing this random model otherwise prunes far more, and the ratio would measure pruning, not the runtime).

    python -m tsp3d.bench.int8_e2e [--config base] [--threads 1,2] [--pairs 2] [--out DIR]

One thread is timed in CPU time (the process's; robust on a shared machine), more threads in wall time.
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path

NAME = "int8_e2e"
TARGET_SPEEDUP = 1.8  # issue 16: base, 50k points, ONNX Runtime INT8 vs our FP32 in the same run
INT8_OPS = ("SparseConvInt8", "MatMulIntegerToFloat", "QuantizeLinear", "DequantizeLinear")
FLOAT_GEMM_OPS = ("SparseConv", "Conv", "FusedConv", "Gemm", "MatMul", "FusedMatMul")
ATTENTION_OPS = ("MultiHeadAttention", "Softmax")


def op_kind(op: str) -> str:
    if op in INT8_OPS:
        return "int8"
    if op in ATTENTION_OPS:
        return "attention core (float)"
    if op in FLOAT_GEMM_OPS:
        return "float GEMM / conv"
    return "other float"


def remainder(profile: dict) -> dict:
    """Seconds and shares of the profiled INT8 run per kind of op (``op_kind``)."""
    kinds: dict = {}
    for row in profile.get("by_op", []):
        k = kinds.setdefault(op_kind(row["op"]), {"seconds": 0.0, "ops": []})
        k["seconds"] += row["seconds"]
        k["ops"].append(row["op"])
    total = sum(k["seconds"] for k in kinds.values()) or 1.0
    return {name: {**k, "share": k["seconds"] / total} for name, k in kinds.items()}


def matched_graph(int8_graph: Path, fp32_graph: Path, inputs: Path) -> tuple[Path, dict]:
    """The INT8 graph with the FP32 workload (``int8_workload``), written next to it; and what was changed."""
    import onnx

    from tsp3d.bench.int8_workload import match_pruning
    from tsp3d.bench.scenes import load_inputs

    points, feats, mask = load_inputs(inputs)
    proto, report = match_pruning(onnx.load(str(int8_graph)), onnx.load(str(fp32_graph)),
                                  {"points": points, "text_feats": feats, "text_mask": mask})
    out = int8_graph.with_name("model.int8.matched.onnx")
    onnx.save(proto, str(out))
    return out, report


def compare(bm, bundle: Path, int8_graph: Path, threads: int, pairs: int) -> dict:
    """FP32 and INT8 rows measured ``pairs`` times each, alternating; medians and their ratio."""
    from tsp3d.bench import e2e

    clock = "cpu" if threads == 1 else "wall"
    rows = {"ort-fp32": [], "ort-int8": []}
    for _ in range(pairs):
        for key in rows:
            rows[key].append(e2e.measure(key, bm.checkpoint, bundle, bm.inputs, threads, False, int8_graph,
                                         clock=clock))
    p50 = {k: statistics.median(r["p50_s"] for r in v if "p50_s" in r) if any("p50_s" in r for r in v) else None
           for k, v in rows.items()}
    ok = all(p50.values())
    return {"threads": threads, "clock": clock, "pairs": pairs, "p50_s": p50,
            "peak_rss_mb": {k: max((r.get("peak_rss_mb") or 0) for r in v) for k, v in rows.items()},
            "errors": [r["error"] for v in rows.values() for r in v if "error" in r],
            "int8_speedup": p50["ort-fp32"] / p50["ort-int8"] if ok else None, "runs": rows}


def run(config: str, threads: list[int], pairs: int, cache_dir=None, out_dir=None) -> dict:
    from tsp3d.bench import models, pipeline_times
    from tsp3d.bench.common import write_result
    from tsp3d.bench.e2e import profile_ort

    bm = models.prepare(config, cache_dir)
    bundle = models.export(bm, fp16=False, reuse=True)["bundle"]
    int8 = pipeline_times.calibrate_int8(bundle, bundle.parent, min(threads), False, bm.calibration["points"])
    if "graph" not in int8:
        raise RuntimeError(f"no INT8 graph: {int8['reason']}")
    matched, pruning = matched_graph(Path(int8["graph"]), bundle / "model.onnx", bm.inputs)
    results = [compare(bm, bundle, matched, t, pairs) for t in threads]
    profile = profile_ort(matched, bm.inputs, 1)
    from tsp3d.bench.int8_markdown import int8_e2e_markdown

    out = {"title": "End to end: INT8 vs FP32 (ONNX Runtime)", "config": config, "points": bm.calibration["points"],
           "target_speedup": TARGET_SPEEDUP, "calibration": {k: str(v) for k, v in int8.items()},
           "workload_matching": pruning,
           "results": results, "int8_profile_1t": profile, "int8_remainder_1t": remainder(profile)}
    out["markdown"] = int8_e2e_markdown(out)
    write_result(NAME, out, out_dir)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="base")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    p.add_argument("--pairs", type=int, default=2, help="FP32 / INT8 measurement pairs per thread count")
    p.add_argument("--cache", default=None, help="benchmark model cache (default: build/bench)")
    p.add_argument("--out", default=None, help="result directory (default: build/bench/int8_e2e)")
    a = p.parse_args()
    from tsp3d.bench.models import DEFAULT_CACHE

    out = run(a.config, [int(t) for t in a.threads.split(",")], a.pairs, a.cache,
              Path(a.out) if a.out else DEFAULT_CACHE / NAME)
    print(out["markdown"])


if __name__ == "__main__":
    main()
