"""error_breakdown on hand-made predictions: where each miss goes, and whether predictions follow the text."""
from __future__ import annotations

import numpy as np
import pytest

from tsp3d.data.types import Annotation, Scene
from tsp3d.evaluation import error_breakdown

BOXES = np.array([[0, 0, 0.5, 1, 1, 1], [3, 0, 0.5, 1, 1, 1], [0, 3, 0.5, 1, 1, 1]], np.float32)
LABELS = ["chair", "chair", "lamp"]


class _Data:
    def __init__(self, anns):
        self.annotations = anns
        self._scene = Scene("s", np.zeros((4, 6), np.float32), BOXES, LABELS)

    def scene(self, scene_id):
        return self._scene


def _pred(ann_id, box):
    return {"ann_id": ann_id, "scene_id": "s", "box": list(map(float, box))}


def test_breakdown_classifies_each_prediction_and_counts_objects_per_scene():
    anns = [Annotation("s", f"a{i}", "t", target=t, tags={"kind": k})
            for i, (t, k) in enumerate([(0, "attribute"), (0, "relation"), (1, "attribute"), (2, "relation")])]
    far = [10, 10, 10, 1, 1, 1]
    preds = [_pred("a0", BOXES[0]), _pred("a1", BOXES[1]), _pred("a2", BOXES[2]), _pred("a3", far)]
    r = error_breakdown(preds, _Data(anns))
    assert r["n"] == 4
    assert (r["hit"], r["other_same_class"], r["other_class"], r["no_object"]) == (0.25, 0.25, 0.25, 0.25)
    assert r["acc_by_kind"] == {"attribute": {"n": 2, "acc@0.25": 0.5}, "relation": {"n": 2, "acc@0.25": 0.0}}
    assert r["objects_per_scene"] == 3 and r["targets_per_scene"] == 3


def test_a_text_blind_model_picks_one_object_per_scene():
    anns = [Annotation("s", f"a{i}", "t", target=i) for i in range(3)]
    r = error_breakdown([_pred(a.ann_id, BOXES[1]) for a in anns], _Data(anns))
    assert r["objects_per_scene"] == 1 and r["targets_per_scene"] == 3
    assert r["hit"] == pytest.approx(1 / 3)


def test_curve_metrics_judge_the_picked_object_not_the_box():
    from tsp3d.evaluation import curve_metrics, picked_object

    assert picked_object([0.1, 0.0, 0.5], BOXES) == 0  # inside box 0
    assert picked_object([2.0, 0.0, 0.5], BOXES) == 1  # nearest box surface
    anns = [Annotation("s", f"a{i}", "t", target=t) for i, t in enumerate([0, 1, 2, 0])]
    tiny = [0.0, 0.0, 0.0, 0.05, 0.05, 0.05]  # a bad box whose centre is on an object still picks it
    preds = [_pred("a0", [0, 0, 0.5, *tiny[3:]]), _pred("a1", [0, 0, 0.5, 1, 1, 1]), _pred("a2", [0, 3, 0.5, 1, 1, 1]),
             _pred("a3", [0, 3, 0.5, 1, 1, 1])]
    report = {"accuracy": {"overall": {"acc@0.25": 0.5, "acc@0.5": 0.5}}, "predictions": preds}
    m = curve_metrics(report, _Data(anns))
    assert m["right_class"] == 0.75  # a0 chair (target), a1 the other chair, a2 lamp (target); a3 lamp for a chair
    assert m["target_in_right_class"] == pytest.approx(2 / 3)
    assert m["objects_per_scene"] == 2 and m["targets_per_scene"] == 3
    assert (m["acc@0.25"], m["acc@0.5"]) == (0.5, 0.5)
