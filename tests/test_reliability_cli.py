"""Every bad point cloud and sentence the CLI can meet: exit code != 0, ONE line ``error: ...`` (+ an optional
``hint: ...`` line), no traceback (unless ``--debug``), and no output or temporary file left behind.

Commands run in-process through ``tsp3d.cli.main`` (the console script's body) with ``capfd``, which also catches
what native libraries (ONNX Runtime) write to the stderr file descriptor; two tests run the real console script.
The model is the tiny checkpoint of test_export_shared (no export needed). Bad checkpoints, bundles and existing
outputs: test_reliability_cli_models.py.
"""
from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from plyfile import PlyData, PlyElement

from cli_refusal import ROOM, assert_nothing_written, assert_refused, bytes_file, ground, npy_file, run
from cli_refusal import out  # noqa: F401 (a fixture)
from test_export_shared import tiny_checkpoint

ROOT = Path(__file__).resolve().parents[1]
TSP3D = ROOT / ".venv" / "bin" / "tsp3d"
# A numpy RuntimeWarning would print a second line under the CLI's error (pytest would otherwise swallow it).
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


# ---------------------------------------------------------------- point clouds


def _ply(path: Path, xyz: np.ndarray, names: str = "xyz") -> Path:
    v = np.empty(len(xyz), dtype=[(n, "f4") for n in names])
    for i, n in enumerate(names):
        v[n] = xyz[:, i]
    PlyData([PlyElement.describe(v, "vertex")]).write(str(path))
    return path


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
    ("empty.ply", lambda t: bytes_file(t / "empty.ply", b""), r"empty \(0 bytes\)"),
    ("empty.npy", lambda t: bytes_file(t / "empty.npy", b""), r"empty \(0 bytes\)"),
    ("cut.ply", lambda t: bytes_file(t / "cut.ply", _ply(t / "full.ply", ROOM[:, :3]).read_bytes()[:-333]),
     "not a readable PLY"),
    ("cut.npy", lambda t: bytes_file(t / "cut.npy", npy_file(t / "full.npy", ROOM).read_bytes()[:-100]),
     "not a readable .npy"),
    ("header.npy", lambda t: bytes_file(t / "header.npy", BAD_HEADER), "not a readable .npy"),
    ("xy.ply", lambda t: _ply(t / "xy.ply", ROOM[:, :2], names="xy"), "no z property"),
    ("faces.ply", lambda t: bytes_file(t / "faces.ply", b"ply\nformat ascii 1.0\nelement face 0\nend_header\n"),
     "no 'vertex' element"),
    ("five.npy", lambda t: npy_file(t / "five.npy", np.zeros((10, 5), np.float32)), r"\[N, 3\|4\|6\]"),
    ("strings.npy", lambda t: npy_file(t / "strings.npy", np.array([["a", "b", "c"]])), r"\[N, 3\|4\|6\]"),
    ("none.npy", lambda t: npy_file(t / "none.npy", np.zeros((0, 3), np.float32)), "has no points"),
    ("scan.xyz", lambda t: bytes_file(t / "scan.xyz", b"0 0 0\n"), "unknown point cloud format"),
    ("nan.npy", lambda t: npy_file(t / "nan.npy", NAN_ROOM), "NaN/Inf coordinates .*row 11"),
    ("inf.ply", lambda t: _ply(t / "inf.ply", INF_ROOM[:, :3]), "NaN/Inf coordinates .*row 5"),
    ("f64.npy", lambda t: npy_file(t / "f64.npy", np.c_[ROOM[:, :3].astype(np.float64) * [1, 1, 1e40], ROOM[:, 3:]]),
     "beyond float32's range"),
    ("far.npy", lambda t: npy_file(t / "far.npy", FAR_ROOM), r"x = 40\d\.?\d* m.*within \[-327.04, 327.67\] m"),
    ("utm.npy", lambda t: npy_file(t / "utm.npy", UTM_ROOM), r"within \[-327.04, 327.67\] m"),
    ("neg.npy", lambda t: npy_file(t / "neg.npy", np.c_[ROOM[:, :3], -ROOM[:, 3:]]), "bad colours.*>= 0"),
    ("over.npy", lambda t: npy_file(t / "over.npy", np.c_[ROOM[:, :3], ROOM[:, 3:] * 400]), "bad colours.*up to"),
    ("nancol.npy", lambda t: npy_file(t / "nancol.npy", np.c_[ROOM[:, :3], np.full((len(ROOM), 3), np.nan)]),
     "bad colours.*NaN"),
]


