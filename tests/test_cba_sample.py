"""The CBA sample a caller can give (``cba_coords``): the official protocol's draw, every V1 voxel, or ours."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from tsp3d.errors import InputFileError
from tsp3d.export.graph import example_inputs
from tsp3d.model import TSP3D, load_config
from tsp3d.model.tgp import cba_protocol_sample


@pytest.fixture(scope="module")
def model():
    cfg = load_config("tiny")
    cfg = cfg.replace(head=dataclasses.replace(cfg.head, voxel_labels={}, voxel_label_weights={}))
    torch.manual_seed(0)
    return TSP3D(cfg).eval()


@pytest.fixture(scope="module")
def scene(model):
    points, feats, mask = example_inputs(model, 6000)
    with torch.no_grad():
        return points, feats, mask, model.encode_scene(points)


def _ground(model, scene, cba):
    points, feats, mask, levels = scene
    probes = {}
    with torch.no_grad():
        out = model.ground(*levels, feats, mask, cba, probes)
    return out, probes


def test_explicit_sample_is_used_in_any_order_and_as_a_set(model, scene):
    v1 = scene[3][0]
    pick = v1[torch.arange(0, v1.shape[0], 3)]
    (c1, *_), p1 = _ground(model, scene, pick)
    (c2, *_), p2 = _ground(model, scene, pick.flip(0).contiguous())
    assert torch.equal(p1["cba_sample"], pick)  # canonical order, exactly the given sites
    assert torch.equal(p2["cba_sample"], pick) and torch.equal(c1, c2)


def test_every_v1_voxel_equals_our_rule_with_a_large_cap(model, scene):
    big = dataclasses.replace(model.cfg.head, cba_samples=10 ** 6)
    (c_all, *_), p_all = _ground(model, scene, scene[3][0])
    saved = model.head.cfg
    model.head.cfg = model.cfg.replace(head=big)
    try:
        (c_rule, *_), p_rule = _ground(model, scene, None)
    finally:
        model.head.cfg = saved
    assert torch.equal(p_all["cba_sample"], p_rule["cba_sample"]) and torch.equal(c_all, c_rule)


def test_official_random_draw_is_seeded_capped_and_canonical():
    v1 = torch.stack([torch.zeros(50, dtype=torch.int32), torch.arange(50, dtype=torch.int32) * 16,
                      torch.zeros(50, dtype=torch.int32), torch.zeros(50, dtype=torch.int32)], dim=1)
    a = cba_protocol_sample(v1, 20, "official-random", torch.Generator().manual_seed(1))
    b = cba_protocol_sample(v1, 20, "official-random", torch.Generator().manual_seed(1))
    c = cba_protocol_sample(v1, 20, "official-random", torch.Generator().manual_seed(2))
    assert a.shape == (20, 4) and torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(a[:, 1], torch.sort(a[:, 1]).values)
    assert torch.equal(cba_protocol_sample(v1, 64, "official-random"), v1)  # |V1| <= cap: all of V1, as official
    assert cba_protocol_sample(v1, 20, "ours") is None
    with pytest.raises(ValueError, match="must be one of"):
        cba_protocol_sample(v1, 20, "random")


@pytest.mark.parametrize("bad, message", [
    (np.zeros((3, 3), np.int32), r"\[S >= 1, 4\]"),
    (np.zeros((0, 4), np.int32), r"\[S >= 1, 4\]"),
    (np.array([[1, 0, 0, 0]], np.int32), "batch index 0"),
    ("dup", "repeats 1 site"),
    ("off", "not 16 cm"),
])
def test_predict_refuses_a_bad_sample_with_one_line(model, scene, bad, message):
    points, feats, mask, levels = scene
    v1 = levels[0].numpy()
    if isinstance(bad, str):
        bad = np.concatenate([v1[:3], v1[:1]]) if bad == "dup" else np.array([[0, 1, 1, 1]], np.int32)
    with pytest.raises(InputFileError, match=message):
        model.predict(points, feats, mask, cba_coords=bad)


def test_predict_with_the_whole_v1_is_the_all_convention(model, scene):
    points, feats, mask, levels = scene
    g = model.predict(points, feats, mask, cba_coords=levels[0].numpy())
    assert g.counts["cba_sampled"] == levels[0].shape[0]
