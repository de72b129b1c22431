"""Latency statistics, the trtexec-style summary and the PNG histogram of ``tsp3d bench-engine``.

Percentiles are nearest-rank on the sorted samples (the sample at rank ``ceil(p/100 * n)``), so every reported
number is a measured latency. FPS is the sequential throughput, ``1000 / mean latency``.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

PERCENTILES = (50, 90, 95, 99)


def percentile(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        raise ValueError("no samples")
    rank = max(1, math.ceil(p / 100.0 * len(sorted_ms)))
    return float(sorted_ms[min(rank, len(sorted_ms)) - 1])


def latency_stats(samples_ms: list[float]) -> dict:
    """min / max / mean / median / p50 / p90 / p95 / p99 (ms) and the sample count."""
    xs = sorted(float(x) for x in samples_ms)
    if not xs:
        raise ValueError("no latency samples")
    out = {"n": len(xs), "min": xs[0], "max": xs[-1], "mean": float(np.mean(xs)), "median": float(np.median(xs))}
    out.update({f"p{p}": percentile(xs, p) for p in PERCENTILES})
    return out


def summary_lines(result: dict) -> list[str]:
    """The trtexec ``=== Performance summary ===`` block for ``result`` (``bench.run_bench``'s output)."""
    lat = result["latency_ms"]

    def line(label: str, s: dict) -> str:
        return (f"{label}: min = {s['min']:.4g} ms, max = {s['max']:.4g} ms, mean = {s['mean']:.4g} ms, "
                f"median = {s['median']:.4g} ms, percentile(90%) = {s['p90']:.4g} ms, "
                f"percentile(95%) = {s['p95']:.4g} ms, percentile(99%) = {s['p99']:.4g} ms")

    lines = ["=== Performance summary ===",
             f"Runtime: {result['runtime']} ({result['timing']})",
             f"Throughput: {result['fps']:.4g} qps",
             line("Latency", lat)]
    for name, s in result.get("stages", {}).items():
        lines.append(line(f"  {name}", s))
    mem = result.get("memory", {})
    parts = [f"peak RSS = {mem['peak_rss_mb']:.1f} MB"] if mem.get("peak_rss_mb") is not None else []
    if mem.get("gpu_used_mb") is not None:
        parts.append(f"GPU used = {mem['gpu_used_mb']:.1f} MB")
    if parts:
        lines.append("Memory: " + ", ".join(parts))
    lines.append(f"Iterations: {lat['n']} (after {result['warmup']} warm-up), scenes: {result['scenes']['count']} "
                 f"({result['scenes']['source']})")
    return lines


def write_png(path: str | Path, result: dict, samples: dict[str, list[float]], force: bool = False) -> Path:
    """Histogram of the end-to-end latency (and the stages when measured), with p50/p90/p99 marks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tsp3d.utils.atomic import atomic_path

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    total = samples["latency"]
    bins = np.linspace(0, max(total) * 1.05, 40)
    for name, xs in samples.items():
        if xs:
            ax.hist(xs, bins=bins, alpha=0.55 if name == "latency" else 0.4, label=name)
    stats = result["latency_ms"]
    for p, style in (("p50", "-"), ("p90", "--"), ("p99", ":")):
        ax.axvline(stats[p], color="black", linestyle=style, linewidth=1, label=f"{p} {stats[p]:.1f} ms")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("iterations")
    ax.set_title(f"{result['runtime']}: {Path(str(result['model'])).name}, {stats['n']} iterations")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path, force) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
