"""Typical row counts of every data-dependent node, measured at export on a few calibration scenes.

TensorRT tunes the layers after a size tensor for one row count (``declareSizeTensor``'s ``opt``); the capacity is
the worst case, not the usual one. The single graph is run in ONNX Runtime on synthetic rooms of a few sizes (the
exporter's ``example_inputs``, 3k-12k points; a room that exceeds a capacity is skipped and listed) with every
data-dependent node output exposed, and the median rows per node are
recorded in the bundle manifest (``typical_rows``); ``tsp3d build-engine`` hands them to the plugins as their
``opt_rows`` build hint (tsp3d/engine/trt_hints.py). The graph's own ``counts`` output gives the same per level.
"""
from __future__ import annotations

import statistics
from pathlib import Path

from tsp3d.export.bounds import DATA_DEPENDENT, DOMAIN, attr_int

SCENE_POINTS = (3000, 6000, 12000)  # points per synthetic room (capped by max_points)
SEEDS = (11, 12, 13)


def _with_row_outputs(proto, nodes: list) -> str:
    """A serialized copy of ``proto`` whose outputs also include the first output of each node in ``nodes``."""
    import onnx

    out = onnx.ModelProto()
    out.CopyFrom(proto)
    have = {o.name for o in out.graph.output}
    for node in nodes:
        if node.output[0] not in have:
            out.graph.output.append(onnx.helper.make_empty_tensor_value_info(node.output[0]))
    return out.SerializeToString()


def measure(model, single_path: Path, count_names: list[str]) -> dict:
    """``{"scenes", "nodes": {name: {op, median, max, capacity}}, "counts": {name: median}}``, or
    ``{"measured": False, "reason"}`` without ONNX Runtime's tsp3d library."""
    import onnx

    from tsp3d.errors import CapacityError
    from tsp3d.export.graph import example_inputs
    from tsp3d.runtime.ort_session import make_session, run
    from tsp3d.utils.libraries import find_library

    if find_library("ort") is None:
        return {"measured": False, "reason": "libtsp3d_ort.so not built: no typical counts (TensorRT tunes for the "
                                             "capacities)"}
    proto = onnx.load(str(single_path))
    nodes = [n for n in proto.graph.node if n.domain == DOMAIN and n.op_type in DATA_DEPENDENT]
    sess = make_session(_with_row_outputs(proto, nodes), threads=None)
    names = [o.name for o in sess.get_outputs()]
    rows: dict = {n.name: [] for n in nodes}
    counts: dict = {c: [] for c in count_names}
    scenes, skipped = [], []
    max_points = model.cfg.capacities.max_points
    for points, seed in zip(SCENE_POINTS, SEEDS):
        points = min(points, max_points)
        example = example_inputs(model, n_points=points, seed=seed)
        try:
            got = dict(zip(names, run(sess, {i.name: t.numpy() for i, t in zip(sess.get_inputs(), example)})))
        except CapacityError as e:  # a room too dense for this config's capacities is not a typical scene
            skipped.append({"points": points, "seed": seed, "reason": str(e).splitlines()[0]})
            continue
        for n in nodes:
            rows[n.name].append(int(got[n.output[0]].shape[0]))
        for c, v in zip(count_names, got["counts"].tolist()):
            counts[c].append(int(v))
        scenes.append({"points": points, "seed": seed})
    if not scenes:
        return {"measured": False, "reason": "every calibration scene exceeded a capacity", "skipped": skipped}
    return {"measured": True, "scenes": scenes, "skipped": skipped,
            "source": "synthetic rooms (tsp3d.export.graph.example_inputs)",
            "nodes": {n.name: {"op": n.op_type, "median": int(statistics.median(rows[n.name])),
                               "max": max(rows[n.name]), "capacity": attr_int(n, "capacity")} for n in nodes},
            "counts": {c: int(statistics.median(v)) for c, v in counts.items()}}
