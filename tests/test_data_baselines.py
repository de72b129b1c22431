"""Boxes (the metric's IoU), point helpers, and the text-blind baselines on a hand-made dataset with known answers."""
from __future__ import annotations

import numpy as np
import pytest

from tsp3d.data import format as fmt
from tsp3d.data.baselines import compute_baselines, expected_hits, format_table
from tsp3d.data.boxes import axis_aligned_iou, box_of_points, hit, pairwise_iou
from tsp3d.data.dataset import GroundingDataset
from tsp3d.data.points import MEAN_RGB, colors_to_unit, normalize_colors, subsample, subsample_indices
from tsp3d.data.types import Annotation, Scene


def test_iou_known_values():
    a = np.array([0, 0, 0.5, 1, 1, 1.0])
    b = np.array([0.5, 0, 0.5, 1, 1, 1.0])  # half overlapping: 0.5 / 1.5
    assert axis_aligned_iou(a, a) == pytest.approx(1.0)
    assert axis_aligned_iou(a, b) == pytest.approx(1 / 3) == axis_aligned_iou(b, a)
    assert axis_aligned_iou(a, a + [5, 0, 0, 0, 0, 0]) == 0.0
    half = axis_aligned_iou([1, 0.5, 0.5, 2, 1, 1], [0.5, 0.5, 0.5, 1, 1, 1])
    assert half == 0.5 and not hit(half, 0.5) and hit(half, 0.25)  # Acc@k is strictly greater
    assert np.isfinite(axis_aligned_iou([0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]))  # sizes clamped, no 0/0
    m = pairwise_iou(np.stack([a, b]))
    assert m.shape == (2, 2) and m[0, 1] == pytest.approx(1 / 3)


def test_box_of_points():
    pts = np.array([[0, 1, 2], [2, 3, 6], [1, 1, 3.0]])
    assert np.allclose(box_of_points(pts), [1, 2, 4, 2, 2, 4])


def test_subsample_matches_the_official_draw():
    np.random.seed(1184)
    official = np.random.choice(1000, 300, replace=False)
    assert np.array_equal(subsample_indices(1000, 300), official)
    idx = subsample_indices(100, 100)
    assert np.array_equal(np.sort(idx), np.arange(100))  # enough points: no repeats
    idx = subsample_indices(10, 25)
    assert len(idx) == 25 and len(np.unique(idx)) <= 10  # too few: with replacement
    pts = np.arange(40, dtype=np.float32).reshape(20, 2)
    assert np.array_equal(subsample(pts, 5, seed=3), subsample(pts, 5, seed=3))
    with pytest.raises(ValueError):
        subsample_indices(0, 5)


def test_colour_rules():
    assert np.allclose(colors_to_unit(np.array([[0, 128, 255]], np.uint8)), [[0, 0.5, 255 / 256]])
    assert np.allclose(colors_to_unit(np.array([[0.2, 0.5, 1.0]])), [[0.2, 0.5, 1.0]])
    assert np.allclose(colors_to_unit(np.array([[0.0, 128.0, 200.0]])), [[0, 0.5, 200 / 256]])
    for bad in ([[-1, 0, 0]], [[0.0, 300.0, 0]], [[np.nan, 0, 0]], [[256, 0, 0]]):
        with pytest.raises(ValueError):
            colors_to_unit(np.array(bad))
    pts = np.array([[1, 2, 3, 0.5, 0.5, 0.5]], np.float32)
    out = normalize_colors(pts)
    assert np.allclose(out[0, 3:], 0.5 - MEAN_RGB) and np.array_equal(out[0, :3], pts[0, :3]) and pts[0, 3] == 0.5


def _dataset(tmp_path):
    boxes = np.array([
        [0, 0, 0.5, 1, 1, 1],  # 0 chair
        [0.5, 0, 0.5, 1, 1, 1],  # 1 chair, IoU 1/3 with 0
        [5, 5, 0.5, 1, 1, 1],  # 2 table, far away
    ], np.float32)
    scene = Scene("s", np.zeros((4, 6), np.float32), boxes, ["chair", "chair", "table"])
    anns = [
        Annotation("s", "a", "the chair on the left", 0, [], unique=False),
        Annotation("s", "b", "the table", 2, [], unique=True),
    ]
    return fmt.write_dataset(tmp_path / "ds", [scene], {"val": anns})


def test_baselines_on_a_known_dataset(tmp_path):
    ds = GroundingDataset(_dataset(tmp_path), "val")
    scene, ann = ds[0]
    p = expected_hits(scene, ann)
    assert np.allclose(p["random"], [2 / 3, 1 / 3]) and np.allclose(p["class_only"], [1.0, 0.5])
    scores = compute_baselines(ds)
    rnd, cls = scores["random"], scores["class_only"]
    assert rnd.count == {"overall": 2, "unique": 1, "multiple": 1}
    assert rnd.acc["multiple"] == pytest.approx({0.25: 2 / 3, 0.5: 1 / 3})
    assert rnd.acc["unique"] == pytest.approx({0.25: 1 / 3, 0.5: 1 / 3})
    assert rnd.acc["overall"] == pytest.approx({0.25: 0.5, 0.5: 1 / 3})
    assert cls.acc["multiple"] == pytest.approx({0.25: 1.0, 0.5: 0.5})
    assert cls.acc["unique"] == pytest.approx({0.25: 1.0, 0.5: 1.0})
    assert cls.acc["overall"] == pytest.approx({0.25: 1.0, 0.5: 0.75})
    assert cls.to_dict()["acc"]["overall"] == pytest.approx({"0.25": 1.0, "0.5": 0.75})
    assert "class_only" in format_table(scores)
    assert compute_baselines(ds)["class_only"].acc == cls.acc  # exact, so repeatable
