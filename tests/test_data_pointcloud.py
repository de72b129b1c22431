"""read_point_cloud on tiny fixtures of every format, and every bad-input case."""
from __future__ import annotations

import numpy as np
import pytest
from plyfile import PlyData, PlyElement

from tsp3d.data.pointcloud import read_point_cloud
from tsp3d.data.points import GREY, subsample
from tsp3d.errors import InputFileError

RNG = np.random.default_rng(0)
XYZ = RNG.normal(size=(30, 3)).astype(np.float32)
RGB8 = RNG.integers(0, 256, size=(30, 3)).astype(np.uint8)


def _write_ply(path, xyz=XYZ, rgb=RGB8, text=False, faces=True, names="xyz"):
    fields = [(n, "f4") for n in names]
    if rgb is not None:
        fields += [(c, "u1") for c in ("red", "green", "blue", "alpha")]
    v = np.empty(len(xyz), dtype=fields)
    for i, n in enumerate(names):
        v[n] = xyz[:, i]
    if rgb is not None:
        v["red"], v["green"], v["blue"], v["alpha"] = rgb[:, 0], rgb[:, 1], rgb[:, 2], 255
    elements = [PlyElement.describe(v, "vertex")]
    if faces:  # ScanNet _vh_clean_2.ply layout: vertices + triangle faces
        f = np.empty(2, dtype=[("vertex_indices", "i4", (3,))])
        f["vertex_indices"] = [[0, 1, 2], [2, 3, 4]]
        elements.append(PlyElement.describe(f, "face"))
    PlyData(elements, text=text).write(str(path))
    return path


@pytest.mark.parametrize("text", [False, True])
def test_ply_scannet_layout(tmp_path, text):
    pts = read_point_cloud(_write_ply(tmp_path / "scene_vh_clean_2.ply", text=text))
    assert pts.dtype == np.float32 and pts.shape == (30, 6)
    assert np.allclose(pts[:, :3], XYZ) and np.allclose(pts[:, 3:], RGB8 / 256.0)


def test_ply_without_colour_is_grey(tmp_path):
    pts = read_point_cloud(_write_ply(tmp_path / "a.ply", rgb=None, faces=False, text=True))
    assert np.all(pts[:, 3:] == GREY)


def test_numpy_and_bin_formats(tmp_path):
    rgb01 = RNG.random((30, 3)).astype(np.float32)
    six = np.concatenate([XYZ, rgb01], axis=1)
    np.save(tmp_path / "a.npy", six)
    assert np.allclose(read_point_cloud(tmp_path / "a.npy"), six)
    np.save(tmp_path / "b.npy", XYZ.astype(np.float64))
    assert np.all(read_point_cloud(tmp_path / "b.npy")[:, 3:] == GREY)
    np.save(tmp_path / "c.npy", np.concatenate([XYZ, RGB8.astype(np.float32)], axis=1))  # 0..255 stored as floats
    assert np.allclose(read_point_cloud(tmp_path / "c.npy")[:, 3:], RGB8 / 256.0)
    np.savez(tmp_path / "d.npz", points=six, other=np.zeros(3))
    assert np.allclose(read_point_cloud(tmp_path / "d.npz"), six)
    np.savez(tmp_path / "e.npz", cloud=six)
    assert np.allclose(read_point_cloud(tmp_path / "e.npz"), six)
    four = np.concatenate([XYZ, RNG.random((30, 1)).astype(np.float32)], axis=1)  # xyz + intensity
    four.astype("<f4").tofile(tmp_path / "f.bin")
    got = read_point_cloud(tmp_path / "f.bin", columns=4)
    assert np.allclose(got[:, :3], XYZ) and np.all(got[:, 3:] == GREY)
    six.astype("<f4").tofile(tmp_path / "g.bin")
    assert np.allclose(read_point_cloud(tmp_path / "g.bin", columns=6), six)


def test_max_points_refuses_or_subsamples_deterministically(tmp_path):
    path = _write_ply(tmp_path / "a.ply")
    with pytest.raises(InputFileError, match="more than max_points=10") as e:
        read_point_cloud(path, max_points=10)
    assert "subsample" in e.value.hint
    got = read_point_cloud(path, max_points=10, subsample_to_max=True)
    assert np.array_equal(got, subsample(read_point_cloud(path), 10))


def _bad(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("make, kwargs, match", [
    (lambda t: t / "missing.ply", {}, "does not exist"),
    (lambda t: _bad(t, "empty.ply", b""), {}, r"empty \(0 bytes\)"),
    (lambda t: _bad(t, "junk.ply", b"hello world\n"), {}, "not a readable PLY"),
    (lambda t: _bad(t, "cut.ply", _write_ply(t / "full.ply").read_bytes()[:-200]), {}, "not a readable PLY"),
    (lambda t: _write_ply(t / "noz.ply", xyz=XYZ[:, :2], names="xy"), {}, "no z property"),
    (lambda t: _write_ply(t / "nan.ply", xyz=np.where(np.arange(30)[:, None] == 4, np.nan, XYZ)), {},
     "1 points have NaN/Inf coordinates .*row 4"),
    (lambda t: _bad(t, "a.xyz", b"1 2 3"), {}, "unknown point cloud format"),
    (lambda t: _bad(t, "a.bin", np.zeros(7, "<f4").tobytes()), {"columns": 3}, "not a whole number"),
    (lambda t: _bad(t, "b.bin", np.zeros(6, "<f4").tobytes()), {}, "needs its column count"),
    (lambda t: _bad(t, "c.npy", b"\x93NUMPY garbage"), {}, "not a readable .npy"),
])
def test_bad_inputs(tmp_path, make, kwargs, match):
    with pytest.raises(InputFileError, match=match):
        read_point_cloud(make(tmp_path), **kwargs)


def test_bad_arrays(tmp_path):
    np.save(tmp_path / "five.npy", np.zeros((4, 5), np.float32))
    with pytest.raises(InputFileError, match=r"\[N, 3\|4\|6\]"):
        read_point_cloud(tmp_path / "five.npy")
    np.save(tmp_path / "none.npy", np.zeros((0, 3), np.float32))
    with pytest.raises(InputFileError, match="has no points"):
        read_point_cloud(tmp_path / "none.npy")
    np.save(tmp_path / "neg.npy", np.concatenate([XYZ, -np.ones((30, 3), np.float32)], axis=1))
    with pytest.raises(InputFileError, match="bad colours"):
        read_point_cloud(tmp_path / "neg.npy")
    np.savez(tmp_path / "two.npz", a=np.zeros((3, 3)), b=np.zeros((3, 3)))
    with pytest.raises(InputFileError, match="no array 'points'"):
        read_point_cloud(tmp_path / "two.npz")
    _write_ply(tmp_path / "facesonly.ply")
    ply = PlyData.read(str(tmp_path / "facesonly.ply"))
    PlyData([ply["face"]], text=True).write(str(tmp_path / "facesonly.ply"))
    with pytest.raises(InputFileError, match="no 'vertex' element"):
        read_point_cloud(tmp_path / "facesonly.ply")
