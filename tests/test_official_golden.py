"""Official checkpoints give the official answers: PyTorch and ONNX Runtime against the official code's outputs.

The fixture (tests/fixtures/official, made by scripts/make_official_golden.py with the official GWxuan/TSP3D code on
MinkowskiEngine 0.5.4) holds the inputs and what the official model did with them. Here, without the official
code: the official-layout checkpoint is rebuilt from its seeded recipe (same bytes, checked by digest), converted
through ``tsp3d convert-official``, and run on the same inputs under both CBA conventions (every V1 voxel; the
official 2,400-cap draw fed through ``cba_coords``). Rules in tsp3d.bench.golden, runs in tsp3d.bench.golden_runs.
"""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from tsp3d.bench.golden import CONVENTIONS, compare_head, compare_levels, failures, load_fixture
from tsp3d.bench.golden_runs import FIXTURE, official_sample, ort_session, run_ort, run_torch, scene_inputs
from tsp3d.bench.official_weights import write_official_checkpoint
from tsp3d.checkpoint import load_model
from tsp3d.cli import main

SCENES = ("room10k", "room20k", "room30k", "room50k")


@pytest.fixture(scope="module")
def golden():
    return load_fixture(FIXTURE)


@pytest.fixture(scope="module")
def converted(golden, tmp_path_factory):
    """The fixture's checkpoint, rebuilt from the recipe and converted by the CLI -> our model (eval)."""
    manifest, _ = golden
    tmp = tmp_path_factory.mktemp("golden")
    digest = write_official_checkpoint(tmp / "official.pth", manifest["seed"], manifest["biases"])
    assert digest == manifest["weights_sha256"], "the seeded weight recipe no longer builds the fixture's checkpoint"
    assert main(["convert-official", str(tmp / "official.pth"), "--out", str(tmp / "ours.pt")]) == 0
    return load_model(tmp / "ours.pt")[0]


def _margins(manifest, scene, conv) -> dict:
    return next(s for s in manifest["scenes"] if s["name"] == scene)["conventions"][conv]["margins"]


def _check(bad: list[str], where: str) -> None:
    assert not bad, f"{where}: " + "; ".join(bad)


@pytest.mark.parametrize("scene", SCENES)
def test_pytorch_matches_the_official_code(golden, converted, scene):
    manifest, fx = golden
    for conv in CONVENTIONS:
        levels, head = run_torch(converted, *scene_inputs(fx, scene), official_sample(fx, scene, conv))
        if conv == CONVENTIONS[0]:
            _check(failures(compare_levels(levels, fx, scene, levels=(0, 1, 2, 3)), {}), f"{scene} backbone")
        margins = _margins(manifest, scene, conv)
        _check(failures(compare_head(head, fx, scene, conv), margins), f"{scene} {conv} (PyTorch)")


def test_default_cba_rule_is_the_all_voxels_convention_when_the_cap_allows(golden, converted):
    """No explicit sample: with cba_samples >= |V1| our deterministic rule takes every V1 voxel, as ``all``."""
    manifest, fx = golden
    model = copy.deepcopy(converted)
    model.cfg = model.cfg.replace(head=dataclasses.replace(model.cfg.head, cba_samples=10 ** 6))
    model.head.cfg = model.cfg
    _, head = run_torch(model, *scene_inputs(fx, "room30k"), None)
    _check(failures(compare_head(head, fx, "room30k", "all"), _margins(manifest, "room30k", "all")), "default rule")


def test_the_fixture_catches_the_old_cross_attention(golden, converted, monkeypatch):
    """With vision reading the *updated* text (the bug this fixture was made for) the comparison must fail."""
    from tsp3d.model import biencoder

    def old_forward(self, vis, vis_mask, text, text_mask, pos):
        t = self.norm_lv(text + self.dropout_lv(self.cross_lv(text, vis, vis, vis_mask)))
        t = self.norm_lv2(t + self.ffn_lv(t))
        v = self.norm_vl(vis + self.dropout_vl(self.cross_vl(vis + pos, t, t, text_mask)))
        return self.norm_vl2(v + self.ffn_vl(v)), t

    monkeypatch.setattr(biencoder.CrossAttentionLayer, "forward", old_forward)
    _, fx = golden
    _, head = run_torch(converted, *scene_inputs(fx, "room20k"), official_sample(fx, "room20k", "all"))
    assert failures(compare_head(head, fx, "room20k", "all"), {}), "the old cross-attention went unnoticed"


@pytest.fixture(scope="module")
def session(converted):
    pytest.importorskip("onnxruntime")
    return ort_session(converted)


@pytest.mark.parametrize("scene", SCENES)
def test_onnx_runtime_matches_the_official_code(golden, session, scene):
    manifest, fx = golden
    for conv in CONVENTIONS:
        levels, head = run_ort(*session, *scene_inputs(fx, scene), official_sample(fx, scene, conv))
        if conv == CONVENTIONS[0]:
            _check(failures(compare_levels(levels, fx, scene), {}), f"{scene} backbone (ONNX Runtime)")
        _check(failures(compare_head(head, fx, scene, conv), _margins(manifest, scene, conv)),
               f"{scene} {conv} (ONNX Runtime)")
