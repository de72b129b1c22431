"""The grammar and the resolver on hand-made scenes whose answers are known."""
from __future__ import annotations

import numpy as np
import pytest

from tsp3d.data.synth.catalog import CLASS_NAMES
from tsp3d.data.synth.language import Description, NounPhrase, ParseError, parse, render
from tsp3d.data.synth.palette import COLOR_NAMES
from tsp3d.data.synth.relations import RELATIONS, SUPERLATIVES
from tsp3d.data.synth.resolver import resolve
from tsp3d.data.types import Scene


def make_scene(objects) -> Scene:
    """objects: (label, colour, size, (cx, cy, cz), (dx, dy, dz))."""
    boxes = np.array([[*c, *d] for *_, c, d in objects], dtype=np.float32)
    attrs = {"color": [o[1] for o in objects], "size": [o[2] for o in objects], "support": [-1] * len(objects)}
    return Scene("hand", np.zeros((1, 6), np.float32), boxes, [o[0] for o in objects], None, attrs)


ROW = make_scene([
    ("chair", "red", "medium", (-2.0, 0.0, 0.45), (0.5, 0.5, 0.9)),   # 0
    ("chair", "blue", "medium", (0.0, 0.0, 0.45), (0.5, 0.5, 0.9)),   # 1
    ("chair", "red", "large", (2.0, 0.0, 0.6), (0.65, 0.65, 1.2)),    # 2
    ("table", "brown", "medium", (0.3, 2.0, 0.375), (1.4, 0.8, 0.75)),  # 3
    ("box", "grey", "medium", (0.3, 2.0, 0.95), (0.4, 0.4, 0.4)),     # 4: on the table
    ("box", "white", "small", (0.3, 2.0, 0.15), (0.3, 0.3, 0.3)),     # 5: under the table
    ("lamp", "black", "medium", (-2.0, -3.0, 0.8), (0.4, 0.4, 1.6)),  # 6
    ("sofa", "green", "medium", (2.0, 3.0, 0.42), (2.0, 0.9, 0.85)),  # 7
    ("plant", "red", "medium", (-2.0, -0.9, 0.45), (0.5, 0.5, 0.9)),  # 8: 0.4 m from chair 0
])


@pytest.mark.parametrize("text, target, anchors", [
    ("the blue chair.", 1, []),
    ("find the large chair.", 2, []),
    ("the leftmost chair.", 0, []),
    ("the rightmost red chair in the room.", 2, []),
    ("the largest chair.", 2, []),
    ("the chair closest to the table.", 1, [3]),
    ("the chair that is farthest from the lamp.", 2, [6]),
    ("the box on top of the table.", 4, [3]),
    ("the box under the table.", 5, [3]),
    ("the chair between the lamp and the sofa.", 1, [6, 7]),
    ("the red chair to the left of the blue chair.", 0, [1]),
    ("the chair next to the plant.", 0, [8]),
])
def test_resolves_to_the_known_object(text, target, anchors):
    res = resolve(text, ROW)
    assert res.unique, res
    assert res.target == target and res.anchors == anchors


@pytest.mark.parametrize("text, why", [
    ("the red chair.", "2 clear matches"),  # two red chairs
    ("the chair next to the chair.", "anchor"),  # which chair?
    ("the smallest chair.", "too close"),  # chairs 0 and 1 have the same volume
    ("the table next to the lamp.", "0 clear matches"),
])
def test_ambiguous_or_empty_descriptions_are_rejected(text, why):
    res = resolve(text, ROW)
    assert not res.unique and why in res.reason


def test_thresholds_have_an_unsure_band():
    # chair 1 ends 0.05 m left of the table's left side: inside the +-0.10 m band, so "left of" is not clear
    scene = make_scene([
        ("chair", "red", "medium", (-0.6, 0.0, 0.45), (0.5, 0.5, 0.9)),
        ("chair", "red", "medium", (-3.0, 0.0, 0.45), (0.5, 0.5, 0.9)),
        ("table", "brown", "medium", (0.0, 0.0, 0.375), (0.6, 0.8, 0.75)),
    ])
    res = resolve("the chair left of the table.", scene)
    assert res.matches == [1] and res.unsure == [0] and not res.unique
    # two chairs almost equally far from the table: "closest" is not clear
    res = resolve("the chair closest to the table.", make_scene([
        ("chair", "red", "medium", (-1.5, 0.0, 0.45), (0.5, 0.5, 0.9)),
        ("chair", "red", "medium", (1.6, 0.0, 0.45), (0.5, 0.5, 0.9)),
        ("table", "brown", "medium", (0.0, 0.0, 0.375), (0.6, 0.8, 0.75)),
    ]))
    assert not res.unique and res.unsure


def test_render_then_parse_is_the_identity():
    rng = np.random.default_rng(0)
    for _ in range(500):
        def np_(sized=True):
            size = [None, "small", "large"][rng.integers(3)] if sized else None
            color = COLOR_NAMES[rng.integers(len(COLOR_NAMES))] if rng.random() < 0.5 else None
            return NounPhrase(CLASS_NAMES[rng.integers(len(CLASS_NAMES))], color, size)
        kind = rng.integers(3)
        if kind == 0:
            d = Description(np_())
        elif kind == 1:
            d = Description(np_(), superlative=SUPERLATIVES[rng.integers(len(SUPERLATIVES))])
        else:
            rel = RELATIONS[rng.integers(len(RELATIONS))]
            d = Description(np_(), rel, (np_(), np_()) if rel == "between" else (np_(),))
        text = render(d, rng)
        assert parse(text) == d, text
        assert parse("  " + text.upper() + " ") == d


@pytest.mark.parametrize("text", [
    "the chair", "the chair next to.", "a red chair.", "the red chair next to the table and the sofa.",
    "the leftmost chair next to the table.", "the chair between the table.", "the unicorn.",
])
def test_parse_rejects_sentences_outside_the_grammar(text):
    with pytest.raises(ParseError):
        parse(text)
