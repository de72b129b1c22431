"""Per-layer sensitivity: quantize one unit at a time (everything else FP32) and measure the task.

For each unit (``calibration.layers.units``): Acc@0.25 / Acc@0.5 on an evaluation subset, the drop against FP32
in points, and the agreement of the top-1 boxes with FP32 (same object: IoU >= 0.5; identical: IoU >= 0.999).
A backbone-free unit reuses the FP32 backbone levels (the head graph alone is rebuilt).

The default INT8 graph keeps in float (``exclusions``):
- every unit matched by a structural keep rule (``layers.KEEP_RULES``: stem, scores, box), and
- every unit whose sole quantization costs more than ``max_drop`` points of Acc@0.25 or moves the top-1 to
  another object in more than ``1 - min_same_object`` of the samples.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from tsp3d.calibration.evaluate import EvalResult, GraphPair, evaluate
from tsp3d.calibration.layers import KEEP_RULES, Layer, unit_rules, units
from tsp3d.calibration.qdq import quantize_graph

DEFAULT_KEEP = tuple(KEEP_RULES)
DEFAULT_MAX_DROP = 0.5  # points of Acc@0.25
DEFAULT_MIN_SAME_OBJECT = 0.95


@dataclass
class SweepRow:
    unit: str
    kind: str
    layers: int
    rules: list
    acc25: float
    acc50: float
    drop25: float  # points (FP32 - this), positive = worse
    same_object: float
    identical: float
    mean_iou: float
    sentence_ms: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def _present(proto, layers: list[Layer]) -> bool:
    names = {n.name for n in proto.graph.node}
    return any(layer.node in names for layer in layers)


def sweep(backbone, head, layers: list[Layer], amax: dict, groups: list, reference: EvalResult,
          reference_levels: list, *, threads: int | None = None, only: list[str] | None = None,
          progress=None) -> list[SweepRow]:
    """One row per unit (``only``: a subset of unit names, in graph order)."""
    rows = []
    all_units = units(layers)
    chosen = [u for u in all_units if only is None or u in only]
    for k, name in enumerate(chosen):
        unit_layers = all_units[name]
        in_backbone = _present(backbone, unit_layers)
        bb = quantize_graph(backbone, unit_layers, amax)[0] if in_backbone else backbone
        hd = quantize_graph(head, unit_layers, amax)[0] if _present(head, unit_layers) else head
        pair = GraphPair(bb if in_backbone else None, hd, threads)
        result, _ = evaluate(pair, groups, name, None if in_backbone else reference_levels)
        acc, ref_acc = result.accuracy, reference.accuracy
        agree = result.agreement(reference)
        kinds = sorted({layer.kind for layer in unit_layers})
        rows.append(SweepRow(name, "+".join(kinds), len(unit_layers), list(unit_rules(unit_layers)),
                             acc["acc@0.25"], acc["acc@0.5"], 100.0 * (ref_acc["acc@0.25"] - acc["acc@0.25"]),
                             agree["same_object"], agree["identical"], agree["mean_iou"],
                             result.latency()["sentence_median_ms"]))
        if progress:
            progress(k + 1, len(chosen), rows[-1])
    return rows


def exclusions(layers: list[Layer], rows: list[SweepRow] | None = None, keep: tuple = DEFAULT_KEEP,
               max_drop: float = DEFAULT_MAX_DROP, min_same_object: float = DEFAULT_MIN_SAME_OBJECT) -> dict:
    """``{unit: reason}`` of the units the default INT8 graph keeps in float."""
    out = {}
    for name, unit_layers in units(layers).items():
        matched = [r for r in unit_rules(unit_layers) if r in keep]
        if matched:
            out[name] = "rule: " + ", ".join(matched)
    for row in rows or []:
        if row.unit in out:
            continue
        if row.drop25 > max_drop:
            out[row.unit] = f"sweep: Acc@0.25 -{row.drop25:.2f} points > {max_drop}"
        elif row.same_object < min_same_object:
            out[row.unit] = f"sweep: same top-1 object {100 * row.same_object:.1f} % < {100 * min_same_object:.0f} %"
    return out


def format_table(rows: list[SweepRow], reference: EvalResult) -> str:
    ref = reference.accuracy
    lines = [f"FP32: Acc@0.25 {100 * ref['acc@0.25']:.2f}  Acc@0.5 {100 * ref['acc@0.5']:.2f}  "
             f"({len(reference.ious)} samples)",
             f"{'unit':<48} {'kind':<12} {'n':>3} {'Acc@.25':>8} {'drop':>6} {'same':>6} {'ident':>6}  rules"]
    for r in rows:
        lines.append(f"{r.unit[:48]:<48} {r.kind[:12]:<12} {r.layers:>3} {100 * r.acc25:8.2f} {r.drop25:6.2f} "
                     f"{100 * r.same_object:6.1f} {100 * r.identical:6.1f}  {','.join(r.rules)}")
    return "\n".join(lines)
