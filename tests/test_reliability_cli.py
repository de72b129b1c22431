"""Every bad input the CLI can meet: exit code != 0, ONE line ``error: ...`` (+ an optional ``hint: ...`` line), no
traceback (unless ``--debug``), and no output or temporary file left behind.

Commands run in-process through ``tsp3d.cli.main`` (the console script's body) with ``capfd``, which also catches
what native libraries (ONNX Runtime) write to the stderr file descriptor; two tests run the real console script.
The model is the tiny checkpoint of test_export_shared (no export needed); bundle cases use hand-made bundles.
"""
from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from plyfile import PlyData, PlyElement

from test_export_shared import needs_ort, room_points, tiny_checkpoint

ROOT = Path(__file__).resolve().parents[1]
TSP3D = ROOT / ".venv" / "bin" / "tsp3d"
# A numpy RuntimeWarning would print a second line under the CLI's error (pytest would otherwise swallow it).
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def run(capfd, *args):
    from tsp3d.cli import main

    code = main([str(a) for a in args])
    out, err = capfd.readouterr()
    return code, out, err


def assert_refused(code: int, err: str, match: str, exit_code: int = 2) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == exit_code, err
    assert "Traceback" not in err, err
    assert lines and lines[0].startswith("error: "), err
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: ")), err
    assert re.search(match, lines[0]), lines[0]


def assert_nothing_written(folder: Path) -> None:
    """No output and no temporary sibling (``.name.XXXX.tmp``) anywhere under ``folder``."""
    left = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert left == [], left


@pytest.fixture(scope="module")
def ckpt() -> Path:
    return tiny_checkpoint()


@pytest.fixture
def out(tmp_path) -> Path:
    d = tmp_path / "out"
    d.mkdir()
    return d


def ground(capfd, out: Path, scene, *extra, text="the lamp", source=None):
    source = source or ["--checkpoint", tiny_checkpoint()]
    texts = ["--text", text] if text is not None else []
    return run(capfd, "ground", "--scene", scene, *texts, *source, "--json", out / "g.json", *extra)


# ---------------------------------------------------------------- point clouds


def _ply(path: Path, xyz: np.ndarray, names: str = "xyz") -> Path:
    v = np.empty(len(xyz), dtype=[(n, "f4") for n in names])
    for i, n in enumerate(names):
        v[n] = xyz[:, i]
    PlyData([PlyElement.describe(v, "vertex")]).write(str(path))
    return path


def _npy(path: Path, arr) -> Path:
    np.save(path, np.asarray(arr))
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


ROOM = room_points(3000, seed=7)
NAN_ROOM = ROOM.copy()
NAN_ROOM[11, 2] = np.nan
INF_ROOM = ROOM.copy()
INF_ROOM[5, 0] = np.inf
FAR_ROOM = ROOM.copy()
FAR_ROOM[:, 0] += 400.0  # hundreds of metres: beyond +-327 m at 1 cm voxels
UTM_ROOM = ROOM.copy()
UTM_ROOM[:, :2] += [500_000.0, 5_400_000.0]  # a geo-referenced scan, never re-centred


BAD_HEADER = b"\x93NUMPY\x01\x00\x20\x00{'descr': '<f4', 'shape': (3," + b" " * 10 + b"\n"  # a cut-off header
BAD_FILES = [  # (id, make the file in tmp_path, what the error line says)
    ("missing.ply", lambda t: t / "missing.ply", "does not exist"),
    ("missing_scene_id", lambda t: t / "missing_scene_id", "neither a file"),
    ("empty.ply", lambda t: _bytes(t / "empty.ply", b""), r"empty \(0 bytes\)"),
    ("empty.npy", lambda t: _bytes(t / "empty.npy", b""), r"empty \(0 bytes\)"),
    ("cut.ply", lambda t: _bytes(t / "cut.ply", _ply(t / "full.ply", ROOM[:, :3]).read_bytes()[:-333]),
     "not a readable PLY"),
    ("cut.npy", lambda t: _bytes(t / "cut.npy", _npy(t / "full.npy", ROOM).read_bytes()[:-100]),
     "not a readable .npy"),
    ("header.npy", lambda t: _bytes(t / "header.npy", BAD_HEADER), "not a readable .npy"),
    ("xy.ply", lambda t: _ply(t / "xy.ply", ROOM[:, :2], names="xy"), "no z property"),
    ("faces.ply", lambda t: _bytes(t / "faces.ply", b"ply\nformat ascii 1.0\nelement face 0\nend_header\n"),
     "no 'vertex' element"),
    ("five.npy", lambda t: _npy(t / "five.npy", np.zeros((10, 5), np.float32)), r"\[N, 3\|4\|6\]"),
    ("strings.npy", lambda t: _npy(t / "strings.npy", np.array([["a", "b", "c"]])), r"\[N, 3\|4\|6\]"),
    ("none.npy", lambda t: _npy(t / "none.npy", np.zeros((0, 3), np.float32)), "has no points"),
    ("scan.xyz", lambda t: _bytes(t / "scan.xyz", b"0 0 0\n"), "unknown point cloud format"),
    ("nan.npy", lambda t: _npy(t / "nan.npy", NAN_ROOM), "NaN/Inf coordinates .*row 11"),
    ("inf.ply", lambda t: _ply(t / "inf.ply", INF_ROOM[:, :3]), "NaN/Inf coordinates .*row 5"),
    ("f64.npy", lambda t: _npy(t / "f64.npy", np.c_[ROOM[:, :3].astype(np.float64) * [1, 1, 1e40], ROOM[:, 3:]]),
     "beyond float32's range"),
    ("far.npy", lambda t: _npy(t / "far.npy", FAR_ROOM), r"x = 40\d\.?\d* m.*within \[-327.04, 327.67\] m"),
    ("utm.npy", lambda t: _npy(t / "utm.npy", UTM_ROOM), r"within \[-327.04, 327.67\] m"),
    ("neg.npy", lambda t: _npy(t / "neg.npy", np.c_[ROOM[:, :3], -ROOM[:, 3:]]), "bad colours.*>= 0"),
    ("over.npy", lambda t: _npy(t / "over.npy", np.c_[ROOM[:, :3], ROOM[:, 3:] * 400]), "bad colours.*up to"),
    ("nancol.npy", lambda t: _npy(t / "nancol.npy", np.c_[ROOM[:, :3], np.full((len(ROOM), 3), np.nan)]),
     "bad colours.*NaN"),
]


