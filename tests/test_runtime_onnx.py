"""ONNX Runtime on an exported bundle: split == single graph, parity with PyTorch, FP16, text, errors."""
from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest

from test_export_shared import SENTENCES, needs_ort, room_points, scratch, shared_bundle, tiny_checkpoint
from tsp3d.errors import CapacityError, InputFileError

pytestmark = [pytest.mark.slow, needs_ort]


@pytest.fixture(scope="module")
def runtimes():
    from tsp3d.runtime.onnx_runtime import OnnxRuntime
    from tsp3d.runtime.torch_runtime import TorchRuntime

    bundle = shared_bundle()
    return {"torch": TorchRuntime(tiny_checkpoint()),
            "split": OnnxRuntime(bundle, "fp32", "split", threads=2),
            "single": OnnxRuntime(bundle, "fp32", "single", threads=2),
            "fp16": OnnxRuntime(bundle, "fp16", "split", threads=2)}


def _text(seed: int, length: int = 7):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(1, length, 32)).astype(np.float32), np.zeros((1, length), bool)


def test_split_graphs_equal_the_single_graph(runtimes):
    for seed in range(3):
        points = room_points(5000 + 1500 * seed, seed=seed + 20)
        scene = runtimes["split"].encode_scene(points)
        for t in range(2):
            feats, mask = _text(10 * seed + t, 5 + t)
            a = runtimes["split"].ground(scene, feats, mask)
            b = runtimes["single"].predict(points, feats, mask)
            assert a.counts == b.counts
            assert np.array_equal(a.box, b.box) and a.score == b.score


def test_onnxruntime_matches_pytorch_on_several_scenes(runtimes):
    ref, ort = runtimes["torch"], runtimes["split"]
    for seed in range(3):
        points = room_points(3000 + 1500 * seed, seed=seed)
        s_ref, s_ort = ref.encode_scene(points), ort.encode_scene(points)
        for a, b in zip(ref.levels_numpy(s_ref.levels), ort.levels_numpy(s_ort.levels)):
            if a.dtype == np.int32:
                assert np.array_equal(a, b)  # voxel sets and their canonical order
            else:
                np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
        feats, mask = _text(seed)
        want, got = ref.ground(s_ref, feats, mask), ort.ground(s_ort, feats, mask)
        assert got.counts == want.counts
        np.testing.assert_allclose(got.box, want.box, atol=1e-4)
        assert abs(got.score - want.score) < 1e-5


def test_fp16_bundle_runs_and_stays_close(runtimes):
    points = room_points(6000, seed=3)
    feats, mask = _text(3)
    a = runtimes["split"].predict(points, feats, mask)
    b = runtimes["fp16"].predict(points, feats, mask)
    levels = runtimes["fp16"].encode_scene(points).levels
    assert levels["v1_feats"].dtype == np.float16 and levels["v1_coords"].dtype == np.int32
    assert np.array_equal(levels["v1_coords"], runtimes["split"].encode_scene(points).levels["v1_coords"])
    assert abs(a.score - b.score) < 0.02 and 0 < b.score < 1
    assert b.counts["v3"] == a.counts["v3"]  # the backbone sets are unaffected by the precision


def test_text_from_the_feature_table_and_from_the_exported_encoder(runtimes):
    from tsp3d.text import load_text_encoder

    ort = runtimes["split"]
    ref = load_text_encoder("tiny")
    for sentence in (SENTENCES[0], "a sentence the bundle has never seen"):
        got, want = ort.encode_text(sentence), ref.encode([sentence])
        assert got.feats.shape == tuple(want.feats.shape) and not got.mask.any()
        np.testing.assert_allclose(got.feats, want.feats.numpy(), atol=1e-5)
    scene = ort.encode_scene(room_points(4000, seed=5))
    results = ort.ground_texts(scene, list(SENTENCES))
    assert [r.text for r in results] == list(SENTENCES)
    with pytest.raises(InputFileError, match="empty"):
        ort.encode_text("  ")


def test_bad_input_and_capacity_errors(runtimes):
    ort = runtimes["split"]
    with pytest.raises(InputFileError):
        ort.encode_scene(np.zeros((10, 3), np.float32))
    with pytest.raises(CapacityError, match="max_points"):
        ort.encode_scene(np.zeros((ort.max_points + 1, 6), np.float32))
    scene = ort.encode_scene(room_points(4000, seed=6))
    with pytest.raises(InputFileError, match=r"\[1, L, 32\]"):
        ort.ground(scene, np.zeros((1, 4, 16), np.float32), np.zeros((1, 4), bool))
    # A bundle whose head has a tiny capacity on the final set: a typed error, never a truncated result.
    from tsp3d.runtime.onnx_runtime import OnnxRuntime

    small = scratch("capacity") / "bundle"
    shutil.copytree(shared_bundle(), small)
    head = onnx.load(str(small / "head.onnx"))
    node = next(n for n in head.graph.node if n.op_type == "AppendMissing")
    next(a for a in node.attribute if a.name == "capacity").i = 10
    onnx.save(head, str(small / "head.onnx"))
    rt = OnnxRuntime(small, "fp32", "split", threads=1)
    with pytest.raises(CapacityError, match="AppendMissing|capacity"):
        rt.ground(rt.encode_scene(room_points(4000, seed=6)), *_text(0))
    manifest = json.loads((small / "manifest.json").read_text())
    assert manifest["model"]["capacities"]["final_s16"] > 10  # the manifest still records the real bound
