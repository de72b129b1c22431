"""INT8 end to end on the tiny exported bundle: calibrate, sensitivity sweep, Q/DQ graphs in ONNX Runtime, cache
reuse and refusal, too-small calibration sets, the CLI and ``tsp3d export --int8``."""
from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest

from test_export_shared import needs_ort, room_points, scratch, shared_bundle, tiny_checkpoint, tiny_dataset
from tsp3d.errors import InputFileError, ModelFormatError, OutputExistsError

pytestmark = [pytest.mark.slow, needs_ort]


@pytest.fixture(scope="module")
def data8():
    from tsp3d.data.synth import generate

    root = scratch("int8-data") / "synth"
    generate(root, train_scenes=8, val_scenes=2, points=3000, workers=1)
    return root


@pytest.fixture(scope="module")
def calibrated(data8):
    from tsp3d.calibration import calibrate_bundle

    root = scratch("int8-bundle") / "bundle"
    shutil.copytree(shared_bundle(), root)
    info = calibrate_bundle(root / "model.onnx", data8, scenes=8, sweep_samples=4, threads=2)
    return root, info


def test_files_graphs_and_manifest(calibrated):
    from tsp3d.runtime.manifest import Bundle

    root, info = calibrated
    for name in ("model.int8.onnx", "backbone.int8.onnx", "head.int8.onnx", "int8.json", "calibration_cache.json"):
        assert (root / name).is_file(), name
    bundle = Bundle(root)
    bundle.verify()  # the manifest lists the new files with their hashes
    assert set(bundle.manifest["graphs"]["int8"]) == {"single", "backbone", "head"}
    assert bundle.manifest["int8"]["method"] == "entropy" and bundle.manifest["int8"]["kept_float"]
    single = onnx.load(str(root / "model.int8.onnx"))
    onnx.checker.check_model(single, full_check=True)
    ops = [n.op_type for n in single.graph.node]
    assert ops.count("SparseConvInt8") == info["layers"]["sparse_convs_quantized"] > 5
    assert ops.count("SparseConv") >= 1  # the stem stays float (rule)
    props = {p.key: p.value for p in single.metadata_props}
    assert props["tsp3d.precision"] == "int8" and "kept_float" in json.loads(props["tsp3d.int8"])
    float_convs = [n.input[2][: -len(".kernel")] for n in single.graph.node if n.op_type == "SparseConv"]
    kept = info["kept_float"]
    assert float_convs[0] == "model.vision_backbone.conv1" and set(float_convs) <= set(kept)  # stem + the sweep's
    assert any(v.startswith("rule: stem") for v in kept.values())
    assert any("scores" in v for v in kept.values()) and any("box" in v for v in kept.values())


