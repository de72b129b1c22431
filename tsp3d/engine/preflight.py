"""``tsp3d check-engine``: would this graph build into a TensorRT engine, and fit? Offline: no TensorRT, no GPU.

For each TensorRT release of the support table (trt_support): every standard node against the parser's operator
support, every plugin node against our creators (plugin_table). Then, from the optimization profile's max shapes
(engine/profile.py, the bundle's capacities and text max_length) and the size-tensor bounds (export/bounds.py),
the worst-case size of every tensor (tensor_bounds) and the worst-case activation memory (memory), compared with
a budget (default 4 GiB: an 8 GB Jetson Orin Nano shares its memory with everything else).

The graph analysed is the one ``tsp3d build-engine`` hands to TensorRT: the attention's scale moved onto Q, and the
attention blocks whose worst-case score tensor exceeds the chunk budget split over queries (attention_chunks);
the memory of the graph as exported is reported alongside.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tsp3d.engine.attention_chunks import DEFAULT_CHUNK_MB, MIB, Rewrite, tensorrt_graph
from tsp3d.engine.memory import MemoryReport, memory_report
from tsp3d.engine.tensor_bounds import bound_tensors
from tsp3d.engine.trt_support import GraphFacts, Problem, check_node, release_entry, releases
from tsp3d.errors import InputFileError, ModelFormatError

DEFAULT_BUDGET_GB = 4.0
GIB = 1 << 30


@dataclass
class Report:
    source: str
    max_dims: dict
    budget_bytes: int
    releases: dict = field(default_factory=dict)  # release -> {"document", "problems": [Problem], "notes": [...]}
    unbounded: list = field(default_factory=list)  # [Problem]
    memory: MemoryReport | None = None  # the graph TensorRT is given
    exported_memory: MemoryReport | None = None  # the graph as exported, when the rewrite changed it
    rewrite: Rewrite | None = None
    nodes: int = 0
    plugin_nodes: int = 0

    @property
    def over_budget(self) -> bool:
        return self.memory is None or self.memory.peak_bytes > self.budget_bytes

    @property
    def ok(self) -> bool:
        return not self.unbounded and not self.over_budget and not any(r["problems"] for r in self.releases.values())


def _load(path: Path, graph: str, precision: str):
    """(proto, capacities or None, text max_length or None, description) of a bundle directory or an .onnx file."""
    import onnx

    from tsp3d.export.metadata import read_graph_metadata

    if path.is_dir():
        from tsp3d.runtime.manifest import Bundle

        bundle = Bundle(path)
        onnx_path = bundle.graph(precision, graph)
        max_length = bundle.text_encoder.get("max_length")
    elif path.is_file():
        onnx_path, max_length = path, None
    else:
        raise InputFileError(f"{path} is neither an export bundle nor an ONNX file")
    try:
        proto = onnx.load(str(onnx_path), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - any parse failure is one line
        raise InputFileError(f"{onnx_path} is not a readable ONNX model: {e}") from e
    caps = read_graph_metadata(proto).get("capacities")
    return proto, caps if isinstance(caps, dict) else None, max_length, str(onnx_path)


def input_maxima(proto, capacities: dict | None, max_length: int | None, given: dict[str, int]) -> dict[str, int]:
    """Maxima of the inputs' symbolic dimensions: ``given`` first, then the tsp3d profile (when the graph is ours)."""
    from tsp3d.engine.profile import derive_profile

    out = dict(given)
    if capacities is not None:
        for d, hi in profile_maxima(proto, derive_profile(proto, capacities, max_length)).items():
            out.setdefault(d, hi)
    return out


def profile_maxima(proto, profile: dict) -> dict[str, int]:
    """``{symbol: max}`` of the inputs' symbolic dimensions under an optimization ``profile`` (profile.py)."""
    from tsp3d.engine.profile import graph_inputs

    out = {}
    for name, dims in graph_inputs(proto):
        for d, hi in zip(dims, profile[name]["max"]):
            if isinstance(d, str):
                out.setdefault(d, int(hi))
    return out


