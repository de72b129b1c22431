"""The performance targets of the suite and their PASS/MISS, each judged on numbers of one result file (one run).

    rows = evaluate({"sparse_ops": ..., "e2e": ..., "scaling": ...})     # loaded result JSONs (None = not run)
"""
from __future__ import annotations

# (id, statement, bound, direction): value >= bound ("min") or value <= bound ("max")
TARGETS = (
    ("sparse_vs_spconv", "C++ sparse conv, rulebooks included, vs spconv Native over the {mix} layer mix (x faster)",
     1.5, "min"),
    ("sparse_gemm_efficiency", "C++ sparse conv GEMM rate on layers with >= 64 channels, share of dense fp32 GEMM",
     0.6, "min"),
    ("e2e_speedup", "{config}, {points} points: ONNX Runtime + our library vs PyTorch eager (x faster)", 3.0, "min"),
    ("flop_floor", "{config}, {points} points: ONNX Runtime time / FLOP floor (useful FLOPs at the dense GEMM rate)",
     1.5, "max"),
    ("growth_time", "time growth exponent from {sizes} points (ONNX Runtime FP32)", 1.15, "max"),
    ("growth_memory", "inference memory growth exponent from {sizes} points (ONNX Runtime FP32)", 1.15, "max"),
)


def _config_entry(e2e: dict | None, config: str) -> dict | None:
    for entry in (e2e or {}).get("configs", []):
        if entry.get("config") == config:
            return entry
    return None


def _row(entry: dict | None, key: str) -> dict | None:
    for r in (entry or {}).get("rows", []):
        if r.get("key") == key and "p50_s" in r:
            return r
    return None


def values(results: dict) -> dict:
    """{target id: (value or None, detail)} from the loaded result files."""
    out = {}
    sp = results.get("sparse_ops") or {}
    tot = sp.get("totals", {})
    if "cpp" in tot and "spconv" in tot:
        out["sparse_vs_spconv"] = (tot["spconv"]["total_s"] / tot["cpp"]["total_s"],
                                   f"{tot['cpp']['total_s'] * 1e3:.0f} ms vs {tot['spconv']['total_s'] * 1e3:.0f} ms")
    if "cpp_wide" in tot:
        w = tot["cpp_wide"]
        out["sparse_gemm_efficiency"] = (w["fraction_of_dense"], f"{w['gemm_useful_gflops']:.1f} vs "
                                         f"{sp['dense_gemm']['gflops']:.1f} GFLOP/s dense; weakest layer "
                                         f"{100 * w['min_layer_fraction']:.0f} %")
    e2e = results.get("e2e")
    base = _config_entry(e2e, (e2e or {}).get("main_config", "base"))
    ort, ref = _row(base, "ort-fp32"), _row(base, "torch-reference")
    floor = (base or {}).get("floor") or {}
    if ort and ref:
        ceiling = (f"; a runtime at the FLOP floor would be {ref['p50_s'] / floor['floor_s']:.2f}x"
                   if floor.get("floor_s") else "")
        out["e2e_speedup"] = (ref["p50_s"] / ort["p50_s"], f"{ref['p50_s']:.2f} s vs {ort['p50_s']:.3f} s; peak "
                              f"{ref.get('peak_rss_mb', 0):.0f} MB vs {ort.get('peak_rss_mb', 0):.0f} MB{ceiling}")
    if ort and floor.get("floor_s"):
        out["flop_floor"] = (ort["p50_s"] / floor["floor_s"], f"{ort['p50_s']:.3f} s vs floor {floor['floor_s']:.3f} s "
                             f"({floor['useful_gflop']:.1f} GFLOP at {floor['dense_gflops']:.1f} GFLOP/s)")
    sc = ((results.get("scaling") or {}).get("runtimes") or {}).get("ort-fp32")
    if sc and sc.get("complete"):
        if sc.get("time_exponent") is not None:
            out["growth_time"] = (sc["time_exponent"], "")
        if sc.get("memory_exponent") is not None:
            out["growth_memory"] = (sc["memory_exponent"], "")
    return out


def _names(results: dict) -> dict:
    e2e, sc = results.get("e2e") or {}, results.get("scaling") or {}
    sizes = sc.get("sizes") or [10_000, 200_000]
    points = (e2e.get("plan") or {}).get("points", 50_000)
    return {"mix": (results.get("sparse_ops") or {}).get("config") or "base", "config": e2e.get("main_config", "base"),
            "points": f"{points // 1000}k", "sizes": f"{sizes[0] // 1000}k to {sizes[-1] // 1000}k"}


def evaluate(results: dict) -> list[dict]:
    found, names = values(results), _names(results)
    rows = []
    for tid, template, bound, direction in TARGETS:
        statement = template.format(**names)
        value, detail = found.get(tid, (None, "not measured in this run"))
        if value is None:
            status = "N/A"
        else:
            ok = value >= bound if direction == "min" else value <= bound
            status = "PASS" if ok else "MISS"
        rows.append({"id": tid, "target": statement, "bound": bound, "direction": direction, "value": value,
                     "status": status, "detail": detail})
    return rows
