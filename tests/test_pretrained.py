"""The packaged pretrained model ``tiny-synrefer``: it loads by name, reproduces the accuracy its model card records on
a fixed validation subset (regenerated from the benchmark's seed), and the CLI commands take its name."""
from __future__ import annotations

import json

import pytest

from tsp3d.checkpoint import load_checkpoint, load_model
from tsp3d.pretrained import PRETRAINED_DIR, pretrained_path
from tsp3d.pretrained.publish import SUBSET, subset_dataset, subset_hits

NAME = "tiny-synrefer"


@pytest.fixture(scope="module")
def record():
    return json.loads((PRETRAINED_DIR / f"{NAME}.json").read_text())


def test_loads_by_name_with_its_recorded_state(record):
    ckpt = load_checkpoint(NAME)
    assert ckpt.hash == record["state_hash"] and ckpt.step == record["step"]
    assert ckpt.config.name == record["config"] == "tiny" and ckpt.optimizer is None
    assert pretrained_path(NAME).stat().st_size < 8 << 20  # weights only: a few MB
    card = (PRETRAINED_DIR / f"{NAME}.md").read_text()
    assert record["benchmark"]["command"] in card and (record["code"] or {}).get("commit", "unknown") in card


def test_reproduces_the_recorded_accuracy_on_the_fixed_subset(record):
    """Deterministic inference: the recorded hits, up to the stated tolerance for another machine's rounding."""
    got, want = subset_hits(NAME), record["subset"]
    assert {k: got[k] for k in SUBSET} == {k: want[k] for k in SUBSET} and got["sentences"] == want["sentences"]
    for k in ("hits@0.25", "hits@0.5"):
        assert abs(got[k] - want[k]) <= want["tolerance_hits"], (k, got[k], want[k])


def test_cli_commands_take_the_name(tmp_path, capsys):
    from tsp3d.cli import main

    data = subset_dataset(tmp_path / "data")
    ann = data.annotations[0]
    assert main(["eval", "--checkpoint", NAME, "--data", str(data.root), "--limit", "2"]) == 0
    assert "Acc@0.25" in capsys.readouterr().out
    assert main(["ground", "--checkpoint", NAME, "--data", str(data.root), "--scene", ann.scene_id, "--subsample",
                 "--text", ann.text]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["results"]) == 1
    bundle = tmp_path / "bundle"
    assert main(["export", "--checkpoint", NAME, "--out", str(bundle)]) == 0
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["checkpoint"]["file"] == f"{NAME}.safetensors"
    assert main(["validate", "--checkpoint", NAME, "--onnx", str(bundle), "--data", str(data.root), "--scenes", "1",
                 "--json", str(tmp_path / "parity.json")]) == 0


def test_model_runs_like_the_checkpoint_it_came_from():
    model, ckpt = load_model(NAME)
    assert not model.training and ckpt.config.head.text_voxel_score  # the synthetic configs' bilinear term is on


def test_a_pretrained_name_resolves_and_an_unknown_one_does_not(tmp_path, monkeypatch):
    from tsp3d.errors import CheckpointError
    from tsp3d.pretrained import MODELS, resolve_checkpoint

    assert resolve_checkpoint("tiny-synrefer") == pretrained_path("tiny-synrefer")
    assert resolve_checkpoint(tmp_path / "x.pt") == tmp_path / "x.pt"  # paths stay paths
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny-synrefer").write_bytes(b"")  # an existing file of that name wins over the packaged model
    assert resolve_checkpoint("tiny-synrefer") == tmp_path.joinpath("tiny-synrefer").relative_to(tmp_path)
    with pytest.raises(CheckpointError, match="unknown pretrained model"):
        pretrained_path("huge-model")
    monkeypatch.setitem(MODELS, "gone", "gone.safetensors")
    with pytest.raises(CheckpointError, match="not installed"):
        load_checkpoint("gone")
