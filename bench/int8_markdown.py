"""Markdown of the INT8 benchmarks (``int8_ops``, ``int8_e2e``, ``ort_sessions``), stored in their result files'
``markdown`` field: the report (bench/report.py) renders such a field as the file's section of docs/BENCHMARKS.md.
"""
from __future__ import annotations

from tsp3d.bench.report_sections import table


def _when(r: dict) -> str:
    from tsp3d.bench.common import machine_info

    m = machine_info()
    load = f", load average {m['load_average']}" if m.get("load_average") else ""
    clock = {"thread": ", CPU time of the one computing thread", "cpu": ", CPU time of the process",
             "wall": ", wall time"}.get(r.get("clock"), "")
    threads = f", {r['threads']} thread(s)" if r.get("threads") else ""
    return (f"*Measured {m['date']} on {m['cpu']} ({m['cores']} cores, shared with other jobs{load}){threads}"
            f"{clock}; onnxruntime {m.get('onnxruntime')}.*")


def _verdict(value: float | None, bound: float) -> str:
    if value is None:
        return "N/A"
    return "PASS" if value >= bound else "MISS"


def int8_ops_markdown(r: dict) -> str:
    paths = ["fp32"] + [f"int8_{p}" for p in r["int8_paths"]]
    auto = f"int8_{r['int8_auto_path']}"
    rows = [[x["layer"], x["pairs"], x["count"]] + [f"{x[p + '_gops']:.1f}" for p in paths]
            + [f"{x['ceiling_gops']:.1f}", f"{x[auto + '_gops'] / x['fp32_gops']:.2f}x"] for x in r["layers"]]
    out = [_when(r),
           f"Per layer of the `{r['config']}` mix ({r['points']} points): useful G(FL)OP/s = 2 x pairs x Cin x Cout / "
           "time of one application (the op's own per-call work included). *ceiling*: ONNX Runtime MatMulInteger "
           "(u8 x s8, MLAS) on the layer's dense equivalent [pairs, Cin] x [Cin, Cout], same threads.",
           table(["layer", "pairs", "count"] + [p.replace("_", " ") for p in paths] + ["ceiling", f"{auto} / fp32"],
                 rows)]
    c = r["int8_ceiling"]
    best = max(c["shapes"], key=lambda s: s["gops"])
    out.append(f"int8 GEMM ceiling: **{c['gops']:.1f} GOP/s** (the best of the layers' dense equivalents and "
               f"{len(c['shapes'])} dense shapes; best dense shape {best['shape']}: {best['gops']:.1f}); FP32 dense "
               f"GEMM {r['dense_gemm']['gflops']:.1f} GFLOP/s; BF16 dense GEMM (torch/oneDNN, AVX512-BF16) "
               + (f"{r['bf16_gemm']['gflops']:.1f} GFLOP/s" if r.get("bf16_gemm") else "not measured") + ".")
    w = r["totals"].get("wide")
    if w:
        share = w[auto]["share_of_ceiling"]
        out.append(f"Layers with >= 64 channels ({w['layers']}): {auto} **{w[auto]['gops']:.1f} GOP/s = "
                   f"{100 * share:.0f} % of the ceiling** (target >= {100 * r['target_share']:.0f} %: "
                   f"**{_verdict(share, r['target_share'])}**; "
                   f"{100 * w['same_shape_ceiling_share']:.0f} % of MatMulInteger on the same shapes), "
                   f"x{w['int8_speedup_vs_fp32']:.2f} the FP32 sparse conv; weakest layer "
                   f"{100 * w['min_layer_share']:.0f} % of the ceiling.")
    m = r["totals"]["mix"]
    out.append(f"Whole mix (layers x count): FP32 {m['fp32']['s'] * 1e3:.0f} ms, " + ", ".join(
        f"{p.replace('_', ' ')} {m[p]['s'] * 1e3:.0f} ms" for p in paths[1:]) + ".")
    return "\n\n".join(out)


