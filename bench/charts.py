"""PNG charts of the suite's results (matplotlib, Agg backend), one function per result file.

Each returns the file name it wrote into ``out_dir`` (or None when the result lacks the data). Files are written
atomically; they are regenerated with the JSON they draw.
"""
from __future__ import annotations

from pathlib import Path

COLORS = {"cpp": "#1f77b4", "spconv": "#ff7f0e", "ref": "#7f7f7f", "ort-fp32": "#1f77b4", "ort-fp16": "#17becf",
          "ort-fp32-plain": "#aec7e8", "ort-fp32-tiled": "#d62728", "official": "#000000",
          "ort-int8": "#9467bd", "torch-cpp": "#2ca02c", "torch-reference": "#7f7f7f"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out_dir: Path, name: str) -> str:
    from tsp3d.utils.atomic import atomic_path

    with atomic_path(Path(out_dir) / name, force=True) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return name


def sparse_ops(result: dict, out_dir: Path) -> str | None:
    tot, layers = result.get("totals", {}), result.get("layers", [])
    backends = [b for b in ("cpp", "spconv", "ref") if b in tot]
    if not backends or not layers:
        return None
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1, 2]})
    names = {"cpp": "ours (C++)", "spconv": "spconv Native", "ref": "PyTorch reference"}
    short = {"cpp": "ours", "spconv": "spconv", "ref": "reference"}
    x = range(len(backends))
    rule = [tot[k]["rulebook_s"] * 1e3 for k in backends]
    gemm = [tot[k]["gemm_s"] * 1e3 for k in backends]
    a.bar(x, rule, color="#bbbbbb", label="rulebooks")
    a.bar(x, gemm, bottom=rule, color=[COLORS[k] for k in backends], label="gather-GEMM-scatter")
    a.set_xticks(list(x), [short[k] for k in backends])
    a.set_yscale("log")
    a.set_ylabel("whole layer mix, ms (log)")
    a.set_title("layer mix: rulebooks + GEMM")
    a.legend(fontsize=8)
    dense = result["dense_gemm"]["gflops"]
    idx = range(len(layers))
    for k, off in (("cpp", -0.2), ("spconv", 0.2)):
        if all(f"gemm_{k}_gflops" in r for r in layers):
            b.bar([i + off for i in idx], [r[f"gemm_{k}_gflops"] for r in layers], width=0.4, color=COLORS[k],
                  label=names[k])
    b.axhline(dense, color="k", ls="--", lw=1, label=f"dense fp32 GEMM {dense:.0f}")
    b.set_xticks(list(idx), [r["layer"] for r in layers], rotation=70, ha="right", fontsize=7)
    b.set_ylabel("useful GFLOP/s")
    b.set_title("per layer (GEMM only)")
    b.legend(fontsize=8)
    return _save(fig, out_dir, "sparse_ops.png")


