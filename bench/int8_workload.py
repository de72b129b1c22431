"""The INT8 graph with the FP32 graph's workload, for speed comparisons on the same work.

The benchmark model is randomly initialised; its pruning biases are calibrated so that 30 % / 60 % / 25 % of the
voxels pass TGP-1 / TGP-2 / CBA on the FP32 model (``models.py``). Its logits are close together, so INT8's
rounding moves many of them across a threshold: on ``base`` the INT8 graph kept 47 of 560 voxels at TGP-1 against
168 and finished with 10.7k voxels against 25.6k -- less work, and a speed-up that is not the runtime's. A trained
model's scores are far from its thresholds; this benchmark model's are not.

``match_pruning`` gives each ``Prune`` of the INT8 graph the threshold that keeps as many rows as the FP32 graph
keeps on the scene (in graph order, each after the ones before it are matched): the same voxel counts at every
level, so both graphs do the same amount of work. Only the thresholds change (a copy for the benchmark; the INT8
graphs of a bundle are untouched), and the counts of both runs are recorded to show that they agree.
"""
from __future__ import annotations

import numpy as np


def _kept(proto, feeds: dict, names: list[str]) -> dict:
    """Values ``names`` of ``proto`` on ``feeds`` (added as outputs)."""
    from tsp3d.calibration.collect import with_outputs
    from tsp3d.runtime.ort_session import make_session, run

    sess = make_session(with_outputs(proto, names), threads=1)
    out = dict(zip([o.name for o in sess.get_outputs()], run(sess, feeds)))
    return {n: out[n] for n in names}


def keep_threshold(scores: np.ndarray, keep: int, mode: int) -> float:
    """The threshold under which ``Prune`` (mode 1: keep score > t; mode 0: keep score < t) keeps ``keep`` rows:
    the first score that must not pass (fewer on ties; NaN never passes)."""
    s = np.asarray(scores, dtype=np.float32).reshape(-1)
    s = s[~np.isnan(s)]
    order = np.sort(s)[::-1] if mode == 1 else np.sort(s)
    if keep >= order.size:  # keep all: just beyond the last
        edge = order[-1] if order.size else np.float32(0)
        return float(np.nextafter(edge, np.float32(-np.inf if mode == 1 else np.inf)))
    return float(order[keep])


def match_pruning(int8, fp32, feeds: dict) -> tuple:
    """``(copy of int8 with matched Prune thresholds, {prune node: {fp32, int8_before, int8_after, threshold}})``."""
    import onnx
    from onnx import helper

    prunes = [n.name for n in int8.graph.node if n.op_type == "Prune"]
    by_name = {n.name: n for n in fp32.graph.node}
    want = _kept(fp32, feeds, [by_name[p].output[0] for p in prunes])
    out = onnx.ModelProto()
    out.CopyFrom(int8)
    nodes = {n.name: n for n in out.graph.node}
    report = {}
    for p in prunes:
        node = nodes[p]
        got = _kept(out, feeds, [node.input[0], node.output[0]])
        target, before = int(want[by_name[p].output[0]].size), int(got[node.output[0]].size)
        entry = {"fp32": target, "int8_before": before}
        if before != target:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            t = keep_threshold(got[node.input[0]], target, int(attrs.get("mode", 0)))
            kept_attrs = [a for a in node.attribute if a.name != "threshold"]
            del node.attribute[:]
            node.attribute.extend(kept_attrs + [helper.make_attribute("threshold", t)])
            entry.update(threshold_from=float(attrs.get("threshold", 0.0)), threshold=t)
        entry["int8_after"] = int(_kept(out, feeds, [node.output[0]])[node.output[0]].size)
        report[p] = entry
    return out, report