def int8_e2e_markdown(r: dict) -> str:
    rows = []
    for x in r["results"]:
        p = x["p50_s"]
        rows.append([x["threads"], x["clock"], f"{p['ort-fp32']:.3f} s" if p["ort-fp32"] else "-",
                     f"{p['ort-int8']:.3f} s" if p["ort-int8"] else "-",
                     f"**{x['int8_speedup']:.2f}x**" if x["int8_speedup"] else "-",
                     _verdict(x["int8_speedup"], r["target_speedup"]),
                     f"{x['peak_rss_mb']['ort-fp32']:.0f} / {x['peak_rss_mb']['ort-int8']:.0f} MB"])
    out = [_when({}),
           f"`{r['config']}`, {r['points']} points, single graph, ONNX Runtime + libtsp3d_ort.so; p50 of each "
           f"measurement (a fresh process each), median over {r['results'][0]['pairs']} FP32 / INT8 pairs run "
           f"alternately. Target: INT8 >= {r['target_speedup']}x FP32.",
           table(["threads", "clock", "FP32", "INT8", "INT8 speedup", "target", "peak RSS FP32 / INT8"], rows)]
    match = r.get("workload_matching") or {}
    if match:
        out.append("Same work: the INT8 graph's Prune thresholds are set so that it keeps the FP32 graph's voxel "
                   "counts (`int8_workload.py`; as calibrated, quantizing this random-init model prunes more). Kept "
                   "rows per Prune, FP32 / INT8 as calibrated / INT8 matched: " + "; ".join(
                       f"{k} {v['fp32']} / {v['int8_before']} / {v['int8_after']}" for k, v in match.items()) + ".")
        counts = {k: next((x.get("counts") for x in v if x.get("counts")), None)
                  for k, v in r["results"][0]["runs"].items()}
        a, b = counts.get("ort-fp32") or [], counts.get("ort-int8") or []
        verdict = ("the same" if a == b else "INT8 at least the FP32 work at every level (the ratio understates "
                   "INT8)" if a and len(a) == len(b) and all(y >= x for x, y in zip(a, b)) else
                   "INT8 less work somewhere: the ratio is not judged")
        out.append(f"Voxel counts of the timed runs (FP32 / INT8): {a} / {b} -- {verdict}.")
    rem = r.get("int8_remainder_1t") or {}
    if rem:
        out.append("Where the INT8 graph's time goes (one profiled run, 1 thread; kernel time by kind of op):\n\n"
                   + table(["kind", "share", "seconds", "ops"],
                           [[k, f"{100 * v['share']:.0f} %", f"{v['seconds']:.3f}", ", ".join(v["ops"][:6])]
                            for k, v in sorted(rem.items(), key=lambda kv: -kv[1]["seconds"])]))
    return "\n\n".join(out)


def ort_sessions_markdown(r: dict) -> str:
    ips = r["inferences_per_s"]
    rows = [[x["round"], f"{x['one_session_2_threads_s']:.2f} s", f"{x['two_sessions_1_thread_s']:.2f} s",
             f"{x['load_average_1min']:.1f}" if x.get("load_average_1min") is not None else "-"] for x in r["rounds"]]
    return "\n\n".join([
        _when({"clock": "wall"}),
        f"{r['runs_per_round']} inferences of `{r['config']}` per configuration and round (graph "
        f"`{r['graph'].rsplit('/', 1)[-1]}`), the two configurations alternating round by round.",
        table(["round", "1 session x 2 threads", "2 sessions x 1 thread (concurrent)", "load average (1 min)"], rows),
        f"Throughput: 1 session x 2 threads **{ips['one_session_2_threads']:.2f}** inferences/s, 2 sessions x 1 thread "
        f"**{ips['two_sessions_1_thread']:.2f}** inferences/s (x{r['two_sessions_vs_one']:.2f})."])
