"""The check-engine report as text (what the command prints) and as JSON (``--json``)."""
from __future__ import annotations

from dataclasses import asdict

from tsp3d.engine.preflight import GIB, Report


def _size(n: int | None) -> str:
    if n is None:
        return "unbounded"
    return f"{n / GIB:.2f} GiB" if n >= GIB // 4 else f"{n / (1 << 20):.1f} MiB"


def render(report: Report, show: int = 8) -> str:
    """The text report (problems up to ``show`` per release)."""
    lines = [f"check-engine: {report.source}",
             "profile max: " + ", ".join(f"{k}={v}" for k, v in sorted(report.max_dims.items())),
             f"{report.nodes} nodes ({report.plugin_nodes} tsp3d plugin nodes)"]
    for rel, r in report.releases.items():
        verdict = "supported" if not r["problems"] else f"{len(r['problems'])} problem(s)"
        lines.append(f"TensorRT {rel} (onnx-tensorrt {r['document']} operators.md): {verdict}")
        lines += [f"  - {p.message}" for p in r["problems"][:show]]
        if len(r["problems"]) > show:
            lines.append(f"  ... and {len(r['problems']) - show} more")
        lines += [f"  note (not checked): {n}" for n in r["notes"]]
    lines += [f"unbounded: {p.message}" for p in report.unbounded[:show]]
    lines += _rewrite_lines(report)
    m = report.memory
    if m is not None:
        verdict = "over" if report.over_budget else "within"
        lines.append(f"worst-case activation memory: {_size(m.peak_bytes)} at node {m.peak_node!r} (step "
                     f"{m.peak_step + 1}/{m.steps}), {verdict} the budget of {_size(report.budget_bytes)}")
        if report.exported_memory is not None:
            lines.append(f"  as exported: {_size(report.exported_memory.peak_bytes)} -> as given to TensorRT: "
                         f"{_size(m.peak_bytes)}")
        lines.append(f"  weights {_size(m.weights_bytes)}, engine inputs and outputs {_size(m.io_bytes)}; plugin "
                     f"workspaces not counted")
        if m.bodies_not_counted:
            lines.append(f"  not counted: the bodies of {len(m.bodies_not_counted)} Loop/If/Scan node(s) "
                         f"({', '.join(m.bodies_not_counted[:3])})")
        lines.append("largest tensors:")
        for n, value, shape, op, node in m.largest:
            lines.append(f"  {_size(n):>10}  {value} {shape}  ({op} {node!r})")
        if m.attention:
            worst = m.attention[0]
            lines.append(f"attention blocks (MatMul-Softmax-MatMul): {len(m.attention)}; largest scores "
                         f"{_size(worst.bytes)} at Softmax {worst.softmax!r}; peak {_size(m.peak_if_fused)} if "
                         f"TensorRT fused every block (not guaranteed, docs/tensorrt.md)")
    lines.append("verdict: " + ("OK" if report.ok else "FAIL"))
    return "\n".join(lines)


def _rewrite_lines(report: Report) -> list[str]:
    """What build-engine changes in the graph it hands to TensorRT (attention_chunks)."""
    rw = report.rewrite
    if rw is None:
        return []
    budget = f"{_size(rw.chunk_bytes)} per chunk" if rw.chunk_bytes else "off"
    lines = [f"graph given to TensorRT: attention scale on Q in {len(rw.scale_moved)} block(s); "
             f"{len(rw.chunked)} block(s) split over queries (chunk budget {budget})"]
    for b in rw.chunked:
        lines.append(f"  {b.softmax}: {b.chunks} chunks of <= {b.chunk_rows} of {b.query_rows} query rows, "
                     f"scores {_size(b.scores_before)} -> {_size(b.scores_after)}")
    return lines


def to_dict(report: Report) -> dict:
    out = {"source": report.source, "max_dims": report.max_dims, "budget_bytes": report.budget_bytes,
           "ok": report.ok, "nodes": report.nodes, "plugin_nodes": report.plugin_nodes,
           "releases": {rel: {"document": r["document"], "source": r["source"],
                              "problems": [asdict(p) for p in r["problems"]], "notes": r["notes"]}
                        for rel, r in report.releases.items()},
           "unbounded": [asdict(p) for p in report.unbounded]}
    if report.memory is not None:
        m = report.memory
        out["memory"] = {"peak_bytes": m.peak_bytes, "peak_node": m.peak_node, "weights_bytes": m.weights_bytes,
                         "io_bytes": m.io_bytes, "peak_if_fused": m.peak_if_fused,
                         "largest": [{"bytes": n, "value": v, "shape": sh, "op": op, "node": node}
                                     for n, v, sh, op, node in m.largest],
                         "attention": [asdict(a) for a in m.attention]}
    if report.exported_memory is not None:
        out["memory"]["peak_bytes_as_exported"] = report.exported_memory.peak_bytes
    if report.rewrite is not None:
        rw = report.rewrite
        out["attention_rewrite"] = {"chunk_bytes": rw.chunk_bytes, "scale_on_q": rw.scale_moved,
                                    "chunked": [asdict(b) for b in rw.chunked]}
    return out