def e2e(result: dict, out_dir: Path) -> str | None:
    entries = [e for e in result.get("configs", []) if any("p50_s" in r for r in e.get("rows", []))]
    if not entries:
        return None
    short = {"torch-reference": "eager, reference ops", "torch-cpp": "eager, our C++ kernels", "ort-fp32": "ORT FP32",
             "ort-fp32-plain": "ORT FP32, attention as exported", "ort-fp16": "ORT FP16 graph", "ort-int8": "ORT INT8 Q/DQ"}
    plt = _plt()
    fig, axes = plt.subplots(1, len(entries), figsize=(5.2 * len(entries), 3.6), squeeze=False)
    fig.subplots_adjust(wspace=0.45)
    for ax, entry in zip(axes[0], entries):
        rows = [r for r in entry["rows"] if "p50_s" in r]
        y = range(len(rows))
        p50 = [r["p50_s"] for r in rows]
        err = [max(r["p90_s"] - r["p50_s"], 0.0) for r in rows]
        ax.barh(list(y), p50, xerr=[[0] * len(rows), err], color=[COLORS.get(r["key"], "#333") for r in rows])
        ax.set_yticks(list(y), [short.get(r["key"], r["label"]) for r in rows], fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(plt.NullFormatter())  # minor labels collide on a short log axis
        ax.set_xlabel("seconds per grounding (p50, bar to p90; log)")
        floor = (entry.get("floor") or {}).get("floor_s")
        if floor:
            ax.axvline(floor, color="k", ls="--", lw=1, label=f"FLOP floor {floor:.3f} s")
            ax.legend(fontsize=8)
        ax.set_title(f"{entry['config']}, {entry['points']} points")
    return _save(fig, out_dir, "e2e.png")


def profile(result: dict, out_dir: Path) -> str | None:
    main = next((e for e in result.get("configs", []) if e.get("config") == result.get("main_config")), None)
    prof = (main or {}).get("ort_fp32_profile") or {}
    ops = prof.get("by_op", [])[:12]
    if not ops:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.barh(range(len(ops)), [o["seconds"] * 1e3 for o in ops], color="#1f77b4")
    ax.set_yticks(range(len(ops)), [f"{o['op']} ({o['nodes']})" for o in ops], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("ms in one run (ONNX Runtime profiler)")
    ax.set_title(f"ONNX Runtime FP32 per op type: {main['config']}, {main['points']} points")
    return _save(fig, out_dir, "e2e_profile.png")


def scaling(result: dict, out_dir: Path) -> str | None:
    table = result.get("runtimes", {})
    if not table:
        return None
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8))
    for key, t in table.items():
        rows = [r for r in t["rows"] if "p50_s" in r]
        if not rows:
            continue
        x = [r["area_m2"] for r in rows]
        e = t.get("time_exponent_area") if t.get("complete") else None
        a.plot(x, [r["p50_s"] for r in rows], "o-", color=COLORS.get(key),
               label=key + (f" (area^{e:.2f})" if e is not None else ""))
        mem = [r.get("inference_peak_mb") for r in rows]
        if all(m for m in mem):
            e = t.get("memory_exponent_voxels") if t.get("complete") else None
            b.plot([r["v16"] for r in rows], mem, "o-", color=COLORS.get(key),
                   label=key + (f" (voxels^{e:.2f})" if e is not None else ""))
        if t.get("first_failure"):
            a.plot([], [], " ", label=f"{key}: refused from {t['first_failure']['floor']}")
    a.set_xlabel("floor area, m^2")
    a.set_ylabel("seconds (p50)")
    a.set_title("time vs scanned area")
    b.set_xlabel("16 cm voxels of the floor")
    b.set_ylabel("inference peak memory, MB")
    b.set_title("memory vs scene voxels")
    for ax in (a, b):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    return _save(fig, out_dir, "scaling.png")


def pruning(result: dict, out_dir: Path) -> str | None:
    levels, full = result.get("levels"), result.get("levels_no_pruning")
    if not levels:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = range(len(levels))
    ax.bar([i - 0.27 for i in x], [lv["before"] for lv in levels], width=0.27, color="#bbbbbb", label="before")
    ax.bar(list(x), [lv["after"] for lv in levels], width=0.27, color="#1f77b4", label="after (pruned run)")
    if full:
        ax.bar([i + 0.27 for i in x], [lv["after"] for lv in full], width=0.27, color="#ff7f0e",
               label="nothing pruned")
    ax.set_xticks(list(x), [f"{lv['level']}\n{lv['step']}" for lv in levels])
    ax.set_yscale("log")
    ax.set_ylabel("voxels (log)")
    ax.set_title("voxels per level: TGP and CBA")
    ax.legend(fontsize=8)
    return _save(fig, out_dir, "pruning.png")


CHARTS = {"sparse_ops": (sparse_ops,), "e2e": (e2e, profile), "scaling": (scaling,), "pruning": (pruning,)}


def draw(name: str, result: dict, out_dir: Path) -> list[str]:
    """Every chart of result ``name``; a chart that fails to draw is skipped (the tables still carry the data)."""
    files = []
    for fn in CHARTS.get(name, ()):
        try:
            f = fn(result, out_dir)
        except Exception:  # noqa: BLE001 - a broken chart must not lose the report
            f = None
        if f:
            files.append(f)
    return files
