"""Parity measurements between a reference run and another runtime (used by ``tsp3d validate``).

* Voxel sets are compared **as sets** (pruning is a threshold: a score within float rounding of it flips one
  voxel, which is a different set, not a numeric error). The sets: the backbone levels V1/V2/V3 and, in the head,
  the voxels kept by TGP at 64 and 32 voxels, the upsampled sets, and the final set after CBA; plus the site of
  the top-1 voxel (the same voxel won, whatever the rounding of its box).
* Float outputs go through Polygraphy's ``Comparator`` (``SimpleCompareFunc``: max/mean abs and rel error;
  ``CosineSimilarityCompareFunc``), wrapped in ``RunResults``; only iterations whose shapes agree are compared.
* ``scaled_rel``: ``max |a - b| / max |b|`` per output, the relative error at the output's own scale (the
  element-wise relative error of Polygraphy explodes on values near 0).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

# The head's voxel sets, in the order the model creates them (CoordsUp input/output twice, AppendMissing).
HEAD_SETS = ("tgp64_kept", "up32", "tgp32_kept", "up16", "final")
LEVEL_SETS = ("v1", "v2", "v3")


# ---------------------------------------------------------------- sets


def set_keys(coords: np.ndarray) -> np.ndarray:
    """Sorted unique int64 keys of coordinate rows ``[N, 4]`` (batch, x, y, z) (docs/opset.md key packing)."""
    c = np.asarray(coords, dtype=np.int64).reshape(-1, 4)
    keys = (c[:, 0] << 48) | ((c[:, 1] + 32768) << 32) | ((c[:, 2] + 32768) << 16) | (c[:, 3] + 32768)
    return np.unique(keys)


def compare_sets(a: np.ndarray, b: np.ndarray) -> dict:
    ka, kb = set_keys(a), set_keys(b)
    only_a = np.setdiff1d(ka, kb, assume_unique=True).size
    only_b = np.setdiff1d(kb, ka, assume_unique=True).size
    return {"identical": only_a == 0 and only_b == 0, "size_a": int(ka.size), "size_b": int(kb.size),
            "only_a": int(only_a), "only_b": int(only_b)}


@dataclass
class HeadTrace:
    """What the head did besides its outputs: its voxel sets and the site of the top-1 voxel."""

    sets: dict  # HEAD_SETS name -> int32 coords [M, 4]
    top1_site: np.ndarray  # int32 [4]: the final-set voxel whose cls logit was the largest

    def compare(self, ref: "HeadTrace") -> dict:
        """``{set name: identical}`` plus ``top1_site``: the same voxel won (not just a close box)."""
        out = {name: compare_sets(self.sets[name], ref.sets[name])["identical"] for name in HEAD_SETS}
        out["top1_site"] = bool(np.array_equal(self.top1_site, ref.top1_site))
        return out


def _trace(sets: list, top1_index) -> HeadTrace:
    final = np.asarray(sets[-1])
    return HeadTrace(dict(zip(HEAD_SETS, sets)), final[int(np.asarray(top1_index).reshape(-1)[0])])


def record_torch_head(model, levels, text_feats, text_mask):
    """Run ``model.ground`` while recording its voxel sets and top-1 index (the head's probes) -> (outputs,
    HeadTrace)."""
    import torch

    probes: dict = {}
    with torch.no_grad():
        out = model.ground(*levels, text_feats, text_mask, None, probes)
    return out, _trace([probes[name].cpu().numpy() for name in HEAD_SETS], probes["top1"].cpu().numpy())


def _axis(node) -> int:
    return next((a.i for a in node.attribute if a.name == "axis"), 0)


def head_with_trace_outputs(head_proto):
    """A copy of the head graph whose extra outputs give a ``HeadTrace`` -> (proto, extra output names)."""
    import onnx

    proto = onnx.ModelProto()
    proto.CopyFrom(head_proto)
    nodes = proto.graph.node
    ups = [n for n in nodes if n.domain == "tsp3d" and n.op_type == "CoordsUp"]
    appends = [n for n in nodes if n.domain == "tsp3d" and n.op_type == "AppendMissing"]
    # The top-1 row is the index the decoder gathers the winning voxel's site with (tsp3d.model.top1 spells the
    # rule out with plain ops, so there is no single ArgMax node to read).
    final = appends[0].output[0] if len(appends) == 1 else None
    picks = [n for n in nodes if n.op_type == "Gather" and n.input[0] == final and _axis(n) == 0]
    if len(ups) != 2 or len(appends) != 1 or len(picks) != 1:
        raise RuntimeError(f"unexpected head graph: {len(ups)} CoordsUp, {len(appends)} AppendMissing, "
                           f"{len(picks)} Gather nodes reading the final voxel sites")
    names = [ups[0].input[0], ups[0].output[0], ups[1].input[0], ups[1].output[0], final, picks[0].input[1]]
    types = [onnx.TensorProto.INT32] * 5 + [onnx.TensorProto.INT64]
    present = {o.name for o in proto.graph.output}
    for name, elem in zip(names, types):
        if name not in present:
            proto.graph.output.append(onnx.helper.make_tensor_value_info(name, elem, None))
    return proto, names


def trace_from_outputs(names: list[str], extra: dict) -> HeadTrace:
    """The ``HeadTrace`` of a run of ``head_with_trace_outputs``'s graph (``extra``: name -> array)."""
    return _trace([extra[n] for n in names[:5]], extra[names[5]])


