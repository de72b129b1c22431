"""``tsp3d validate``: the parity report, tolerance checks and the CLI's nonzero exit."""
from __future__ import annotations

import json

import pytest

from test_export_shared import needs_ort, scratch, shared_bundle, tiny_checkpoint, tiny_dataset
from tsp3d.errors import InputFileError, ModelFormatError
from tsp3d.validate_report import check_tolerances, load_tolerances, to_markdown

pytestmark = [pytest.mark.slow, needs_ort]


@pytest.fixture(scope="module")
def report():
    from tsp3d.validate import validate

    return validate(tiny_checkpoint(), shared_bundle(), tiny_dataset(), scenes=1, all_sentences=True,
                    tolerances={"fp32": {"feature_scaled_rel_max": 0.0}}, threads=2)


def test_report_measures_every_runtime_of_the_bundle(report):
    assert set(report["runtimes"]) == {"onnxruntime-fp32", "onnxruntime-fp16"}
    assert report["scenes"] == 1 and report["samples"] >= 2  # one scan, several sentences
    fp32 = report["runtimes"]["onnxruntime-fp32"]
    assert fp32["samples"] == report["samples"] and fp32["precision"] == "fp32"
    # FP32 ONNX Runtime reproduces the PyTorch reference: same boxes, same voxel sets, same counts.
    assert fp32["top1_identical"] == 1.0 and fp32["top1_same_site"] == 1.0 and fp32["counts_identical"] == 1.0
    assert fp32["kept_sets_identical"] == 1.0 and set(fp32["head_sets_identical"]) == {
        "tgp64_kept", "up32", "tgp32_kept", "up16", "final"}
    assert fp32["backbone_sets_identical"] == {"v1": 1.0, "v2": 1.0, "v3": 1.0}
    outputs = fp32["outputs"]
    assert {"v1_feats", "v2_feats", "v3_feats", "center", "size", "score"} <= set(outputs)
    assert all(o["scaled_rel"] < 1e-4 and o["min_cosine"] > 0.9999 for o in outputs.values())
    assert fp32["accuracy_drop"]["acc@0.25"] == 0.0
    fp16 = report["runtimes"]["onnxruntime-fp16"]
    assert 0 < fp16["outputs"]["v1_feats"]["scaled_rel"] < 1e-2  # really FP16: not zero, not wild
    assert report["text_encoder_max_abs"] < 1e-4
    assert "| top-1 identical" in to_markdown(report)


def test_a_zero_tolerance_is_violated_and_a_loose_one_is_not(report):
    assert any("onnxruntime-fp32: feature_scaled_rel" in v for v in report["violations"])
    assert check_tolerances(report, load_tolerances({"fp32": {"top1_identical_min": 1.0,
                                                              "feature_scaled_rel_max": 1e-3}})) == []


def test_cli_exits_nonzero_on_a_violated_tolerance_and_writes_both_reports():
    from tsp3d.cli import main

    out = scratch("validate")
    tol = out / "zero.json"
    tol.write_text(json.dumps({"fp32": {"feature_scaled_rel_max": 0}}))
    args = ["validate", "--checkpoint", str(tiny_checkpoint()), "--onnx", str(shared_bundle()), "--data",
            str(tiny_dataset()), "--scenes", "1", "--json", str(out / "r.json"), "--tolerances", str(tol)]
    assert main(args) == 4  # ToleranceError
    saved = json.loads((out / "r.json").read_text())
    assert saved["violations"] and "FAIL" in (out / "r.md").read_text()
    assert main(args) == 2  # the report exists: refused without --force


def test_tolerance_files_are_checked(tmp_path):
    for bad, match in (({"fp64": {}}, "unknown section"), ({"fp32": {"top1": 1}}, "not a known tolerance"),
                       ({"fp32": {"top1_identical_min": "high"}}, "must be a number")):
        with pytest.raises(InputFileError, match=match):
            load_tolerances(bad)
    defaults = load_tolerances()
    assert defaults["fp32"]["top1_identical_min"] == 0.995 and defaults["fp16"]["top1_same_site_min"] == 0.99


def test_a_bundle_of_another_checkpoint_is_refused():
    import torch

    from tsp3d.checkpoint import load_model, save_checkpoint
    from tsp3d.validate import validate

    model, _ = load_model(tiny_checkpoint())
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    other = save_checkpoint(scratch("other") / "other.pt", model)
    with pytest.raises(ModelFormatError, match="another checkpoint"):
        validate(other, shared_bundle(), tiny_dataset(), scenes=1)
