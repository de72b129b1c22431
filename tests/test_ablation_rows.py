"""The ablation rows of issue 12 (bench/ablation.py) are valid configs that differ from ``tiny`` only where they say."""
from __future__ import annotations

import json

from tsp3d.bench.ablation import ROWS, row_config
from tsp3d.model.config import load_config


def test_every_row_is_tiny_with_its_head_options(tmp_path):
    tiny = load_config("tiny").to_dict()
    for row, head in ROWS.items():
        cfg = load_config(str(row_config(row, tmp_path)))  # validated like any config file
        got = json.loads((tmp_path / f"config_{row}.json").read_text())
        changed = {k for k in tiny["head"] if got["head"][k] != tiny["head"][k]}
        assert changed <= set(head), (row, changed - set(head))
        assert cfg.head.text_voxel_score == head.get("text_voxel_score", tiny["head"]["text_voxel_score"])
    assert ROWS["K"] == {}  # K is tiny as configured
    assert ROWS["A"]["voxel_labels"] == {} and not ROWS["A"]["text_voxel_score"]  # the official training