# ---------------------------------------------------------------- boxes


def box_iou(a, b) -> float:
    from tsp3d.data.boxes import axis_aligned_iou

    return float(axis_aligned_iou(np.asarray(a, np.float64), np.asarray(b, np.float64)))


# ---------------------------------------------------------------- float outputs through Polygraphy


class OutputLog:
    """Per-iteration float outputs of the reference and one runtime, compared with Polygraphy at the end."""

    def __init__(self, ref_name: str, rt_name: str):
        self.names = (ref_name, rt_name if rt_name != ref_name else rt_name + "-b")
        self.ref: list[OrderedDict] = []
        self.rt: list[OrderedDict] = []
        self.skipped: dict[str, int] = {}

    def add(self, ref: dict, rt: dict) -> None:
        """One iteration: outputs by name; an output whose shapes differ is skipped (counted)."""
        a, b = OrderedDict(), OrderedDict()
        for name, value in ref.items():
            other = rt.get(name)
            if other is None or np.shape(other) != np.shape(value):
                self.skipped[name] = self.skipped.get(name, 0) + 1
                continue
            a[name] = np.asarray(value, np.float32)
            b[name] = np.asarray(other).astype(np.float32)
        if a:
            self.ref.append(a)
            self.rt.append(b)

    def compare(self) -> dict:
        """``{output: {max_abs, max_rel, mean_abs, scaled_rel, min_cosine, iterations, skipped}}``."""
        from polygraphy.comparator import Comparator, IterationResult, RunResults, SimpleCompareFunc
        from polygraphy.comparator.compare import CosineSimilarityCompareFunc
        from polygraphy.logger import G_LOGGER

        if not self.ref:
            return {name: {"iterations": 0, "skipped": n} for name, n in self.skipped.items()}
        results = RunResults([
            (self.names[0], [IterationResult(o, runner_name=self.names[0]) for o in self.ref]),
            (self.names[1], [IterationResult(o, runner_name=self.names[1]) for o in self.rt]),
        ])
        old = G_LOGGER.module_severity
        G_LOGGER.module_severity = G_LOGGER.CRITICAL  # the report says it all; no per-output log lines
        funcs = [SimpleCompareFunc(check_error_stat="max", atol=float("inf"), rtol=float("inf")),
                 CosineSimilarityCompareFunc(-1.0)]
        try:
            simple, cosine = [_iterations(Comparator.compare_accuracy(results, compare_func=f)) for f in funcs]
        finally:
            G_LOGGER.module_severity = old
        out: dict = {}
        for it_simple, it_cos in zip(simple, cosine):
            for name, r in it_simple.items():
                s = out.setdefault(name, {"max_abs": 0.0, "max_rel": 0.0, "mean_abs_max": 0.0, "min_cosine": 1.0,
                                          "iterations": 0})
                s["max_abs"] = max(s["max_abs"], r.max_absdiff)
                s["max_rel"] = max(s["max_rel"], r.max_reldiff)
                s["mean_abs_max"] = max(s["mean_abs_max"], r.mean_absdiff)
                s["iterations"] += 1
                if name in it_cos:
                    s["min_cosine"] = min(s["min_cosine"], float(it_cos[name].cosine_similarity))
        for name, s in out.items():
            scale = max(float(np.abs(it[name]).max()) for it in self.ref if name in it)
            s["scaled_rel"] = s["max_abs"] / scale if scale > 0 else (0.0 if s["max_abs"] == 0 else float("inf"))
            s["skipped"] = self.skipped.get(name, 0)
        for name, n in self.skipped.items():
            out.setdefault(name, {"iterations": 0, "skipped": n})
        return out


def _iterations(accuracy) -> list:
    """The per-iteration results of the one runner pair (Polygraphy >= 0.50 wraps them in a list per function)."""
    result = accuracy[0] if not hasattr(accuracy, "values") else accuracy
    return next(iter(result.values()))