def _check_ops(proto, report: Report, wanted: list[str]) -> None:
    from tsp3d.engine.plugin_table import check_plugin_node

    facts = GraphFacts(proto)
    standard = [n for n in proto.graph.node if n.domain in ("", "ai.onnx")]
    plugins = [n for n in proto.graph.node if n.domain not in ("", "ai.onnx")]
    report.nodes, report.plugin_nodes = len(proto.graph.node), len(plugins)
    plugin_problems = [p for n in plugins for p in check_plugin_node(n)]
    for rel in wanted:
        entry = release_entry(rel)
        problems, notes = list(plugin_problems), set()
        if not entry["opset_min"] <= facts.opset <= entry["opset_max"]:
            problems.append(Problem("opset", "", f"the graph imports ONNX opset {facts.opset}; the parser takes "
                                                 f"{entry['opset_min']}..{entry['opset_max']}"))
        for node in standard:
            p, n = check_node(node, facts, entry)
            problems += p
            notes.update(n)
        report.releases[rel] = {"document": entry["document"], "source": entry["source"], "problems": problems,
                                "notes": sorted(notes)}


def check(path, *, trt: str | None = None, budget_gb: float = DEFAULT_BUDGET_GB, graph: str = "single",
          precision: str = "fp32", dims: dict[str, int] | None = None,
          chunk_mb: float = DEFAULT_CHUNK_MB) -> Report:
    """The offline engine check of a bundle's graph (or an .onnx file) as build-engine would give it to TensorRT
    (``chunk_mb``: the attention chunk budget, 0 for none); see the module docstring."""
    if not budget_gb > 0:
        raise InputFileError(f"--budget-gb must be > 0, got {budget_gb}")
    if not chunk_mb >= 0:
        raise InputFileError(f"--attention-chunk-mb must be >= 0 (0: no chunks), got {chunk_mb}")
    if graph not in ("single", "backbone", "head"):
        raise InputFileError(f"--graph must be single, backbone or head, got {graph!r}")
    proto, caps, max_length, source = _load(Path(path), graph, precision)
    maxima = input_maxima(proto, caps, max_length, dims or {})
    report = Report(source, maxima, int(budget_gb * GIB))
    bounds, _ = bound_tensors(proto, maxima)
    io_bytes = _io_bytes(proto, maxima, bounds)
    engine_proto, report.rewrite = tensorrt_graph(proto, bounds, int(chunk_mb * MIB))
    if report.rewrite.changed:
        report.exported_memory = memory_report(proto, bounds, io_bytes)
        bounds, _ = bound_tensors(engine_proto, {**maxima, **report.rewrite.symbols})
    _check_ops(engine_proto, report, [trt] if trt else releases())
    report.unbounded = [Problem("unbounded", tb.name, f"tensor {tb.name!r} {tb.dims}: {tb.why}")
                        for tb in bounds.values() if tb.upper is None]
    report.memory = memory_report(engine_proto, bounds, io_bytes)
    return report


def _io_bytes(proto, maxima: dict, bounds: dict) -> int:
    from tsp3d.engine.tensor_bounds import _ELEM_BYTES

    total = 0
    for vi in proto.graph.input:
        n = 1
        for d in vi.type.tensor_type.shape.dim:
            n *= d.dim_value if not d.dim_param else maxima.get(d.dim_param, 0)
        total += n * _ELEM_BYTES.get(vi.type.tensor_type.elem_type, 4)
    return total + sum(bounds[o.name].bytes or 0 for o in proto.graph.output if o.name in bounds)


def require_ok(report: Report) -> None:
    """``ModelFormatError`` with the first reasons when the engine would not build or not fit."""
    if report.ok:
        return
    reasons = [p.message for r in report.releases.values() for p in r["problems"]][:3]
    reasons += [p.message for p in report.unbounded][:2]
    if report.memory is not None and report.over_budget:
        reasons.append(f"worst-case activation memory {report.memory.peak_bytes / GIB:.2f} GiB exceeds the "
                       f"budget {report.budget_bytes / GIB:.2f} GiB")
    raise ModelFormatError("the engine would not build or not fit: " + "; ".join(reasons),
                           hint="see the full report above; lower the capacities or raise --budget-gb")
