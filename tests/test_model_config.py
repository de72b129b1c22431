"""Model configs: packaged files, JSON round trip, strict parsing and validation."""
from __future__ import annotations

import json

import pytest

from tsp3d.errors import InputFileError
from tsp3d.model.config import ModelConfig, available, load_config


def test_packaged_configs_load_and_round_trip(tmp_path):
    assert {"base", "tiny"} <= set(available())
    for name in ("base", "tiny"):
        cfg = load_config(name)
        assert cfg.name == name
        path = tmp_path / f"{name}.json"
        path.write_text(cfg.to_json())
        assert load_config(path) == cfg
        assert ModelConfig.from_dict(json.loads(cfg.to_json())) == cfg


def test_base_has_the_papers_sizes():
    cfg = load_config("base")
    assert cfg.voxel_size == 0.01
    assert cfg.backbone.blocks == [3, 4, 6, 3] and cfg.stage_channels() == [64, 128, 128, 128]
    h = cfg.head
    assert (h.channels, h.attn_heads, h.attn_ffn, h.attn_layers, h.dropout) == (128, 8, 128, 2, 0.1)
    assert h.tgp_keep_threshold == [0.7, 0.3] and h.cba_threshold == 0.15 and h.cba_samples == 2400
    assert h.train_attn_samples == [320, 3200] and h.train_topk_32 == 4000 and h.train_topk_16 == [1200, 4000]
    assert h.keep_gt_half_width == [1.04, 0.52] and h.assigner_topk == 32


def test_tiny_keeps_the_topology():
    base, tiny = load_config("base"), load_config("tiny")
    assert len(tiny.backbone.blocks) == len(base.backbone.blocks)
    assert tiny.head.attn_layers == base.head.attn_layers
    assert tiny.head.channels < base.head.channels
    assert tiny.capacities.max_points < base.capacities.max_points


@pytest.mark.parametrize("edit, words", [
    (lambda d: d.update(bogus=1), "unknown ModelConfig keys"),
    (lambda d: d["head"].update(channels="128"), "expected int"),
    (lambda d: d["head"].update(attn_heads=7), "not divisible"),
    (lambda d: d["backbone"].update(blocks=[3, 4, 6]), "4 positive counts"),
    (lambda d: d["capacities"].update(up_s16=0), "up_s16 must be >= 1"),
    (lambda d: d["head"].update(train_topk_16=[4000, 1200]), "low < high"),
    (lambda d: d.update(voxel_size=-1), "voxel_size"),
])
def test_bad_configs_are_refused_with_the_field_named(edit, words):
    data = load_config("base").to_dict()
    edit(data)
    with pytest.raises(InputFileError, match=words):
        ModelConfig.from_dict(data)


def test_unknown_name_and_bad_file(tmp_path):
    with pytest.raises(InputFileError, match="unknown model config"):
        load_config("huge")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputFileError, match="cannot read"):
        load_config(bad)
    with pytest.raises(InputFileError, match="does not exist"):
        load_config(tmp_path / "missing.json")