@pytest.mark.parametrize("make, match", [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_bad_point_cloud_files(capfd, tmp_path, out, make, match):
    code, _, err = ground(capfd, out, make(tmp_path))
    assert_refused(code, err, match)
    assert_nothing_written(out)


def test_bin_needs_its_column_count_and_the_option_exists(capfd, tmp_path, out):
    path = bytes_file(tmp_path / "scan.bin", ROOM.astype("<f4").tobytes())
    code, _, err = ground(capfd, out, path)
    assert_refused(code, err, "needs its column count")
    assert "--bin-columns" in err
    code, printed, err = ground(capfd, out, path, "--bin-columns", 6)
    assert code == 0, err
    assert json.loads(printed)["points"] == len(ROOM)
    cut = bytes_file(tmp_path / "cut.bin", ROOM.astype("<f4").tobytes()[:-4])
    code, _, err = ground(capfd, out, cut, "--bin-columns", 6, "--force")
    assert_refused(code, err, "not a whole number of 6-float32 rows")
    snan = bytes_file(tmp_path / "snan.bin", struct.pack("<I", 0x7F800001) * 6)  # a signalling NaN: no numpy warning
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
    code, _, err = ground(capfd, out, bytes_file(tmp_path / "big.ply", header + b"\0" * 120))
    assert_refused(code, err, "5000000 points, more than max_points")


def test_a_single_point_is_grounded(capfd, tmp_path, out):
    code, printed, err = ground(capfd, out, npy_file(tmp_path / "one.npy", ROOM[:1]))
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
    code, _, err = ground(capfd, out, npy_file(tmp_path / "room.npy", ROOM), text=text)
    assert_refused(code, err, match)
    assert_nothing_written(out)


def test_non_ascii_text_is_accepted(capfd, tmp_path):
    code, printed, err = run(capfd, "ground", "--scene", npy_file(tmp_path / "room.npy", ROOM), "--text",
                             "la chaise noire près de la fenêtre", "--checkpoint", tiny_checkpoint())
    assert code == 0, err
    assert json.loads(printed)["results"][0]["text"] == "la chaise noire près de la fenêtre"


@pytest.mark.parametrize("content, match", [
    (b"", "holds no sentences"),
    (b"# only a comment\n\n", "holds no sentences"),
    (b"the chair \xff\xfe\n", "not UTF-8"),
])
def test_bad_texts_file(capfd, tmp_path, out, content, match):
    path = bytes_file(tmp_path / "texts.txt", content)
    code, _, err = ground(capfd, out, npy_file(tmp_path / "room.npy", ROOM), "--texts", path, text=None)
    assert_refused(code, err, match)


def test_no_sentence_at_all(capfd, tmp_path, out):
    code, _, err = ground(capfd, out, npy_file(tmp_path / "room.npy", ROOM), text=None)
    assert_refused(code, err, "no sentence given")


# ---------------------------------------------------------------- the real console script


def test_console_script_prints_one_line_and_exits_nonzero(tmp_path):
    if not TSP3D.exists():
        pytest.skip(f"{TSP3D} not installed (pip install -e .)")
    done = subprocess.run([str(TSP3D), "ground", "--scene", str(npy_file(tmp_path / "nan.npy", NAN_ROOM)), "--text",
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