def test_scales_are_sane(calibrated):
    from onnx import numpy_helper

    root, _ = calibrated
    proto = onnx.load(str(root / "model.int8.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type != "SparseConvInt8":
            continue
        feats_scale, w, w_scale = inits[node.input[1]], inits[node.input[3]], inits[node.input[4]]
        assert feats_scale.shape == () and 1e-6 < float(feats_scale) < 10.0, node.name
        assert w.dtype == np.int8 and np.abs(w.astype(np.int32)).max() == 127  # each scale is set by its max
        assert w_scale.shape == (w.shape[2],) and (w_scale > 0).all() and np.isfinite(w_scale).all()


def test_int8_runs_in_onnx_runtime_split_equals_single(calibrated):
    from tsp3d.runtime.onnx_runtime import OnnxRuntime

    root, _ = calibrated
    split, single = OnnxRuntime(root, "int8", "split", threads=2), OnnxRuntime(root, "int8", "single", threads=2)
    fp32 = OnnxRuntime(root, "fp32", "split", threads=2)
    pts = room_points(4000, seed=5)
    feats = np.random.default_rng(0).normal(size=(1, 6, 32)).astype(np.float32)
    mask = np.zeros((1, 6), bool)
    a, b = split.predict(pts, feats, mask), single.predict(pts, feats, mask)
    assert np.array_equal(a.box, b.box) and a.counts == b.counts
    ref = fp32.encode_scene(pts)
    q = split.encode_scene(pts)
    for i in (0, 2, 4):  # the level coordinates do not depend on features: identical
        assert np.array_equal(ref.levels[list(ref.levels)[i]], q.levels[list(q.levels)[i]])
    f32, f8 = ref.levels["v1_feats"], q.levels["v1_feats"]
    # Quantized (not bit-equal) and close: the error relative to the signal's RMS, not a single worst element.
    # The model is random and v1 comes after every backbone conv, so errors compound (measured 0.23); a broken
    # scale or weight layout gives ~1 or more.
    rel = np.sqrt(np.mean((f8 - f32) ** 2)) / np.sqrt(np.mean(f32 ** 2))
    assert 0 < rel < 0.4, rel


def test_sensitivity_table(calibrated):
    from tsp3d.calibration.layers import find_layers, units

    root, info = calibrated
    rows = info["sensitivity"]["table"]
    names = list(units(find_layers(onnx.load(str(root / "model.onnx")))))
    assert [r["unit"] for r in rows] == names  # one row per unit, in graph order
    for r in rows:
        assert 0 <= r["acc25"] <= 1 and 0 <= r["same_object"] <= 1 and r["layers"] >= 1
        assert r["drop25"] == pytest.approx(100 * (info["evaluation"]["fp32"]["acc@0.25"] - r["acc25"]))
    assert "unit" in info["sensitivity"]["text"] and info["evaluation"]["samples"] == 4


def test_cache_is_reused_and_files_not_overwritten(calibrated, data8):
    from tsp3d.calibration import calibrate_bundle

    root, first = calibrated
    with pytest.raises(OutputExistsError):
        calibrate_bundle(root, data8, scenes=8, sweep_samples=0)
    again = calibrate_bundle(root, data8, scenes=8, sweep_samples=0, force=True, threads=2)
    assert again["calibration"]["cache_reused"] and not first["calibration"]["cache_reused"]
    assert again["calibration"]["data_fingerprint"] == first["calibration"]["data_fingerprint"]


def test_cache_of_another_model_is_refused(calibrated, data8):
    from tsp3d.calibration import calibrate_bundle

    root, _ = calibrated
    cache = json.loads((root / "calibration_cache.json").read_text())
    cache["key"]["model_sha256"] = "0" * 64
    other = scratch("int8-cache") / "c.json"
    other.write_text(json.dumps(cache))
    with pytest.raises(ModelFormatError, match="another model"):
        calibrate_bundle(root, data8, scenes=8, sweep_samples=0, cache=other, out=scratch("int8-out"))


def test_too_small_calibration_sets(data8):
    from tsp3d.calibration import calibrate_bundle

    with pytest.raises(InputFileError, match="too small"):
        calibrate_bundle(shared_bundle(), data8, scenes=4, out=scratch("int8-small"))
    with pytest.raises(InputFileError, match="only 2 scenes"):  # tiny_dataset: 2 train scenes
        calibrate_bundle(shared_bundle(), tiny_dataset(), scenes=8, out=scratch("int8-small2"))


def test_cli_calibrate_into_another_directory(data8, capsys):
    from tsp3d.cli import main

    out = scratch("int8-cli")
    code = main(["calibrate", str(shared_bundle() / "model.onnx"), "--data", str(data8), "--scenes", "8",
                 "--sweep-samples", "0", "--method", "minmax", "--out", str(out), "--threads", "2"])
    text = capsys.readouterr().out
    assert code == 0 and "minmax" in text and "float: " in text
    assert json.loads((out / "int8.json").read_text())["method"] == "minmax"
    assert not (shared_bundle() / "model.int8.onnx").exists()  # the bundle itself is untouched
    assert main(["calibrate", str(shared_bundle() / "model_fp16.onnx"), "--data", str(data8)]) == 2


def test_export_int8_one_step(data8):
    from tsp3d.bundle import export_bundle
    from tsp3d.runtime.manifest import Bundle

    out = scratch("int8-export") / "bundle"
    manifest = export_bundle(tiny_checkpoint(), out, text_encoder=False, self_check=False, int8_data=data8,
                             int8_options={"scenes": 8, "sweep_samples": 0, "method": "percentile"})
    assert manifest["graphs"]["int8"]["single"]["file"] == "model.int8.onnx"
    assert manifest["int8"]["method"] == "percentile" and "model.int8.onnx" in manifest["files"]
    Bundle(out).verify()
    with pytest.raises(InputFileError, match="not a dataset"):
        export_bundle(tiny_checkpoint(), scratch("int8-export2") / "b", int8_data=out / "nowhere")


def test_export_cli_needs_both_int8_options(tmp_path, capsys):
    from tsp3d.cli import main

    args = ["export", "--checkpoint", str(tiny_checkpoint()), "--out", str(tmp_path / "b")]
    assert main(args + ["--int8"]) == 2
    assert main(args + ["--calibration", str(tmp_path)]) == 2
    assert "go together" in capsys.readouterr().err and not (tmp_path / "b").exists()
