"""What text-guided pruning (TGP) and completion (CBA) do to the work: voxels per level before/after each TGP
and added by CBA, and the time saved against a run where nothing is pruned.

The no-pruning run is the same ONNX graph with the two TGP ``Prune`` nodes' thresholds set so that every voxel
passes (every score beats -1e30 / stays below 1e30). The TGP nodes are the ``Prune`` nodes with ``min_keep = 1``
(the model's TGP never empties a scene; the CBA sample and the CBA threshold use ``min_keep = 0``); a graph with
any other number of them is refused rather than guessed at. CBA is left as it is.
"""
from __future__ import annotations

from pathlib import Path

from tsp3d.bench import e2e
from tsp3d.errors import ModelFormatError

LEVELS = (  # (level, voxels before, voxels after, what happens there), from the graph's ``counts`` output
    ("64 cm", "v3", "tgp64_kept", "TGP-1"),
    ("32 cm", "up32", "tgp32_kept", "TGP-2"),
    ("16 cm", "up16", "final", "CBA adds"),
)


def no_pruning_graph(src: Path, dst: Path) -> Path:
    import onnx

    proto = onnx.load(str(src))
    tgp = [n for n in proto.graph.node if n.op_type == "Prune" and n.domain == "tsp3d"
           and any(a.name == "min_keep" and a.i == 1 for a in n.attribute)]
    if len(tgp) != 2:
        raise ModelFormatError(f"{src}: expected 2 TGP Prune nodes (min_keep=1), found {len(tgp)}")
    for node in tgp:
        attrs = {a.name: a for a in node.attribute}
        mode = attrs["mode"].i if "mode" in attrs else 0
        attrs["threshold"].f = -1e30 if mode == 1 else 1e30
    onnx.save(proto, str(dst))
    return dst


def levels(counts: list[int] | dict) -> list[dict]:
    from tsp3d.runtime.base import COUNT_NAMES

    c = counts if isinstance(counts, dict) else dict(zip(COUNT_NAMES, counts))
    rows = []
    for level, before, after, step in LEVELS:
        rows.append({"level": level, "step": step, "before": c[before], "after": c[after]})
    rows[-1]["cba_added"] = c["cba_added"]
    return rows


def run(model, bundle: Path, inputs: Path, threads: int, quick: bool, pruned: dict | None = None,
        clock: str = "wall") -> dict:
    """``pruned``: the ONNX Runtime FP32 row on ``inputs`` already measured this run (else measured here)."""
    pruned = pruned or e2e.measure("ort-fp32", model.checkpoint, bundle, inputs, threads, quick, clock=clock)
    graph = no_pruning_graph(Path(bundle) / "model.onnx", Path(bundle).parent / "model_no_pruning.onnx")
    runs = (1, 2, 20.0) if quick else (1, 5, 120.0)
    spec = e2e.spec_for("ort-fp32", model.checkpoint, bundle, inputs, threads, quick, runs=runs, clock=clock)
    from tsp3d.bench.worker import run_in_subprocess

    full = {"key": "ort-fp32-no-pruning", "label": "ONNX Runtime FP32, nothing pruned",
            **run_in_subprocess({**spec, "graph": str(graph)}, 900.0)}
    out = {"config": model.config, "runtime": "ort-fp32", "pruned": pruned, "no_pruning": full}
    if "counts" in pruned:
        out["levels"] = levels(pruned["counts"])
    if "counts" in full:
        out["levels_no_pruning"] = levels(full["counts"])
    if "p50_s" in pruned and "p50_s" in full:
        out["time_saved_s"] = full["p50_s"] - pruned["p50_s"]
        out["speedup"] = full["p50_s"] / pruned["p50_s"]
        if pruned.get("inference_peak_mb") and full.get("inference_peak_mb"):
            out["memory_ratio"] = full["inference_peak_mb"] / pruned["inference_peak_mb"]
    return out
