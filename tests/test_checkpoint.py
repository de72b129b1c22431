"""Checkpoints: round trip, atomic no-overwrite, and refusal of corrupt, foreign or hostile files."""
from __future__ import annotations

import os

import pytest
import torch

from test_model_forward import text, tiny_model, toy_room
from tsp3d.checkpoint import load_checkpoint, load_model, save_checkpoint
from tsp3d.errors import CheckpointError, InputFileError, OutputExistsError


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = tiny_model(seed=3)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    path = tmp_path_factory.mktemp("ckpt") / "m.pt"
    save_checkpoint(path, model.eval(), optimizer=opt, epoch=4, step=120, meta={"note": "test"})
    return path, model


def test_round_trip_restores_model_config_and_training_state(saved):
    path, model = saved
    loaded, ckpt = load_model(path)
    assert ckpt.config == model.cfg and ckpt.text_encoder == "tiny"
    assert (ckpt.epoch, ckpt.step, ckpt.meta) == (4, 120, {"note": "test"})
    assert ckpt.optimizer is not None and "param_groups" in ckpt.optimizer and ckpt.scheduler is None
    points, _ = toy_room(3000, seed=1)
    a, b = model.predict(points, *text()), loaded.predict(points, *text())
    assert torch.equal(a.center, b.center) and a.counts == b.counts
    torch.optim.AdamW(loaded.parameters()).load_state_dict(ckpt.optimizer)


def test_no_overwrite_without_force(saved, tmp_path):
    path, model = saved
    target = tmp_path / "x.pt"
    save_checkpoint(target, model)
    before = target.read_bytes()
    with pytest.raises(OutputExistsError):
        save_checkpoint(target, model, epoch=9)
    assert target.read_bytes() == before
    save_checkpoint(target, model, epoch=9, force=True)
    assert load_checkpoint(target).epoch == 9
    assert [p.name for p in tmp_path.iterdir()] == ["x.pt"]  # no temporary left behind


def test_corrupt_truncated_and_missing(saved, tmp_path):
    path, _ = saved
    data = path.read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(cut)
    junk = tmp_path / "junk.pt"
    for seed in range(30):  # random bytes break torch.load in many different ways: all are one error
        junk.write_bytes(torch.randint(0, 256, (2000,), generator=torch.Generator().manual_seed(seed),
                                       dtype=torch.uint8).numpy().tobytes())
        with pytest.raises(CheckpointError):
            load_checkpoint(junk)
    for prefix in (b"\x80\x02", b"PK\x03\x04"):  # a pickle header, a zip header, then garbage
        junk.write_bytes(prefix + bytes(range(256)) * 4)
        with pytest.raises(CheckpointError):
            load_checkpoint(junk)
    with pytest.raises(InputFileError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")


def test_edited_state_fails_its_hash(saved, tmp_path):
    path, _ = saved
    obj = torch.load(path, weights_only=True)
    name = next(iter(obj["state"]))
    obj["state"][name] = obj["state"][name] + 1
    edited = tmp_path / "edited.pt"
    torch.save(obj, edited)
    with pytest.raises(CheckpointError, match="hash"):
        load_checkpoint(edited)


def test_other_files_are_not_tsp3d_checkpoints(saved, tmp_path):
    path, model = saved
    plain = tmp_path / "plain.pt"
    torch.save(model.state_dict(), plain)
    with pytest.raises(CheckpointError, match="not a tsp3d checkpoint") as err:
        load_checkpoint(plain)
    assert "convert-official" in err.value.hint
    obj = torch.load(path, weights_only=True)
    obj["state"] = {k: v for k, v in obj["state"].items() if not k.startswith("head.cls_conv")}
    from tsp3d.checkpoint import state_hash

    obj["hash"] = state_hash(obj["state"])
    other = tmp_path / "other.pt"
    torch.save(obj, other)
    with pytest.raises(CheckpointError, match="missing"):
        load_model(other)


class Hostile:
    def __reduce__(self):
        return (os.system, (f"touch {os.environ['TSP3D_TEST_MARKER']}",))


def test_hostile_pickle_is_refused_and_runs_nothing(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("TSP3D_TEST_MARKER", str(marker))
    bad = tmp_path / "bad.pt"
    torch.save({"format": "tsp3d-checkpoint", "state": {}, "payload": Hostile()}, bad)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="unsafe"):
        load_checkpoint(bad)
    assert not marker.exists()


def test_weights_only_form_round_trips_and_is_checked(saved, tmp_path):
    from safetensors.torch import save_file

    from tsp3d.checkpoint import save_weights

    path, model = saved
    ckpt = load_checkpoint(path)
    weights = save_weights(tmp_path / "m.safetensors", ckpt, meta={"pretrained": "x"})
    again = load_checkpoint(weights)
    assert again.hash == ckpt.hash and again.config == ckpt.config and again.step == 120
    assert again.optimizer is None and again.meta == {"note": "test", "pretrained": "x"}
    loaded, _ = load_model(weights)
    points, _ = toy_room(3000, seed=1)
    assert torch.equal(model.predict(points, *text()).center, loaded.predict(points, *text()).center)
    with pytest.raises(OutputExistsError):
        save_weights(weights, ckpt)
    with pytest.raises(InputFileError, match="safetensors"):
        save_weights(tmp_path / "m.pt", ckpt)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="not a readable weights file"):
        load_checkpoint(broken)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="not tsp3d weights"):
        load_checkpoint(foreign)

