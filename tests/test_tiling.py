"""Whole floors: the fused attention of ONNX Runtime sessions, the pre-run memory check, tiled grounding."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from test_export_shared import needs_ort, room_points, shared_bundle, tiny_checkpoint
from tsp3d.errors import CapacityError, InputFileError
from tsp3d.runtime.scene_memory import FUSED_BYTES_PER_VOXEL, ModelFacts, cells, check_scene_memory, children, estimate
from tsp3d.tiling import Tile, check_tiling, crop, tile_grid


# ---------------------------------------------------------------- tiles


def test_tile_grid_covers_the_extent_on_the_coarse_lattice():
    tiles = tile_grid((-3.1, -2.0), (9.5, 4.0), size=4.0, overlap=1.0, align=0.64)
    xs, ys = sorted({t.x0 for t in tiles}), sorted({t.y0 for t in tiles})
    assert len(tiles) == len(xs) * len(ys)
    for v in xs + ys + [t.x1 for t in tiles]:
        assert abs(v / 0.64 - round(v / 0.64)) < 1e-9
    assert xs[0] <= -3.1 and max(t.x1 for t in tiles) >= 9.5 and ys[0] <= -2.0 and max(t.y1 for t in tiles) >= 4.0
    size, step = tiles[0].x1 - tiles[0].x0, xs[1] - xs[0]
    assert size == pytest.approx(3.84) and step == pytest.approx(3.2)  # 4 m and 3 m on the 64 cm lattice
    assert tile_grid((0, 0), (1, 1), 8.0, 2.0, 0.64) == [Tile(0.0, 0.0, 7.68, 7.68)]


def test_bad_tilings_are_refused():
    for size, overlap in ((0.0, 0.0), (4.0, 4.0), (4.0, -1.0), (float("nan"), 1.0)):
        with pytest.raises(InputFileError):
            check_tiling(size, overlap)


def test_crop_keeps_the_rows_whose_corner_is_in_the_tile():
    coords = np.array([[0, 0, 0, 0], [0, 64, 0, 16], [0, 128, 64, 0], [0, -64, 0, 0]], dtype=np.int32)
    feats = np.arange(8, dtype=np.float32).reshape(4, 2)
    out = crop([coords, feats] * 3, Tile(0.0, 0.0, 1.28, 0.64), voxel_size=0.01)
    assert out[0][:, 1].tolist() == [0, 64] and out[1].tolist() == [[0, 1], [2, 3]]
    assert len(out) == 6 and all(a.flags["C_CONTIGUOUS"] for a in out)


# ---------------------------------------------------------------- the memory check


def _facts(up_s32=8192):
    return ModelFacts(voxel_size=0.01, heads=4, channels=32, cba_samples=512, up_s32=up_s32)


@torch.no_grad()
def test_voxel_bounds_are_the_model_s_own_sets():
    """The 64 cm count from the points is the backbone's V3; with TGP keeping everything, the 32 cm bound (the
    upsampling of every 64 cm voxel) is exactly the model's up32 count."""
    from tsp3d.model import TSP3D, load_config

    cfg = load_config("tiny")
    cfg.head.tgp_keep_threshold = [-1.0, -1.0]  # keep iff 1 - sigmoid > -1: everything
    torch.manual_seed(0)
    model = TSP3D(cfg).eval()
    pts = room_points(6000, seed=2)
    feats, mask = torch.randn(1, 5, cfg.text_dim), torch.zeros(1, 5, dtype=torch.bool)
    counts = model.predict(torch.from_numpy(pts), feats, mask).counts
    v3 = cells(pts[:, :3], cfg.voxel_size, 64)
    assert counts["v3"] == len(v3) == counts["tgp64_kept"]
    assert counts["up32"] == len(children(v3, 64))
    rows = estimate(pts[:, :3], ModelFacts.from_config(cfg.to_dict()), "plain")
    assert [r.voxels for r in rows[:2]] == [counts["v3"], counts["up32"]]
    assert rows[1].bytes == 2 * cfg.head.attn_heads * counts["up32"] ** 2 * 4


