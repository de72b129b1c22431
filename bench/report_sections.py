"""Markdown for each result file of docs/bench/ (the suite's own, and a generic form for everyone else's).

A renderer takes the loaded JSON and a function ``img(name)`` giving a chart's path relative to the report, and
returns the section's Markdown (its ``##`` title included). A result file may carry its own ``"markdown"`` string:
that is used as is (other tools control their section without touching this code).
"""
from __future__ import annotations


def table(headers: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(out)


def ms(seconds) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def mb(value) -> str:
    return "-" if value is None else f"{value:.0f} MB"


def ratio(a, b) -> str:
    return "-" if not a or not b else f"{a / b:.2f}x"


def run_line(r: dict) -> str:
    """One italic line: when, where, with what (the fields the result has)."""
    m = r.get("machine") if isinstance(r.get("machine"), dict) else {}
    parts = [f"Measured {m.get('date') or r.get('date') or '(date not recorded)'}"]
    if m.get("cpu"):
        threads = f", {r['threads']} threads" if r.get("threads") else ""
        parts.append(f"on {m['cpu']} ({m.get('cores', '?')} cores{threads})")
    if m.get("load_average"):
        parts.append(f"load average at the end {m['load_average']}")
    libs = ", ".join(f"{k} {m[k]}" for k in ("torch", "onnxruntime") if m.get(k))
    quick = " **Quick mode** (smoke-test plan on `tiny`: not the targets' numbers)." if r.get("quick") else ""
    if r.get("clock") in ("cpu", "thread"):
        quick += (" Times are **CPU time of one thread** (`--threads 1 --clock cpu`: robust to other processes on a "
                  "shared machine; a 2-thread wall-clock run is the deployment figure).")
    return "_" + " ".join(parts[:2]) + "".join(f"; {p}" for p in parts[2:]) + (f"; {libs}" if libs else "") + \
        "._" + quick


# ---------------------------------------------------------------- the suite's results


def targets(r: dict, img) -> str:
    rows = [[t["target"], f"{'>=' if t['direction'] == 'min' else '<='} {t['bound']}",
             "-" if t["value"] is None else f"{t['value']:.3g}", f"**{t['status']}**", t.get("detail", "")]
            for t in r.get("targets", [])]
    return "\n\n".join([
        "## Targets", run_line(r),
        f"Suite time {r.get('seconds', 0) / 60:.1f} min; parts run: {', '.join(r.get('parts_run', []))}. Each "
        "target is judged on numbers of one result file, i.e. one run on one machine."
        + (f" {r['note']}" if r.get("note") else "")
        + (f" Verdicts re-judged from the result files on {r['rejudged']} (nothing re-measured)."
           if r.get("rejudged") else ""),
        table(["target", "bound", "measured", "status", "detail"], rows)])


def sparse_ops(r: dict, img) -> str:
    d = r["dense_gemm"]
    out = ["## Sparse layer mix", run_line(r),
           f"Every rulebook and conv of one `{r.get('config')}` forward on the {r['points']}-point room, recorded from "
           "the model itself (`bench/layer_mix.py`). Rulebook = output set (when new) + kernel map; GEMM = one "
           "rulebook application (gather-GEMM-scatter). Mix totals count each rulebook once and each layer as often "
           "as the forward runs it. spconv builds its own rulebooks with its own semantics (submanifold: the same "
           "pairs; strided: a larger output set); *spconv on our pairs* runs its GEMM on our rulebook (identical "
           f"work). Dense fp32 GEMM on this machine: **{d['gflops']:.1f} GFLOP/s** ({d['best']['library']} "
           f"{'x'.join(map(str, d['best']['shape']))}, {d['threads']} threads, best of {len(d['shapes'])} "
           "measurements)."]
    tot = r.get("totals", {})
    names = {"cpp": "ours (C++ kernels)", "spconv": "spconv Native", "ref": "PyTorch reference"}
    rows = []
    for k in ("cpp", "spconv", "ref"):
        if k in tot:
            t = tot[k]
            rows.append([names[k], ms(t["rulebook_s"]), ms(t["gemm_s"]), ms(t["total_s"]),
                         f"{t['gemm_useful_gflops']:.1f}", ratio(t["total_s"], tot.get("cpp", {}).get("total_s"))])
    if "spconv_on_ours" in tot:
        rows.append(["spconv Native on our pairs", "-", ms(tot["spconv_on_ours"]["gemm_s"]), "-", "-", "-"])
    out.append(table(["backend", "rulebooks", "GEMM", "total", "GEMM useful GFLOP/s", "time vs ours"], rows))
    if "cpp_wide" in tot:
        w = tot["cpp_wide"]
        out.append(f"Layers with >= 64 channels: our GEMM runs at {w['gemm_useful_gflops']:.1f} GFLOP/s = "
                   f"**{100 * w['fraction_of_dense']:.0f} %** of dense (weakest layer "
                   f"{100 * w['min_layer_fraction']:.0f} %).")
    rb = {m["map"]: m for m in r.get("rulebooks", [])}
    lrows = []
    for L in r.get("layers", []):
        m = rb.get(L["map"], {})
        gf = L.get("gemm_cpp_gflops")
        lrows.append([L["layer"], L["count"], f"{m.get('n_in')} -> {m.get('n_out')}", L["pairs"],
                      " / ".join(ms(m.get(f"rulebook_{k}_s")) for k in ("cpp", "spconv", "ref")),
                      " / ".join(ms(L.get(f"gemm_{k}_s")) for k in ("cpp", "spconv", "spconv_on_ours", "ref")),
                      "-" if gf is None else f"{gf:.1f} ({100 * gf / d['gflops']:.0f} %)"])
    out.append(table(["layer", "runs", "sites in -> out", "pairs", "rulebook: ours / spconv / ref",
                      "GEMM: ours / spconv / spconv on our pairs / ref", "ours GFLOP/s (% dense)"], lrows))
    out.append(f"![sparse layer mix]({img('sparse_ops.png')})")
    return "\n\n".join(out)


def _e2e_entry(e: dict, img) -> list[str]:
    rows = [r for r in e.get("rows", [])]
    ref = next((r["p50_s"] for r in rows if r.get("key") == "torch-reference" and "p50_s" in r), None)
    trs = []
    for r in rows:
        if "p50_s" not in r:
            trs.append([r.get("label"), "failed: " + r.get("error", "?")[:120], "", "", "", "", "", "", ""])
            continue
        trs.append([r["label"], ms(r["p50_s"]), ms(r["p90_s"]), r["runs"], ratio(ref, r["p50_s"]), ms(r["setup_s"]),
                    mb(r.get("rss_loaded_mb")), mb(r.get("peak_rss_mb")), mb(r.get("inference_peak_mb"))])
    out = [f"### `{e['config']}`, {e['points']} points",
           table(["runtime", "p50", "p90", "runs", "speed-up vs eager reference", "setup", "RSS loaded",
                  "peak RSS", "inference peak"], trs)]
    ref_row = next((r for r in rows if r.get("key") == "torch-reference" and r.get("env_variants")), None)
    if ref_row and len(ref_row["env_variants"]) > 1:
        tried = ", ".join(f"{ms(v['p50_s']) if v.get('p50_s') else 'failed'} with "
                          f"{' '.join(f'{k}={x}' for k, x in v['env'].items() if x) or 'the default OpenMP settings'}"
                          for v in ref_row["env_variants"])
        out.append(f"The eager reference ran in two OpenMP settings ({tried}); the table shows the faster.")
    int8 = e.get("int8", {})
    if not int8.get("included"):
        out.append(f"No INT8 row: {int8.get('reason', 'no INT8 graph')}.")
    counts = next((r.get("counts") for r in rows if r.get("key") == "ort-fp32" and r.get("counts")), None)
    if counts:
        from tsp3d.runtime.base import COUNT_NAMES

        out.append("Voxel counts (ONNX Runtime FP32): " + ", ".join(f"{n} {c}" for n, c in zip(COUNT_NAMES, counts)))
        other = [f"{r['label']} (TGP-1 kept {r['counts'][1]}, TGP-2 kept {r['counts'][3]}, final {r['counts'][8]})"
                 for r in rows if r.get("counts") and any(abs(a - b) > 0.01 * b for a, b in
                                                          zip(r["counts"][1:5], counts[1:5]))]
        if other:
            out.append("**Different work**: these rows kept more than 1 % other voxels than ONNX Runtime FP32 at a "
                       "pruning step, so their time is not a like-for-like comparison: " + "; ".join(other) + ".")
    return out


def _floor(e: dict) -> list[str]:
    f = e.get("floor") or {}
    ort = next((r for r in e.get("rows", []) if r.get("key") == "ort-fp32" and "p50_s" in r), None)
    if not f:
        return []
    kinds = ", ".join(f"{k.replace('_', ' ')} {v:.2f}" for k, v in f["by_kind_gflop"].items())
    line = (f"**FLOP floor** of `{e['config']}`: {f['useful_gflop']:.2f} useful GFLOP ({kinds}) at "
            f"{f['dense_gflops']:.1f} GFLOP/s = **{ms(f['floor_s'])}**")
    if ort:
        line += f"; ONNX Runtime FP32 takes {ms(ort['p50_s'])} = **{ort['p50_s'] / f['floor_s']:.2f}x** the floor."
    return [line]


def _profile(e: dict, img, chart: bool) -> list[str]:
    p = e.get("ort_fp32_profile") or {}
    if not p.get("by_op"):
        return []
    f = (e.get("floor") or {}).get("floor_by_kind_s", {})
    rows = [[o["op"], o["nodes"], ms(o["seconds"]), f"{100 * o['share']:.1f} %"] for o in p["by_op"][:14]]
    out = [f"Where ONNX Runtime FP32 spends one run of `{e['config']}` (profiler, `enable_profiling`; node kernel "
           f"time {ms(p['nodes_s'])} of a {ms(p['run_s'])} run):",
           table(["op type", "nodes", "time", "share"], rows)]
    conv = next((o["seconds"] for o in p["by_op"] if o["op"] == "SparseConv"), None)
    if conv and f.get("sparse_conv"):
        dense_ops = sum(o["seconds"] for o in p["by_op"] if o["op"] in ("MatMul", "FusedMatMul", "Gemm", "Conv",
                                                                          "FusedConv"))
        dense_floor = sum(v for k, v in f.items() if k != "sparse_conv")
        out.append(f"Against the floor: SparseConv nodes {ms(conv)} vs their floor {ms(f['sparse_conv'])} "
                   f"({conv / f['sparse_conv']:.2f}x); dense products (MatMul/Gemm/Conv) {ms(dense_ops)} vs "
                   f"{ms(dense_floor)}; the rest ({ms(p['nodes_s'] - conv - dense_ops)} of node time, plus "
                   f"{ms(p['overhead_s'])} between nodes) is work the floor does not count (softmax, normalisation, "
                   "rulebooks, gathers).")
    out.append("Heaviest nodes: " + ", ".join(f"`{n['node']}` {ms(n['seconds'])}" for n in p["top_nodes"][:6]))
    if chart:
        out.append(f"![profile]({img('e2e_profile.png')})")
    return out


SPARSE_OTHER = ("KernelMap", "CoordsDown", "CoordsUp", "Voxelize", "Lookup", "Prune", "AppendMissing", "SparseMaxPool")
DENSE = ("MatMul", "FusedMatMul", "Softmax", "Gemm", "Conv", "FusedConv")


def _versus_eager(e: dict) -> list[str]:
    """Per kind of work, the eager reference (torch.profiler) against ONNX Runtime FP32 (its profiler)."""
    t, o = e.get("reference_profile") or {}, e.get("ort_fp32_profile") or {}
    if not t.get("tsp3d_ops") or not o.get("by_op"):
        return []
    tops = {r["op"]: r["seconds"] for r in t["tsp3d_ops"]}
    self_ops = {r["op"]: r["seconds"] for r in t["top_self"]}
    oops = {r["op"]: r["seconds"] for r in o["by_op"]}
    eager = {"conv": tops.get("tsp3d::sparse_conv", 0.0),
             "sparse": sum(v for k, v in tops.items() if k != "tsp3d::sparse_conv"),
             "dense": sum(v for k, v in self_ops.items() if "scaled_dot_product" in k or k == "aten::addmm")}
    ort = {"conv": oops.get("SparseConv", 0.0), "sparse": sum(oops.get(k, 0.0) for k in SPARSE_OTHER),
           "dense": sum(oops.get(k, 0.0) for k in DENSE)}
    eager["rest"] = max(t["self_total_s"] - sum(eager.values()), 0.0)
    ort["rest"] = max(o["run_s"] - sum(ort.values()), 0.0)
    names = {"conv": "sparse convs", "sparse": "other sparse ops (rulebooks, sets, pruning, CBA)",
             "dense": "attention and dense layers (eager: fused SDPA + addmm; ORT: MatMul/Softmax/Gemm)",
             "rest": "the rest (elementwise, normalisation, glue, framework overhead)"}
    rows = [[names[k], ms(eager[k]), ms(ort[k]), ratio(eager[k], ort[k])] for k in names]
    rows.append(["**one profiled run**", ms(t["self_total_s"]), ms(o["run_s"]), ratio(t["self_total_s"], o["run_s"])])
    return [f"Where the speed-up over eager comes from (`{e['config']}`; one profiled run each, profiler overhead "
            "included):", table(["work", "PyTorch eager (reference)", "ONNX Runtime FP32", "eager / ORT"], rows)]


def e2e(r: dict, img) -> str:
    out = ["## End-to-end grounding", run_line(r),
           "One scene (points + the sentence's text features) -> one box, each runtime in a fresh process: p50/p90 "
           "of the timed runs after warm-up; *RSS loaded* once the model/session is ready, *peak RSS* the process's "
           "high-water mark over warm-up and timed runs, *inference peak* their difference. PyTorch eager is "
           "`TSP3D.predict` with the reference sparse ops (a user without our library), and the same with our C++ "
           "kernels behind the same custom ops. Text encoding is not timed."]
    for e in r.get("configs", []):
        main = e.get("config") == r.get("main_config")
        out += _e2e_entry(e, img) + _floor(e) + _profile(e, img, main) + _versus_eager(e)
    out.append(f"![end to end]({img('e2e.png')})")
    return "\n\n".join(out)


def scaling(r: dict, img) -> str:
    floors = r.get("floors", [])
    runtimes = r.get("runtimes", {})
    exact = {x["floor"]: x for x in (runtimes.get("ort-fp32") or {}).get("rows", [])}
    frows = []
    for f in floors:
        c = exact.get(f["floor"], {}).get("counts") or []
        frows.append([f["floor"], f"{f['area_m2']:.0f}", f["points"], f"{f['v16']} / {f['v32']} / {f['v64']}",
                      f"{c[1]} of {c[0]}" if c else "-", f"{c[3]} of {c[2]}" if c else "-", c[8] if c else "-"])
    rows = []
    for key, t in runtimes.items():
        by = {x["floor"]: x for x in t["rows"]}
        cells = []
        for f in floors:
            x = by.get(f["floor"])
            cells.append("-" if x is None else "refused" if x.get("refused") else "failed" if "p50_s" not in x
                         else f"{ms(x['p50_s'])} / {mb(x.get('inference_peak_mb'))}")
        exps = [t.get(k) if t.get("complete") else None  # an exponent over the floors it could run says nothing
                for k in ("time_exponent_area", "time_exponent_voxels", "memory_exponent_voxels")]
        rows.append([t["label"], *cells, *("-" if e is None else f"{e:.2f}" for e in exps)])
    fail = [f"{t['label']}: from {t['first_failure']['floor']}, {t['first_failure']['error']}"
            for t in runtimes.values() if t.get("first_failure")]
    how = ("its own model per floor, the TGP/CBA biases calibrated on it to the same pass fractions"
           if r.get("recalibrated_per_floor") else "one model (quick: a smoke test)")
    return "\n\n".join([
        "## Scaling with the scanned area", run_line(r),
        f"Multi-room floors (`tsp3d.data.synth.multiroom`, apartment plans: rooms joined by doors) at the "
        f"generator's point density, `{r.get('config')}` ({how}). *Tiled*: the backbone once, the head per "
        f"{r.get('tile_m', 8):g} m tile ({r.get('overlap_m', 2):g} m overlap), best score wins. Every run is checked "
        f"before it starts against a {r.get('memory_budget_mb', 0) / 1024:.0f} GB attention-memory budget "
        "(`tsp3d.runtime.scene_memory`, as `tsp3d ground` does); the control row runs the attention as exported and "
        "is refused once it would not fit. Voxel columns: the floor's 16 / 32 / 64 cm voxels; TGP columns: kept of "
        "before, from the whole-floor ONNX Runtime run.",
        table(["floor", "area m^2", "points", "voxels 16 / 32 / 64 cm", "TGP-1 kept (64 cm)", "TGP-2 kept (32 cm)",
               "final 16 cm"], frows),
        "Cells: p50 time / inference peak memory above the loaded model. Exponents: least-squares slope of "
        "log(value) over log(area) or log(16 cm voxels).",
        table(["runtime", *[f["floor"] for f in floors], "time exp. (area)", "time exp. (voxels)",
               "memory exp. (voxels)"], rows)]
        + (["Stopped: " + "; ".join(fail)] if fail else []) + [f"![scaling]({img('scaling.png')})"])


def official(r: dict, img) -> str:
    threads = r.get("per_threads", {})
    keys = list(dict.fromkeys(k for t in threads.values() for k in t["rows"]))
    theirs = r.get("workload", {}).get("official") or {}
    rows = []
    for key in keys:
        cells, label, counts = [], None, None
        for n, t in threads.items():
            x = t["rows"].get(key, {})
            label, counts = label or x.get("label", key), counts or x.get("counts")
            ratio_ = (r.get("ratios", {}).get(n) or {}).get(key)
            cells += ["failed: " + x.get("error", "?")[:80] if "p50_s" not in x else ms(x["p50_s"]),
                      "-" if ratio_ is None else f"{ratio_:.2f}x"]
        kept = (f"{theirs.get('tgp64_kept')} / {theirs.get('tgp32_kept')} / {theirs.get('final')}" if key == "official"
                else f"{counts[1]} / {counts[3]} / {counts[8]}" if counts else "-")
        rows.append([label, *cells, kept])
    heads = [h for n, t in threads.items() for h in (f"{n} thread{'s' if n != '1' else ''} ({t['clock']} clock)",
                                                     "vs official")] + ["kept: TGP-1 / TGP-2 / final"]
    return "\n\n".join([
        "## End to end against the official code", run_line(r),
        f"{r.get('scene_label')}: the official TSP3D code (`{r.get('checkout')}`"
        + (f", commit {r['commit'][:7]}" if r.get("commit") else "") + ", MinkowskiEngine 0.5.4 CPU) and "
        "our runtimes on the same weights, scene and text features, each row in a fresh process, "
        f"{r.get('rounds')} interleaved rounds (median of all runs). *vs official*: the official time / the row's "
        "time (x faster). `python -m tsp3d.bench.official --official DIR`.",
        table(["runtime", *heads], rows),
        "Last column: the voxels each run kept (the official one from its trace, `bench/official_trace.py`, not "
        "timed). Where they are equal the rows did the same work; the final set of ours differs from the official "
        "one only by the CBA sample (the official random draw there, our deterministic rule here)."])


def pruning(r: dict, img) -> str:
    out = ["## Pruning (TGP) and completion (CBA)", run_line(r)]
    if r.get("levels"):
        full = {lv["level"]: lv for lv in r.get("levels_no_pruning", [])}
        rows = [[lv["level"], lv["step"], lv["before"], lv["after"], full.get(lv["level"], {}).get("after", "-")]
                for lv in r["levels"]]
        out.append(table(["level", "step", "voxels before", "after", "after, nothing pruned"], rows))
        out.append(f"CBA added {r['levels'][-1].get('cba_added')} voxels at 16 cm.")
    p, f = r.get("pruned", {}), r.get("no_pruning", {})
    if "speedup" in r:
        out.append(f"ONNX Runtime FP32: {ms(p['p50_s'])} with TGP, {ms(f['p50_s'])} with nothing pruned (both TGP "
                   f"thresholds moved so every voxel passes): pruning saves {ms(r['time_saved_s'])} "
                   f"(**{r['speedup']:.1f}x**); inference peak {mb(p.get('inference_peak_mb'))} vs "
                   f"{mb(f.get('inference_peak_mb'))}.")
    elif "error" in f:
        out.append(f"The no-pruning run failed: {f['error']}")
    out.append(f"![pruning]({img('pruning.png')})")
    return "\n\n".join(out)


def pipeline(r: dict, img) -> str:
    rows = []
    for s in r.get("steps", []):
        value = ms(s["seconds"]) if s.get("seconds") is not None else "not run: " + s.get("reason", "?")
        note = "cached from an earlier run" if s.get("cached") else ""
        rows.append([s["step"], value, note])
    return "\n\n".join(["## Export, calibration and engine-build times", run_line(r),
                        "Wall time of each step in the suite's process (whatever the clock of the timed runs).",
                        table(["step", "time", ""], rows)])


# ---------------------------------------------------------------- everyone else's results


def gpu(results: dict[str, dict], img) -> str:
    if not results:
        return ("## GPU checks\n\nNo GPU has been available yet: the CUDA kernels and TensorRT plugins are compiled "
                "here but have not run. `scripts/gpu_check.sh` writes its results to docs/bench/ on a GPU machine.")
    return "\n\n".join(["## GPU checks"] + [generic(name, r, img, level=3) for name, r in results.items()])


def _scalar(v) -> bool:
    return isinstance(v, (int, float, str, bool)) or v is None


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def generic(name: str, r: dict, img, level: int = 2, charts: list[str] = ()) -> str:
    """A section for a result file this code does not know: its ``markdown`` if it has one, else its scalar fields
    and its lists of records as tables, and the charts named after it."""
    title = r.get("title") or name.replace("_", " ").capitalize()
    out = [f"{'#' * level} {title}"]
    if isinstance(r.get("markdown"), str):
        out.append(r["markdown"].strip())
    else:
        if r.get("machine"):
            out.append(run_line(r))
        scalars = [[k, _fmt(v)] for k, v in r.items() if _scalar(v) and k not in ("benchmark", "title")]
        if scalars:
            out.append(table(["field", "value"], scalars))
        for k, v in r.items():
            if k == "machine":
                continue
            if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                cols = [c for c in dict.fromkeys(c for x in v for c in x) if all(_scalar(x.get(c)) for x in v)]
                if cols:
                    out.append(f"`{k}`:\n\n" + table(cols, [[_fmt(x.get(c)) for c in cols] for x in v[:40]]))
            elif isinstance(v, list) and v and all(isinstance(x, str) for x in v):
                out.append(f"`{k}`:\n\n" + "\n".join(f"- {x}" for x in v))
            elif isinstance(v, dict) and v and all(_scalar(x) for x in v.values()):
                out.append(f"`{k}`:\n\n" + table(["field", "value"], [[a, _fmt(b)] for a, b in v.items()]))
    out += [f"![{c}]({img(c)})" for c in charts]
    return "\n\n".join(out)


SUITE = {"targets": targets, "sparse_ops": sparse_ops, "e2e": e2e, "official": official, "scaling": scaling,
         "pruning": pruning, "pipeline": pipeline}
