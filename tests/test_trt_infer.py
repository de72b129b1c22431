"""tsp3d_infer, the robot runtime's C++ binary (CPU, once built): its point/text readers (PLY binary and ASCII,
.npy, raw .bin), the one-line refusals of bad inputs, and its error when TensorRT is absent."""
from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from plugin_builds import built_binary


@pytest.fixture(scope="module")
def infer_bin() -> Path:
    return built_binary("tsp3d_infer")


def _write_ply_binary(path: Path, pts: np.ndarray, rgb: np.ndarray) -> None:
    header = ("ply\nformat binary_little_endian 1.0\nelement vertex {}\nproperty float x\nproperty float y\n"
              "property float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\n"
              "element face 0\nproperty list uchar int vertex_indices\nend_header\n").format(len(pts))
    with open(path, "wb") as f:
        f.write(header.encode())
        for p, c in zip(pts, rgb):
            f.write(struct.pack("<fffBBB", *p.tolist(), *c.tolist()))


def _inspect(infer_bin: Path, points: Path, text: Path, *extra: str):
    return subprocess.run([str(infer_bin), "--inspect", "--points", str(points), "--text", str(text), *extra],
                          capture_output=True, text=True, timeout=60)


def test_infer_reads_ply_npy_and_bin(infer_bin, tmp_path):
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(7, 3)).astype(np.float32)
    rgb = rng.integers(0, 256, size=(7, 3)).astype(np.uint8)
    _write_ply_binary(tmp_path / "scene.ply", pts, rgb)
    np.save(tmp_path / "text.npy", rng.normal(size=(5, 16)).astype(np.float32))
    r = _inspect(infer_bin, tmp_path / "scene.ply", tmp_path / "text.npy")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["points"] == [7, 6] and out["text"] == [5, 16]
    want = np.concatenate([pts[0], rgb[0] / 255.0])
    np.testing.assert_allclose(out["points_head"], want, rtol=1e-6, atol=1e-7)

    ascii_ply = tmp_path / "ascii.ply"
    ascii_ply.write_text("ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
                         "property float z\nend_header\n1 2 3\n4 5 6\n")
    rows = np.arange(12, dtype=np.float32).reshape(3, 4)
    rows.tofile(tmp_path / "text.bin")
    r = _inspect(infer_bin, ascii_ply, tmp_path / "text.bin", "--text-dims", "4")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["points"] == [2, 3] and out["text"] == [3, 4] and out["points_head"] == [1, 2, 3]

    np.arange(18, dtype=np.float32).tofile(tmp_path / "scene.bin")
    r = _inspect(infer_bin, tmp_path / "scene.bin", tmp_path / "text.npy", "--point-dims", "6")
    assert r.returncode == 0 and json.loads(r.stdout)["points"] == [3, 6]


@pytest.mark.parametrize("case", ["truncated_bin", "ply_without_z", "npy_float64", "missing_file"])
def test_infer_refuses_bad_inputs(infer_bin, tmp_path, case):
    np.save(tmp_path / "text.npy", np.zeros((2, 4), np.float32))
    points, text, extra, fragment = tmp_path / "p.bin", tmp_path / "text.npy", [], ""
    if case == "truncated_bin":
        np.zeros(10, np.float32).tofile(points)  # 40 bytes: not rows of 6 floats
        extra, fragment = ["--point-dims", "6"], "not a positive multiple of 24"
    elif case == "ply_without_z":
        points = tmp_path / "p.ply"
        points.write_text("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\n"
                          "end_header\n1 2\n")
        fragment = "lack x, y or z"
    elif case == "npy_float64":
        np.zeros(4, np.float32).tofile(points)
        np.save(tmp_path / "t64.npy", np.zeros((2, 4)))
        text, extra, fragment = tmp_path / "t64.npy", ["--point-dims", "4"], "float32"
    else:
        points, fragment = tmp_path / "absent.bin", "cannot open"
    r = _inspect(infer_bin, points, text, *extra)
    assert r.returncode == 2
    assert fragment in r.stderr


def test_infer_without_tensorrt_says_what_is_missing(infer_bin, tmp_path):
    import ctypes

    for name in ("libnvinfer.so.11", "libnvinfer.so.10", "libnvinfer.so"):
        try:
            ctypes.CDLL(name)
            pytest.skip(f"TensorRT is installed here ({name})")
        except OSError:
            pass
    np.zeros((4, 6), np.float32).tofile(tmp_path / "p.bin")
    np.save(tmp_path / "t.npy", np.zeros((2, 4), np.float32))
    r = subprocess.run([str(infer_bin), "--engine", str(tmp_path / "m.engine"), "--points", str(tmp_path / "p.bin"),
                        "--text", str(tmp_path / "t.npy")], capture_output=True, text=True, timeout=60,
                       env={"PATH": "/usr/bin:/bin", "TSP3D_NVINFER": str(tmp_path / "no_libnvinfer.so")})
    assert r.returncode == 3
    assert "libnvinfer is not available" in r.stderr and "no_libnvinfer.so" in r.stderr
