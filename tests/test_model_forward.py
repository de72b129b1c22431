"""Batch-1 inference of the whole model: determinism, TGP/CBA semantics, decoding, capacities, input errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsp3d.errors import CapacityError, InputFileError
from tsp3d.model import COUNT_NAMES, TSP3D, load_config


def toy_room(n_points: int = 5000, seed: int = 0, size=(6.0, 5.0, 2.5), n_objects: int = 8):
    """Points [N, 6] of a room (floor + walls) with axis-aligned boxes on the floor, and those boxes [K, 6]."""
    rng = np.random.default_rng(seed)
    ext = np.array(size)
    sizes = rng.uniform([0.3, 0.3, 0.3], [1.2, 1.0, 1.2], (n_objects, 3))
    centers = np.c_[rng.uniform(sizes[:, :2] / 2, ext[:2] - sizes[:, :2] / 2), sizes[:, 2] / 2]
    boxes = np.c_[centers, sizes].astype(np.float32)
    n_room = n_points // 2
    room = rng.uniform(0, 1, (n_room, 3)) * ext
    face = rng.integers(0, 5, n_room)  # floor, 4 walls
    room[face == 0, 2] = 0
    room[face == 1, 0], room[face == 2, 0] = 0, ext[0]
    room[face == 3, 1], room[face == 4, 1] = 0, ext[1]
    obj = rng.integers(0, n_objects, n_points - n_room)
    u = rng.uniform(-0.5, 0.5, (len(obj), 3))
    axis = rng.integers(0, 3, len(obj))
    u[np.arange(len(obj)), axis] = np.where(u[np.arange(len(obj)), axis] < 0, -0.5, 0.5)
    xyz = np.r_[room, centers[obj] + u * sizes[obj]]
    rgb = np.r_[np.full((n_room, 3), 0.6), rng.uniform(0, 1, (n_objects, 3))[obj]]
    points = np.c_[xyz, rgb].astype(np.float32)
    return torch.from_numpy(points), torch.from_numpy(boxes)


def tiny_model(seed: int = 0) -> TSP3D:
    torch.manual_seed(seed)
    return TSP3D(load_config("tiny").replace(text_encoder="tiny", text_dim=32)).eval()


def text(length: int = 6, pad: int = 0, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.zeros(1, length + pad, dtype=torch.bool)
    mask[0, length:] = True
    return torch.randn(1, length + pad, 32, generator=g), mask


@pytest.fixture(scope="module")
def scene():
    return toy_room()


def test_predict_is_deterministic_and_counts_are_consistent(scene):
    points, _ = scene
    model = tiny_model()
    a = model.predict(points, *text())
    b = tiny_model().predict(points, *text())  # a fresh model with the same seed
    assert torch.equal(a.center, b.center) and torch.equal(a.size, b.size) and torch.equal(a.score, b.score)
    assert a.counts == b.counts and list(a.counts) == list(COUNT_NAMES)
    c = a.counts
    assert 1 <= c["tgp64_kept"] <= c["v3"] and 1 <= c["tgp32_kept"] <= c["up32"]
    assert c["cba_added"] <= c["cba_confident"] <= c["cba_sampled"] <= model.cfg.head.cba_samples
    assert c["final"] == c["up16"] + c["cba_added"]
    assert a.size.shape == (3,) and bool((a.size > 0).all()) and 0 < float(a.score) < 1


def test_padding_tokens_do_not_change_the_result(scene):
    points, _ = scene
    model = tiny_model()
    feats, mask = text(6)
    padded = torch.cat([feats, torch.randn(1, 3, 32)], dim=1)
    pad_mask = torch.cat([mask, torch.ones(1, 3, dtype=torch.bool)], dim=1)
    a, b = model.predict(points, feats, mask), model.predict(points, padded, pad_mask)
    assert a.counts == b.counts
    assert torch.allclose(a.center, b.center, atol=1e-5) and torch.allclose(a.score, b.score, atol=1e-6)


@torch.no_grad()
def test_tgp_keeps_by_prune_probability():
    points, _ = toy_room(2500, size=(4.0, 3.0, 2.5))  # keeping everything makes large sets: a small room
    model = tiny_model()
    for conv in model.head.keep_conv:
        conv.kernel.zero_()
    model.head.keep_conv[1].bias.fill_(-20.0)  # prune probability ~0 at 64 cm: keep everything
    model.head.keep_conv[0].bias.fill_(20.0)  # ~1 at 32 cm: nothing passes, min_keep keeps one voxel
    c = model.predict(points, *text()).counts
    assert c["tgp64_kept"] == c["v3"]
    assert c["tgp32_kept"] == 1 and c["up16"] <= 27
    model.head.keep_conv[0].bias.fill_(np.log(0.65 / 0.35))  # sigmoid = 0.65 < 0.7: kept at 32 cm
    assert model.predict(points, *text()).counts["tgp32_kept"] == c["up32"]
    model.head.keep_conv[0].bias.fill_(np.log(0.75 / 0.25))  # sigmoid = 0.75 > 0.7: pruned
    assert model.predict(points, *text()).counts["tgp32_kept"] == 1


@torch.no_grad()
def test_cba_threshold_and_deterministic_sample(scene):
    points, _ = scene
    model = tiny_model()
    n1 = model.encode_scene(points)[0].shape[0]
    model.head.com_cls.weight.zero_()
    model.head.com_cls.bias.fill_(-20.0)
    c = model.predict(points, *text()).counts
    assert c["cba_sampled"] == min(n1, model.cfg.head.cba_samples)
    assert c["cba_confident"] == 0 and c["cba_added"] == 0 and c["final"] == c["up16"]
    model.head.com_cls.bias.fill_(20.0)
    c = model.predict(points, *text()).counts
    assert c["cba_confident"] == c["cba_sampled"] and 0 < c["cba_added"] <= c["cba_sampled"]


def test_top1_decoding(scene, monkeypatch):
    points, _ = scene
    model = tiny_model()
    seen = {}
    original = model.head.box_head

    def spy(x, text_vec, sentence=None):
        out = original(x, text_vec, sentence)
        seen.update(coords=out[0].coords, reg=out[1], cls=out[2])
        return out

    monkeypatch.setattr(model.head, "box_head", spy)
    g = model.predict(points, *text())
    i = int(torch.argmax(seen["cls"]))
    corner = seen["coords"][i, 1:].float() * model.cfg.voxel_size
    assert torch.allclose(g.center, corner + seen["reg"][i, :3])
    assert torch.allclose(g.size, torch.exp(seen["reg"][i, 3:6]))
    assert torch.allclose(g.score, torch.sigmoid(seen["cls"].max()))


def test_two_stages_equal_one_call(scene):
    points, _ = scene
    model = tiny_model()
    feats, mask = text()
    with torch.no_grad():
        levels = model.encode_scene(points)
        staged = model.ground(*levels, feats, mask)
    direct = model.predict(points, feats, mask)
    assert torch.equal(staged[0], direct.center) and torch.equal(staged[2], direct.score)
    for c, f, s in zip(levels[0::2], levels[1::2], (16, 32, 64)):
        assert c.dtype == torch.int32 and bool((c[:, 1:] % s == 0).all()) and bool((c[:, 0] == 0).all())
        assert f.shape == (c.shape[0], model.cfg.head.channels)


def test_capacities_raise(scene):
    points, _ = scene
    cfg = load_config("tiny").replace(text_encoder="tiny", text_dim=32)
    small = TSP3D(cfg.replace(capacities=cfg.capacities.__class__(**{**cfg.capacities.__dict__, "voxels_s8": 10})))
    with pytest.raises(CapacityError, match="capacity of 10"):
        small.eval().predict(points, *text())
    few = TSP3D(cfg.replace(capacities=cfg.capacities.__class__(**{**cfg.capacities.__dict__, "max_points": 100})))
    with pytest.raises(CapacityError, match="max_points"):
        few.eval().predict(points, *text())


def test_bad_inputs_are_refused(scene):
    points, _ = scene
    model = tiny_model()
    feats, mask = text()
    bad = points.clone()
    bad[5, 1] = float("nan")
    with pytest.raises(Exception, match="NaN"):
        model.predict(bad, feats, mask)
    with pytest.raises(InputFileError, match="6 columns"):
        model.predict(points[:, :4].contiguous(), feats, mask)
    with pytest.raises(InputFileError, match="text features"):
        model.predict(points, torch.randn(1, 5, 384), mask[:, :5])
    with pytest.raises(InputFileError, match="text mask"):
        model.predict(points, feats, mask.int())
    first_pad = mask.clone()
    first_pad[0, 0] = True
    with pytest.raises(InputFileError, match="first text token"):
        model.predict(points, feats, first_pad)
