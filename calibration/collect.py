"""Activation statistics through ONNX Runtime with the tsp3d custom-op library.

The FP32 graph is run as exported (our kernels, ``make_session``) with the tensors to calibrate added as extra
graph outputs; every calibration sample updates one ``TensorStats`` per tensor. Tensors that are graph inputs
(``text_feats``) are observed from the feeds. Data-dependent sets can be empty for a sample: an empty tensor adds
nothing.
"""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np

from tsp3d.calibration.observers import TensorStats


def with_outputs(proto, names: Sequence[str]):
    """A copy of ``proto`` with the intermediate values ``names`` added as graph outputs (typed when known)."""
    import onnx
    from onnx import helper

    out = onnx.ModelProto()
    out.CopyFrom(proto)
    graph = out.graph
    infos = {v.name: v for v in graph.value_info}
    have = {o.name for o in graph.output} | {i.name for i in graph.input}
    for name in names:
        if name in have:
            continue
        if name in infos:
            graph.output.append(infos[name])
        else:
            graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
        have.add(name)
    return out


def collect_stats(proto, tensors: Iterable[str], feeds: Iterable[dict], *, threads: int | None = None,
                  progress: Callable[[int], None] | None = None) -> dict[str, TensorStats]:
    """``{tensor: TensorStats}`` over every feed dict (graph input name -> array) run through ``proto``."""
    from tsp3d.runtime.ort_session import make_session, run

    tensors = list(dict.fromkeys(tensors))
    inputs = {i.name for i in proto.graph.input}
    inner = [t for t in tensors if t not in inputs]
    model = with_outputs(proto, inner)
    session = make_session(model, threads=threads)
    names = [o.name for o in session.get_outputs()]
    stats = {t: TensorStats() for t in tensors}
    for i, feed in enumerate(feeds):
        values = dict(zip(names, run(session, feed)))
        for t in tensors:
            arr = feed[t] if t in inputs else values[t]
            if np.asarray(arr).size:
                stats[t].update(arr)
        if progress:
            progress(i + 1)
    return stats
