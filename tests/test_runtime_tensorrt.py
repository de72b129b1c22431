"""TensorRT runtime: needs the tensorrt package, a CUDA device and libtsp3d_trt.so; skips cleanly otherwise.

Builds a strongly typed engine from the exported single graph and compares it with ONNX Runtime. (Not run on the
project's CPU machines; written against the TensorRT Python API >= 10.3.)
"""
from __future__ import annotations

import numpy as np
import pytest

from test_export_shared import needs_ort, room_points, scratch, shared_bundle
from tsp3d.utils.libraries import find_library

trt = pytest.importorskip("tensorrt", reason="TensorRT Python package not installed")
torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.tensorrt, pytest.mark.gpu, pytest.mark.slow, needs_ort,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
              pytest.mark.skipif(find_library("trt") is None, reason="libtsp3d_trt.so not built")]


def _build_engine(onnx_path, engine_path, max_points: int):
    logger = trt.Logger(trt.Logger.WARNING)
    trt.get_plugin_registry().load_library(str(find_library("trt")))
    builder = trt.Builder(logger)
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    assert parser.parse_from_file(str(onnx_path)), [parser.get_error(i) for i in range(parser.num_errors)]
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    profile.set_shape("points", (1, 6), (8000, 6), (max_points, 6))
    profile.set_shape("text_feats", (1, 1, 32), (1, 8, 32), (1, 64, 32))
    profile.set_shape("text_mask", (1, 1), (1, 8), (1, 64))
    config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    assert plan is not None
    engine_path.write_bytes(bytes(plan))


def test_tensorrt_matches_onnxruntime():
    from tsp3d.runtime.onnx_runtime import OnnxRuntime
    from tsp3d.runtime.tensorrt_runtime import TensorRTRuntime

    bundle = shared_bundle()
    ort = OnnxRuntime(bundle, "fp32", "single")
    engine = scratch("trt") / "model.engine"
    _build_engine(bundle / "model.onnx", engine, ort.max_points)
    rt = TensorRTRuntime([engine], bundle=bundle)
    for seed in range(2):
        points = room_points(6000, seed=seed)
        feats = np.random.default_rng(seed).normal(size=(1, 6, 32)).astype(np.float32)
        mask = np.zeros((1, 6), bool)
        a, b = ort.predict(points, feats, mask), rt.predict(points, feats, mask)
        assert a.counts == b.counts
        np.testing.assert_allclose(b.box, a.box, atol=1e-3)
