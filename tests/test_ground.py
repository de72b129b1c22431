"""``tsp3d ground``: JSON boxes for several sentences, the rendered PNG, scene sources, refusals."""
from __future__ import annotations

import json

import numpy as np
import pytest

from test_export_shared import needs_ort, room_points, scratch, shared_bundle, tiny_checkpoint, tiny_dataset
from tsp3d.errors import InputFileError

pytestmark = [pytest.mark.slow, needs_ort]


def _cli(args, capsys):
    from tsp3d.cli import main

    code = main(args)
    return code, capsys.readouterr()


def test_ground_prints_json_writes_it_and_renders(capsys):
    out = scratch("ground")
    scene = out / "room.npy"
    np.save(scene, room_points(5000, seed=4))
    texts = out / "texts.txt"
    texts.write_text("# commands\nthe black chair next to the window\n\nthe lamp\n")
    args = ["ground", "--scene", str(scene), "--text", "the red box", "--texts", str(texts), "--onnx",
            str(shared_bundle()), "--render", str(out / "g.png"), "--json", str(out / "g.json")]
    code, cap = _cli(args, capsys)
    assert code == 0, cap.err
    printed = json.loads(cap.out)
    assert printed == json.loads((out / "g.json").read_text())
    assert [r["text"] for r in printed["results"]] == ["the red box", "the black chair next to the window",
                                                       "the lamp"]
    assert printed["runtime"] == "onnxruntime-fp32" and printed["points"] == 5000
    for r in printed["results"]:
        assert len(r["center"]) == 3 and all(s > 0 for s in r["size"]) and 0 < r["score"] < 1
        assert r["counts"]["final"] == r["counts"]["up16"] + r["counts"]["cba_added"]
    assert len(printed["latency_ms"]["per_sentence"]) == 3
    png = (out / "g.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    before = (out / "g.json").read_bytes()
    code, cap = _cli(args, capsys)  # outputs exist: refused before any work, files untouched
    assert code == 2 and "already exists" in cap.err
    assert (out / "g.json").read_bytes() == before


def test_checkpoint_and_bundle_give_the_same_boxes_on_a_dataset_scene(capsys):
    data = tiny_dataset()
    base = ["ground", "--scene", "synth_val_00001", "--data", str(data), "--text", "the chair"]
    code_a, a = _cli(base + ["--checkpoint", str(tiny_checkpoint())], capsys)
    code_b, b = _cli(base + ["--onnx", str(shared_bundle())], capsys)
    assert code_a == code_b == 0, (a.err, b.err)
    ra, rb = json.loads(a.out)["results"][0], json.loads(b.out)["results"][0]
    assert ra["counts"] == rb["counts"]
    np.testing.assert_allclose(ra["center"] + ra["size"], rb["center"] + rb["size"], atol=1e-4)


def test_scene_and_source_errors(tmp_path):
    from tsp3d.ground import collect_texts, load_scene, open_runtime

    with pytest.raises(InputFileError, match="neither a file"):
        load_scene("synth_val_00000", max_points=100)
    with pytest.raises(InputFileError, match="no scene"):
        load_scene("nope", data=tiny_dataset(), max_points=100)
    with pytest.raises(InputFileError, match="max_points"):
        load_scene("synth_val_00000", data=tiny_dataset(), max_points=100)
    points, name = load_scene("synth_val_00000", data=tiny_dataset(), max_points=100, subsample=True)
    assert points.shape == (100, 6) and name == "synth_val_00000"
    with pytest.raises(InputFileError, match="exactly one"):
        open_runtime(checkpoint=tiny_checkpoint(), onnx=shared_bundle())
    with pytest.raises(InputFileError, match="no sentence"):
        collect_texts([], None)