@pytest.mark.parametrize("make, match", [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_bad_point_cloud_files(capfd, tmp_path, out, make, match):
    code, _, err = ground(capfd, out, make(tmp_path))
    assert_refused(code, err, match)
    assert_nothing_written(out)


def test_bin_needs_its_column_count_and_the_option_exists(capfd, tmp_path, out):
    path = _bytes(tmp_path / "scan.bin", ROOM.astype("<f4").tobytes())
    code, _, err = ground(capfd, out, path)
    assert_refused(code, err, "needs its column count")
    assert "--bin-columns" in err
    code, printed, err = ground(capfd, out, path, "--bin-columns", 6)
    assert code == 0, err
    assert json.loads(printed)["points"] == len(ROOM)
    cut = _bytes(tmp_path / "cut.bin", ROOM.astype("<f4").tobytes()[:-4])
    code, _, err = ground(capfd, out, cut, "--bin-columns", 6, "--force")
    assert_refused(code, err, "not a whole number of 6-float32 rows")
    snan = _bytes(tmp_path / "snan.bin", struct.pack("<I", 0x7F800001) * 6)  # a signalling NaN: no numpy warning
    code, _, err = ground(capfd, out, snan, "--bin-columns", 3, "--force")
    assert_refused(code, err, "2 points have NaN/Inf coordinates")


def test_five_million_points_are_refused_before_reading(capfd, tmp_path, out):
    """5M x 3 float32 (60 MB) against the tiny model's max_points=20000: refused from the header, naming both
    fixes (test_reliability_inputs checks the subsample path)."""
    path = tmp_path / "huge.npy"
    arr = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(5_000_000, 3))
    arr[:] = np.random.default_rng(0).uniform(-1, 1, (5_000_000, 3)).astype(np.float32)  # a 2 m cube
    del arr
    code, _, err = ground(capfd, out, path)
    assert_refused(code, err, "5000000 points, more than max_points=20000")
    assert "--subsample" in err and "--capacity max_points" in err
    assert_nothing_written(out)


def test_a_ply_declaring_more_points_than_the_bound_is_refused_from_its_header(capfd, tmp_path, out):
    header = b"ply\nformat binary_little_endian 1.0\nelement vertex 5000000\nproperty float x\nproperty float y\n" \
             b"property float z\nend_header\n"
    code, _, err = ground(capfd, out, _bytes(tmp_path / "big.ply", header + b"\0" * 120))
    assert_refused(code, err, "5000000 points, more than max_points")


def test_a_single_point_is_grounded(capfd, tmp_path, out):
    code, printed, err = ground(capfd, out, _npy(tmp_path / "one.npy", ROOM[:1]))
    assert code == 0, err
    result = json.loads(printed)["results"][0]
    assert np.isfinite(result["center"] + result["size"] + [result["score"]]).all()
    assert result["counts"]["v3"] == 1


# ---------------------------------------------------------------- text


@pytest.mark.parametrize("text, match", [
    ("", "empty"),
    ("   \t ", "empty"),
    ("chair " * 600, "3002 tokens, more than the 512"),
    ("\U0001FA91\U0001FA91", "no word or character"),
    ("\x00\x01\u200b", "no word or character"),
])
def test_bad_text(capfd, tmp_path, out, text, match):
    code, _, err = ground(capfd, out, _npy(tmp_path / "room.npy", ROOM), text=text)
    assert_refused(code, err, match)
    assert_nothing_written(out)


def test_non_ascii_text_is_accepted(capfd, tmp_path):
    code, printed, err = run(capfd, "ground", "--scene", _npy(tmp_path / "room.npy", ROOM), "--text",
                             "la chaise noire près de la fenêtre", "--checkpoint", tiny_checkpoint())
    assert code == 0, err
    assert json.loads(printed)["results"][0]["text"] == "la chaise noire près de la fenêtre"


@pytest.mark.parametrize("content, match", [
    (b"", "holds no sentences"),
    (b"# only a comment\n\n", "holds no sentences"),
    (b"the chair \xff\xfe\n", "not UTF-8"),
])
def test_bad_texts_file(capfd, tmp_path, out, content, match):
    path = _bytes(tmp_path / "texts.txt", content)
    code, _, err = ground(capfd, out, _npy(tmp_path / "room.npy", ROOM), "--texts", path, text=None)
    assert_refused(code, err, match)


def test_no_sentence_at_all(capfd, tmp_path, out):
    code, _, err = ground(capfd, out, _npy(tmp_path / "room.npy", ROOM), text=None)
    assert_refused(code, err, "no sentence given")


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
    (lambda t, c: _bytes(t / "cut.pt", c.read_bytes()[: c.stat().st_size // 2]), "corrupt or truncated"),
    (lambda t, c: _bytes(t / "junk.pt", bytes(range(256)) * 40), "corrupt or truncated"),
    (lambda t, c: _bytes(t / "empty.pt", b""), "corrupt or truncated"),
    (lambda t, c: (torch.save({"a": torch.zeros(2)}, t / "plain.pt"), t / "plain.pt")[1], "not a tsp3d checkpoint"),
    (lambda t, c: _without_a_head_weight(t / "other.pt", c), "does not fit the model"),
    (lambda t, c: _other_encoder(t / "enc.pt", c), "does not fit the model"),
])
def test_bad_checkpoints(capfd, tmp_path, out, ckpt, make, match):
    bad = make(tmp_path, ckpt)
    code, _, err = ground(capfd, out, _npy(tmp_path / "room.npy", ROOM), source=["--checkpoint", bad])
    assert_refused(code, err, match)
    assert_nothing_written(out)


@pytest.mark.parametrize("command", ["ground", "export"])
def test_a_hostile_pickle_runs_nothing(capfd, tmp_path, out, monkeypatch, command):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("TSP3D_TEST_MARKER", str(marker))
    bad = _hostile(tmp_path / "bad.pt")
    if command == "ground":
        code, _, err = ground(capfd, out, _npy(tmp_path / "room.npy", ROOM), source=["--checkpoint", bad])
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
    code, _, err = ground(capfd, out, _npy(tmp_path / "room.npy", ROOM), source=["--onnx", make(tmp_path)])
    assert_refused(code, err, match)
    assert_nothing_written(out)


@needs_ort
def test_a_graph_onnx_runtime_cannot_load(capfd, tmp_path, out):
    """ONNX Runtime's own refusal (here an op it does not know) is one line, without its log lines."""
    root = _bundle(tmp_path / "b", op="NoSuchOp")
    code, _, err = ground(capfd, out, _npy(tmp_path / "room.npy", ROOM), source=["--onnx", root])
    assert_refused(code, err, r"ONNX Runtime .* cannot load .*(backbone|head).onnx.*NoSuchOp")


def test_bad_manifest_json(capfd, tmp_path, out):
    root = _bundle(tmp_path / "b")
    (root / "manifest.json").write_text("{")
    code, _, err = ground(capfd, out, _npy(tmp_path / "room.npy", ROOM), source=["--onnx", root])
    assert_refused(code, err, "not readable JSON")


def test_engines_without_tensorrt_are_a_dependency_error(capfd, tmp_path, out):
    try:
        import tensorrt  # noqa: F401
        pytest.skip("tensorrt is installed here")
    except ImportError:
        pass
    engine = _bytes(tmp_path / "model.engine", b"not an engine")
    code, _, err = ground(capfd, out, _npy(tmp_path / "room.npy", ROOM), source=["--engine", engine])
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


# ---------------------------------------------------------------- the real console script


def test_console_script_prints_one_line_and_exits_nonzero(tmp_path):
    if not TSP3D.exists():
        pytest.skip(f"{TSP3D} not installed (pip install -e .)")
    done = subprocess.run([str(TSP3D), "ground", "--scene", str(_npy(tmp_path / "nan.npy", NAN_ROOM)), "--text",
                           "the lamp", "--checkpoint", str(tiny_checkpoint())], capture_output=True, text=True,
                          timeout=300)
    assert_refused(done.returncode, done.stderr, "NaN/Inf coordinates")
    assert done.stdout == ""


def test_debug_shows_the_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tsp3d.cli", "--debug", "ground", "--scene",
                           str(tmp_path / "missing.ply"), "--text", "a", "--checkpoint", "c.pt"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode != 0
    assert "Traceback" in done.stderr and "InputFileError" in done.stderr and "does not exist" in done.stderr
