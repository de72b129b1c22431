"""Every bad model and output the CLI can meet: checkpoints (missing, cut, junk, not ours, not fitting the model, a
pickle that would run code), ONNX bundles (hand-made: no export needed), engines without TensorRT, and outputs that
exist without ``--force``. Each is refused with exit code != 0, ONE line ``error: ...`` (+ an optional ``hint: ...``),
no traceback and nothing written (cli_refusal.py). Bad point clouds and sentences: test_reliability_cli.py.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from cli_refusal import ROOM, assert_nothing_written, assert_refused, bytes_file, ground, npy_file, run
from cli_refusal import out  # noqa: F401 (a fixture)
from test_export_shared import needs_ort, tiny_checkpoint

# A numpy RuntimeWarning would print a second line under the CLI's error (pytest would otherwise swallow it).
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


@pytest.fixture(scope="module")
def ckpt() -> Path:
    return tiny_checkpoint()


# ---------------------------------------------------------------- checkpoints


class Hostile:
    def __reduce__(self):
        return (os.system, (f"touch {os.environ['TSP3D_TEST_MARKER']}",))


def _hostile(path: Path) -> Path:
    torch.save({"format": "tsp3d-checkpoint", "format_version": 1, "state": {}, "config": Hostile()}, path)
    return path


def _without_a_head_weight(path: Path, ckpt: Path) -> Path:
    from tsp3d.checkpoint import state_hash

    obj = torch.load(ckpt, weights_only=True)
    obj["state"] = {k: v for k, v in obj["state"].items() if not k.startswith("head.cls_conv")}
    obj["hash"] = state_hash(obj["state"])
    torch.save(obj, path)
    return path


def _other_encoder(path: Path, ckpt: Path) -> Path:
    obj = torch.load(ckpt, weights_only=True)
    obj["config"]["text_dim"] = 384  # a config that no longer describes its weights
    torch.save(obj, path)
    return path


@pytest.mark.parametrize("make, match", [
    (lambda t, c: t / "none.pt", "does not exist"),
    (lambda t, c: bytes_file(t / "cut.pt", c.read_bytes()[: c.stat().st_size // 2]), "corrupt or truncated"),
    (lambda t, c: bytes_file(t / "junk.pt", bytes(range(256)) * 40), "corrupt or truncated"),
    (lambda t, c: bytes_file(t / "empty.pt", b""), "corrupt or truncated"),
    (lambda t, c: (torch.save({"a": torch.zeros(2)}, t / "plain.pt"), t / "plain.pt")[1], "not a tsp3d checkpoint"),
    (lambda t, c: _without_a_head_weight(t / "other.pt", c), "does not fit the model"),
    (lambda t, c: _other_encoder(t / "enc.pt", c), "does not fit the model"),
])
def test_bad_checkpoints(capfd, tmp_path, out, ckpt, make, match):
    bad = make(tmp_path, ckpt)
    code, _, err = ground(capfd, out, npy_file(tmp_path / "room.npy", ROOM), source=["--checkpoint", bad])
    assert_refused(code, err, match)
    assert_nothing_written(out)


@pytest.mark.parametrize("command", ["ground", "export"])
def test_a_hostile_pickle_runs_nothing(capfd, tmp_path, out, monkeypatch, command):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("TSP3D_TEST_MARKER", str(marker))
    bad = _hostile(tmp_path / "bad.pt")
    if command == "ground":
        code, _, err = ground(capfd, out, npy_file(tmp_path / "room.npy", ROOM), source=["--checkpoint", bad])
    else:
        code, _, err = run(capfd, "export", "--checkpoint", bad, "--out", out / "bundle")
    assert_refused(code, err, "unsafe")
    assert not marker.exists(), "the pickle's code ran"
    assert_nothing_written(out)
    assert not (out / "bundle").exists() and [p.name for p in out.iterdir()] == []


# ---------------------------------------------------------------- ONNX bundles (hand-made: no export needed)


def _graph(path: Path, opsets: dict[str, int], op: str = "Identity") -> Path:
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node(op, ["points"], ["v1_coords"])
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("points", TensorProto.FLOAT, ["N", 6])],
                          [helper.make_tensor_value_info("v1_coords", TensorProto.FLOAT, ["N", 6])])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    model.ir_version = 10
    onnx.save(model, str(path))
    return path


def _bundle(root: Path, change=None, opsets=None, graph_bytes: bytes | None = None, op: str = "Identity") -> Path:
    root.mkdir()
    manifest = {"format": "tsp3d-onnx-bundle", "format_version": 1, "opset": {"domain": "tsp3d", "version": 1},
                "model": {"text_dim": 32, "voxel_size": 0.01, "capacities": {"max_points": 20000},
                          "count_names": [],
                          "config": {"voxel_size": 0.01, "capacities": {"up_s32": 8192},
                                     "head": {"attn_heads": 4, "channels": 32, "cba_samples": 512}}},
                "graphs": {"fp32": {k: {"file": f"{k}.onnx"} for k in ("single", "backbone", "head")}},
                "files": {}, "text_encoder": {"name": "tiny", "dim": 32, "features": {"file": "text.npz"}}}
    np.savez(root / "text.npz", texts=np.array(["the lamp"]), feats=np.ones((1, 3, 32), np.float32),
             mask=np.zeros((1, 3), bool), encoder=np.array("tiny"))  # the sentence resolves without an encoder
    if change:
        change(manifest)
    (root / "manifest.json").write_text(json.dumps(manifest))
    for kind in ("single", "backbone", "head"):
        path = _graph(root / f"{kind}.onnx", opsets or {"": 20, "tsp3d": 1}, op)
        if graph_bytes is not None:
            path.write_bytes(graph_bytes)
    return root


@pytest.mark.parametrize("make, match", [
    (lambda t: t / "nope", "not a directory"),
    (lambda t: _graph(t / "model.onnx", {"": 20}), "not a directory"),
    (lambda t: (t / "empty").mkdir() or t / "empty", "no manifest.json"),
    (lambda t: _bundle(t / "b", lambda m: m.update(format_version=2)), "bundle format version 2"),
    (lambda t: _bundle(t / "b", lambda m: m.update(opset={"domain": "tsp3d", "version": 2})), "opset tsp3d:2"),
    (lambda t: _bundle(t / "b", lambda m: m.pop("graphs")), "lacks 'graphs'"),
    (lambda t: _bundle(t / "b", lambda m: m["model"].pop("capacities")), "capacities.max_points is missing"),
    (lambda t: _bundle(t / "b", lambda m: m["model"].pop("text_dim")), "text_dim is missing"),
    (lambda t: _bundle(t / "b", lambda m: m["model"].update(voxel_size=-1)), "voxel_size -1"),
    (lambda t: _bundle(t / "b", lambda m: m["model"].pop("config")), "model.config is missing"),
    (lambda t: _bundle(t / "b", lambda m: m["model"]["config"].pop("head")), "model.config lacks"),
    (lambda t: _bundle(t / "b", opsets={"": 20, "tsp3d": 2}), "imports the 'tsp3d' opset version 2"),
    (lambda t: _bundle(t / "b", opsets={"": 99, "tsp3d": 1}), "standard ONNX opset 99"),
    (lambda t: _bundle(t / "b", graph_bytes=b"\x08\x07garbage" * 10), "not a readable ONNX model"),
])
def test_bad_bundles(capfd, tmp_path, out, make, match):
    code, _, err = ground(capfd, out, npy_file(tmp_path / "room.npy", ROOM), source=["--onnx", make(tmp_path)])
    assert_refused(code, err, match)
    assert_nothing_written(out)


@needs_ort
def test_a_graph_onnx_runtime_cannot_load(capfd, tmp_path, out):
    """ONNX Runtime's own refusal (here an op it does not know) is one line, without its log lines."""
    root = _bundle(tmp_path / "b", op="NoSuchOp")
    code, _, err = ground(capfd, out, npy_file(tmp_path / "room.npy", ROOM), source=["--onnx", root])
    assert_refused(code, err, r"ONNX Runtime .* cannot load .*(backbone|head).onnx.*NoSuchOp")


