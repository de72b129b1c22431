"""The TensorRT form of the attention on the exported models (tiny and base): ONNX Runtime runs the graph
build-engine hands to TensorRT and the graph as exported on real scenes, with n = 1, n < K, n = K and n not
divisible by K at the chunked levels: the same kept voxels and top-1, values equal to float rounding. And
check-engine's worst-case memory before and after. Crafted graphs: tests/test_attention_chunks.py."""
from __future__ import annotations

import numpy as np
import onnx
import pytest

from test_export_shared import needs_ort, room_points, scratch, shared_bundle
from tsp3d.engine.attention_chunks import MIB, rewrite_for_tensorrt
from tsp3d.engine.preflight import GIB, check, input_maxima

pytestmark = [pytest.mark.slow, needs_ort]


@pytest.fixture(scope="module")
def base_bundle():
    """A freshly initialised ``base`` model exported in FP32 and FP16 (no text encoder: features are given)."""
    import torch

    from tsp3d.checkpoint import save_checkpoint
    from tsp3d.bundle import export_bundle
    from tsp3d.model import TSP3D, load_config

    root = scratch("base-attention")
    torch.manual_seed(0)
    ckpt = save_checkpoint(root / "base.pt", TSP3D(load_config("base")).eval())
    export_bundle(ckpt, root / "bundle", fp16=True, text_encoder=False, self_check=False)
    return root / "bundle"


def _scenes() -> dict:
    """Scenes whose 64 cm level has 1, 3 and 8 voxels, and a room (hundreds)."""
    rng = np.random.default_rng(7)

    def box(lo, hi, n):
        return np.c_[rng.uniform(lo, hi, (n, 3)), rng.uniform(0, 1, (n, 3))].astype(np.float32)

    return {"cube": box([0.05] * 3, [0.25] * 3, 400), "bar": box([0.05] * 3, [1.85, 0.25, 0.25], 600),
            "cube8": box([0.05] * 3, [1.2] * 3, 1500), "room": room_points(3000, seed=3)}


def _engine_graph(proto, chunk_mb: float):
    from tsp3d.export.metadata import read_graph_metadata

    caps = read_graph_metadata(proto)["capacities"]
    return rewrite_for_tensorrt(proto, input_maxima(proto, caps, None, {}), int(chunk_mb * MIB))


def _session(proto, names: list[str]):
    from tsp3d.runtime.ort_session import make_session

    model = onnx.ModelProto()
    model.CopyFrom(proto)
    model.graph.output.extend(onnx.helper.make_empty_tensor_value_info(n) for n in names)
    return make_session(model.SerializeToString(), threads=1, attention="plain")


def _scaled_error(got, want) -> float:
    return float(np.abs(got.astype(np.float64) - want).max() / max(1.0, float(np.abs(want).max()))) if want.size \
        else 0.0


def _compare(bundle, chunk_mb: float, chunks: dict) -> None:
    """Both graphs on every scene: kept sets (every Prune), top-1 index (ReduceMin, top1.py) and counts equal; boxes,
    score and the chunked attention outputs within 1e-6 (scaled). Checks that the scenes met n = 1, 1 < n < K and
    n not divisible by K at the chunked blocks."""
    exported = onnx.load(str(bundle / "model.onnx"))
    engine, rw = _engine_graph(exported, chunk_mb)
    assert {b.softmax: b.chunks for b in rw.chunked} == chunks
    by_softmax = {n.name: n for n in exported.graph.node}
    producer = {o: n for n in exported.graph.node for o in n.output}
    reader = {i: n for n in exported.graph.node for i in n.input}
    attention = [reader[by_softmax[b.softmax].output[0]].output[0] for b in rw.chunked]  # the MatMul(p, v) rows
    exact = [n.output[0] for n in exported.graph.node if n.op_type in ("Prune", "ReduceMin")]
    names = exact + attention
    sessions = [_session(p, names) for p in (exported, engine)]
    dim = next(i for i in exported.graph.input if i.name == "text_feats").type.tensor_type.shape.dim[2].dim_value
    rng = np.random.default_rng(0)
    seen = []
    for scene, points in _scenes().items():
        feeds = {"points": points, "text_feats": rng.normal(size=(1, 6, dim)).astype(np.float32),
                 "text_mask": np.zeros((1, 6), bool)}
        want, got = [dict(zip([o.name for o in s.get_outputs()], s.run(None, feeds))) for s in sessions]
        for name in exact + ["counts"]:
            assert np.array_equal(got[name], want[name]), (scene, name, producer.get(name))
        for name in ["center", "size", "score"] + attention:
            assert _scaled_error(got[name], want[name]) <= 1e-6, (scene, name)
        seen += [(want[name].shape[-2], b.chunks) for name, b in zip(attention, rw.chunked)]
    assert any(n == 1 for n, _ in seen) and any(1 < n < k for n, k in seen) and any(n % k for n, k in seen), seen


def test_tiny_chunked_graph_computes_what_the_exported_one_does():
    """16 MiB chunks: the 64 cm block (4 heads x 2048^2, 64 MiB) in 4 chunks, the 32 cm block (1 GiB) in 64."""
    _compare(shared_bundle(), 16, {"node_softmax": 4, "node_softmax_4": 64})


def test_base_chunked_graph_computes_what_the_exported_one_does(base_bundle):
    """The default 256 MiB chunks: the four voxel self-attentions over <= 8,192 voxels (2 GiB) in 8 chunks."""
    _compare(base_bundle, 256, {f"node_softmax{s}": 8 for s in ("", "_4", "_8", "_12")})


def _fits(bundle, precision: str, heads: int, chunks: int, over_before: bool) -> None:
    r = check(bundle, precision=precision)
    assert r.ok and not r.unbounded, [p.message for v in r.releases.values() for p in v["problems"]]
    assert {b.chunks for b in r.rewrite.chunked} == {chunks}
    chunk = heads * (8192 // chunks) * 8192 * (4 if precision == "fp32" else 2)
    assert all(b.scores_after == chunk for b in r.rewrite.chunked)
    assert r.memory.largest[0][0] == chunk
    assert 2 * chunk < r.memory.peak_bytes < 2 * chunk + 64 * MIB  # one chunk's scores and probabilities at a time
    assert (r.exported_memory.peak_bytes > 4 * GIB) == over_before


def test_check_engine_base_fits_after_the_rewrite(base_bundle):
    """base fp32: over the 4 GiB budget as exported, within it as TensorRT is given it; fp16 too."""
    _fits(base_bundle, "fp32", heads=8, chunks=8, over_before=True)
    _fits(base_bundle, "fp16", heads=8, chunks=4, over_before=False)


def test_check_engine_tiny_after_the_rewrite():
    _fits(shared_bundle(), "fp32", heads=4, chunks=4, over_before=False)
    _fits(shared_bundle(), "fp16", heads=4, chunks=2, over_before=False)
