"""The default keep rule: structural rules first, then the sweep's accuracy and agreement thresholds (fast)."""
from __future__ import annotations

import numpy as np

from tsp3d.calibration.evaluate import EvalResult
from tsp3d.calibration.layers import Layer, _unit, units
from tsp3d.calibration.sensitivity import SweepRow, exclusions, format_table


def _layer(node, unit, rules=()):
    return Layer(node, "matmul", f"{node}_in", f"{node}_w", unit, unit, tuple(rules))


def _row(unit, drop=0.0, same=1.0):
    return SweepRow(unit, "matmul", 1, [], 0.5 - drop / 100, 0.2, drop, same, same, same, None)


def test_rules_then_thresholds():
    layers = [_layer("a", "stem", ["stem"]), _layer("b", "block"), _layer("c", "block"), _layer("d", "attn"),
              _layer("e", "fine"), _layer("f", "score", ["scores"])]
    rows = [_row("stem", drop=5.0), _row("block", drop=0.8), _row("attn", same=0.9), _row("fine", drop=0.4, same=0.96),
            _row("score")]
    kept = exclusions(layers, rows)
    assert kept == {"stem": "rule: stem", "score": "rule: scores",
                    "block": "sweep: Acc@0.25 -0.80 points > 0.5",
                    "attn": "sweep: same top-1 object 90.0 % < 95 %"}
    assert exclusions(layers, None) == {"stem": "rule: stem", "score": "rule: scores"}  # no sweep: rules only
    # Without the stem rule the sweep still catches the stem; looser thresholds keep the rest quantized.
    assert exclusions(layers, rows, keep=("scores",), max_drop=1.0, min_same_object=0.5) == {
        "score": "rule: scores", "stem": "sweep: Acc@0.25 -5.00 points > 1.0"}
    assert list(units(layers)) == ["stem", "block", "attn", "fine", "score"]


def test_unit_names_from_module_scopes():
    scope = "model.head.keep_trans.1.layers.0.cross_layer.ffn_vl.3"
    assert _unit("matmul", scope, "n") == "model.head.keep_trans.1.layers.0"  # one transformer layer
    assert _unit("matmul", "model.text_projector.0", "n") == "model.text_projector"
    assert _unit("conv", "model.head.pos_embed.position_embedding_head.3", "n") == \
        "model.head.pos_embed.position_embedding_head"
    assert _unit("sparse_conv", "model.vision_backbone.layer1.0.conv2", "n") == "model.vision_backbone.layer1.0.conv2"
    assert _unit("matmul", "", "node_MatMul_7") == "node_MatMul_7"  # no scope metadata: the node alone


def test_agreement_and_table():
    ref = EvalResult("fp32", np.array([[0, 0, 0, 1, 1, 1], [5, 5, 5, 1, 1, 1.0]]), np.array([0.3, 0.1]))
    moved = EvalResult("int8", np.array([[0, 0, 0, 1, 1, 1], [9, 9, 9, 1, 1, 1.0]]), np.array([0.3, 0.0]))
    assert moved.agreement(ref) == {"same_object": 0.5, "identical": 0.5, "mean_iou": 0.5}
    assert ref.accuracy == {"acc@0.25": 0.5, "acc@0.5": 0.0}
    text = format_table([_row("block", drop=0.8)], ref)
    assert text.splitlines()[0].startswith("FP32: Acc@0.25 50.00") and "block" in text.splitlines()[2]
