"""The runtime interface: input checks, the result type, the bundle reader (no export needed)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tsp3d.errors import CapacityError, InputFileError, ModelFormatError
from tsp3d.runtime.base import COUNT_NAMES, GroundingResult, check_points, check_text
from tsp3d.runtime.manifest import Bundle


def test_count_names_match_the_model():
    from tsp3d.model.head import COUNT_NAMES as MODEL_NAMES

    assert COUNT_NAMES == MODEL_NAMES


def test_result_from_outputs_and_json():
    r = GroundingResult.from_outputs(np.array([1, 2, 3], np.float32), np.array([0.5, 0.5, 1.0]), np.float32(0.7),
                                     np.arange(9, dtype=np.int64), text="the lamp")
    assert r.box.tolist() == [1, 2, 3, 0.5, 0.5, 1.0] and r.counts["final"] == 8 and r.counts["v3"] == 0
    d = r.to_dict()
    assert d["text"] == "the lamp" and d["score"] == pytest.approx(0.7) and json.dumps(d)
    with pytest.raises(InputFileError, match="counts"):
        GroundingResult.from_outputs(np.zeros(3), np.zeros(3), 0.0, np.zeros(4))


def test_points_are_checked():
    pts = np.random.default_rng(0).random((100, 6))
    out = check_points(pts, 1000)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    with pytest.raises(InputFileError, match=r"\[N, 6\]"):
        check_points(pts[:, :3], 1000)
    with pytest.raises(InputFileError, match="empty"):
        check_points(np.zeros((0, 6)), 1000)
    bad = pts.copy()
    bad[7, 1] = np.nan
    with pytest.raises(InputFileError, match="row 7"):
        check_points(bad, 1000)
    with pytest.raises(CapacityError, match="max_points=50"):
        check_points(pts, 50)
    with pytest.raises(InputFileError, match="floating"):
        check_points(pts.astype(np.int32), 1000)


def test_text_is_checked():
    f, m = np.zeros((1, 5, 8), np.float32), np.zeros((1, 5), bool)
    t = check_text(f, m, 8)
    assert t.feats.shape == (1, 5, 8)
    assert check_text(f[0], m[0], 8).feats.shape == (1, 5, 8)  # [L, D] / [L] are taken as one sentence
    with pytest.raises(InputFileError, match=r"\[1, L, 8\]"):
        check_text(np.zeros((1, 5, 7), np.float32), m, 8)
    with pytest.raises(InputFileError, match="bool"):
        check_text(f, m.astype(np.int64), 8)
    m2 = m.copy()
    m2[0, 0] = True
    with pytest.raises(InputFileError, match="first text token"):
        check_text(f, m2, 8)
    f2 = f.copy()
    f2[0, 2, 3] = np.inf
    with pytest.raises(InputFileError, match="NaN"):
        check_text(f2, m, 8)


def test_bundle_reader_refuses_what_it_cannot_run(tmp_path):
    with pytest.raises(InputFileError, match="not a directory"):
        Bundle(tmp_path / "nope")
    with pytest.raises(InputFileError, match="manifest.json"):
        Bundle(tmp_path)
    good = {"format": "tsp3d-onnx-bundle", "format_version": 1, "opset": {"domain": "tsp3d", "version": 1},
            "model": {"text_dim": 8, "capacities": {"max_points": 10}, "count_names": list(COUNT_NAMES),
                      "config": {"voxel_size": 0.01, "capacities": {"up_s32": 64},
                                 "head": {"attn_heads": 2, "channels": 8, "cba_samples": 16}}},
            "graphs": {"fp32": {"single": {"file": "model.onnx"}}}, "files": {}}
    for change, match in (({"format_version": 2}, "format version"), ({"opset": {"domain": "tsp3d", "version": 2}},
                                                                      "opset"), ({"format": "x"}, "format")):
        (tmp_path / "manifest.json").write_text(json.dumps({**good, **change}))
        with pytest.raises(ModelFormatError, match=match):
            Bundle(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps(good))
    b = Bundle(tmp_path)
    assert b.precisions == ["fp32"] and b.text_dim == 8 and b.max_points == 10
    with pytest.raises(InputFileError, match="missing"):
        b.graph("fp32", "single")
    with pytest.raises(InputFileError, match="no fp16"):
        b.graph("fp16")


def test_tensorrt_runtime_without_tensorrt_is_a_dependency_error():
    pytest.importorskip("torch")
    try:
        import tensorrt  # noqa: F401
        pytest.skip("tensorrt is installed: tests/test_runtime_tensorrt.py covers it")
    except ImportError:
        pass
    from tsp3d.errors import DependencyError
    from tsp3d.runtime.tensorrt_runtime import TensorRTRuntime

    with pytest.raises(DependencyError, match="tensorrt"):
        TensorRTRuntime(["model.engine"])