def test_bad_manifest_json(capfd, tmp_path, out):
    root = _bundle(tmp_path / "b")
    (root / "manifest.json").write_text("{")
    code, _, err = ground(capfd, out, npy_file(tmp_path / "room.npy", ROOM), source=["--onnx", root])
    assert_refused(code, err, "not readable JSON")


def test_engines_without_tensorrt_are_a_dependency_error(capfd, tmp_path, out):
    try:
        import tensorrt  # noqa: F401
        pytest.skip("tensorrt is installed here")
    except ImportError:
        pass
    engine = bytes_file(tmp_path / "model.engine", b"not an engine")
    code, _, err = ground(capfd, out, npy_file(tmp_path / "room.npy", ROOM), source=["--engine", engine])
    assert_refused(code, err, "needs the tensorrt Python package", exit_code=3)


# ---------------------------------------------------------------- outputs: never overwritten without --force


@pytest.mark.parametrize("args, existing", [
    (["ground", "--scene", "x.npy", "--text", "a", "--onnx", "b", "--json", "{o}/r.json"], "r.json"),
    (["ground", "--scene", "x.npy", "--text", "a", "--onnx", "b", "--render", "{o}/r.png"], "r.png"),
    (["eval", "--checkpoint", "c.pt", "--data", "d", "--json", "{o}/r.json"], "r.json"),
    (["validate", "--checkpoint", "c.pt", "--onnx", "b", "--data", "d", "--json", "{o}/r.json"], "r.json"),
    (["validate", "--checkpoint", "c.pt", "--onnx", "b", "--data", "d", "--json", "{o}/r.json"], "r.md"),  # 2nd
    (["export", "--checkpoint", "c.pt", "--out", "{o}/bundle"], "bundle/manifest.json"),
    (["convert-official", "official.pth", "--out", "{o}/m.pt"], "m.pt"),
    (["data", "synth", "--out", "{o}/data"], "data/meta.json"),
    (["train", "--data", "d", "--out", "{o}/run"], "run/last.pt"),
])
def test_existing_outputs_are_refused_without_force(capfd, out, args, existing):
    """Refused before any work (the inputs above do not even exist), and the existing file is untouched."""
    target = out / existing
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"precious")
    code, _, err = run(capfd, *[a.format(o=out) for a in args])
    assert_refused(code, err, "already exists|is not empty")
    assert "--force" in err
    assert target.read_bytes() == b"precious"
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