def test_memory_check_names_level_voxels_and_memory():
    pts = room_points(6000, seed=1)
    check_scene_memory(pts[:, :3], _facts(), "plain", max_memory_mb=10_000)  # fits
    with pytest.raises(CapacityError) as e:
        check_scene_memory(pts[:, :3], _facts(), "plain", max_memory_mb=1)
    msg = str(e.value)
    n3 = len(cells(pts[:, :3], 0.01, 64))
    assert "64 cm (keep_trans[1])" in msg and f"up to {n3} voxels" in msg and " MB " in msg and "budget of 1 MB" in msg
    assert "--tile" in e.value.hint and "fused attention" in e.value.hint
    fused = estimate(pts[:, :3], _facts(), "fused")
    plain = estimate(pts[:, :3], _facts(), "plain")
    for f, p in zip(fused, plain):  # fused: linear in the voxels; plain: quadratic
        assert f.voxels == p.voxels and f.bytes == FUSED_BYTES_PER_VOXEL * f.voxels
        assert p.bytes == 2 * 4 * p.voxels ** 2 * 4
    capped = estimate(pts[:, :3], _facts(up_s32=100), "plain")[1]
    assert capped.voxels == 100 and capped.bound == "capacities.up_s32"


# ---------------------------------------------------------------- runtimes


@needs_ort
def test_fused_and_plain_sessions_ground_identically(monkeypatch):
    from tsp3d.runtime.onnx_runtime import OnnxRuntime
    from tsp3d.runtime.ort_session import session_attention

    pts = room_points(6000, seed=3)
    results = {}
    for form in ("fused", "plain"):
        monkeypatch.setenv("TSP3D_ORT_ATTENTION", form)
        rt = OnnxRuntime(shared_bundle(), threads=1)
        results[form] = rt.ground_text(rt.encode_scene(pts), "the lamp")
        info = session_attention(rt.session("head"))
        assert info["form"] == form
        assert (info["fused_blocks"] > 0) == (form == "fused")
    a, b = results["fused"], results["plain"]
    assert a.counts == b.counts
    np.testing.assert_allclose(a.box, b.box, atol=1e-5)
    assert abs(a.score - b.score) < 1e-5


@needs_ort
@pytest.mark.slow
def test_one_tile_is_the_whole_scene_and_many_tiles_take_the_best():
    from tsp3d.runtime.base import SceneHandle
    from tsp3d.runtime.onnx_runtime import OnnxRuntime
    from tsp3d.runtime.torch_runtime import TorchRuntime
    from tsp3d.tiling import ALIGN_STRIDE, LEVEL_NAMES, ground_tiled

    pts = room_points(8000, seed=5)  # a 5 x 4 m room
    for rt in (OnnxRuntime(shared_bundle(), threads=1), TorchRuntime(tiny_checkpoint())):
        text = rt.encode_text("the lamp")
        scene = rt.encode_scene(pts)
        whole = rt.ground(scene, text.feats, text.mask)
        one, tiles = ground_tiled(rt, scene, text.feats, text.mask, size=12.0, overlap=2.0)
        assert len(tiles) == 1 and one.counts == whole.counts
        np.testing.assert_allclose(one.box, whole.box, atol=1e-6)
        best, tiles = ground_tiled(rt, scene, text.feats, text.mask, size=2.0, overlap=0.5)
        assert len(tiles) > 2 and best.score == max(t["score"] for t in tiles)
        arrays = rt.levels_numpy(scene.levels)
        t = next(t for t in tiles if t["score"] == best.score)
        part = crop(arrays, Tile(**t["tile"]), rt.voxel_size)
        levels = dict(zip(LEVEL_NAMES, part)) if rt.name != "torch" else tuple(torch.from_numpy(a) for a in part)
        again = rt.ground(SceneHandle(levels, len(pts)), text.feats, text.mask)
        assert again.counts == best.counts and ALIGN_STRIDE == 64


@needs_ort
@pytest.mark.slow
def test_ground_cli_tiles_and_refuses_a_scene_over_the_memory_budget(tmp_path, capsys):
    from tsp3d.cli import main

    scene = tmp_path / "room.npy"
    np.save(scene, room_points(6000, seed=4))
    base = ["ground", "--scene", str(scene), "--text", "the lamp", "--onnx", str(shared_bundle())]
    assert main(base + ["--tile", "3", "--tile-overlap", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tiling"]["tiles"] >= 2 and out["tiling"]["size_m"] == 3.0
    code = main(base + ["--max-memory", "0.01"])
    err = capsys.readouterr().err
    assert code != 0 and "attention at 64 cm" in err and "--tile" in err
    assert main(base + ["--tile", "3", "--tile-overlap", "3"]) != 0
    assert "overlap" in capsys.readouterr().err
