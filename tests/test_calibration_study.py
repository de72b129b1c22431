"""The INT8 study's accuracy verdict: the class-only oracle on exactly the evaluated samples, and the drop judged
with a paired bootstrap (tsp3d.bench.accuracy_drop) -- never on too few samples or on a reference below the oracle."""
from __future__ import annotations

import numpy as np
import pytest

from tsp3d.calibration.data import load_samples
from tsp3d.calibration.evaluate import EvalResult
from tsp3d.bench.int8_study import class_only_oracle, drop_verdict


def _text(sentence: str):
    return np.zeros((1, 4, 8), np.float32), np.zeros((1, 4), bool)


def _result(ious) -> EvalResult:
    ious = np.asarray(ious, dtype=np.float64)
    return EvalResult("run", np.zeros((len(ious), 6)), ious)


def test_class_only_oracle_is_the_mean_over_the_samples(micro):
    from tsp3d.data.baselines import expected_hits
    from tsp3d.data.dataset import GroundingDataset

    data, _ = micro
    samples = load_samples(data, "val", _text, 3000, per_scene=0)
    ds = GroundingDataset(data, "val")
    anns = {(a.scene_id, a.ann_id): a for a in ds.annotations}
    want = np.mean([expected_hits(ds.scene(s.scene_id), anns[(s.scene_id, s.ann_id)])["class_only"][0]
                    for s in samples])
    assert class_only_oracle(data, "val", samples) == pytest.approx(want)
    assert class_only_oracle(data, "val", samples[:1]) == pytest.approx(
        expected_hits(ds.scene(samples[0].scene_id), anns[(samples[0].scene_id, samples[0].ann_id)])["class_only"][0])


def test_drop_verdict_needs_samples_and_a_reference_above_the_oracle():
    rng = np.random.default_rng(0)
    ref = rng.uniform(0, 1, 600)  # IoUs: hits where > 0.25
    same = drop_verdict(_result(ref), _result(ref), oracle=0.3)
    assert same["status"] == "PASS" and same["drop"] == 0 and same["samples"] == 600
    worse = ref.copy()
    worse[np.flatnonzero(ref > 0.25)[:30]] = 0.0  # 30 of 600 hits lost: 5 points
    miss = drop_verdict(_result(ref), _result(worse), oracle=0.3)
    assert miss["status"] == "MISS" and miss["drop"] == pytest.approx(0.05) and miss["ci95"][0] > 0.01
    assert drop_verdict(_result(ref), _result(ref), oracle=0.9)["status"] == "NOT JUDGED"  # below the oracle
    assert drop_verdict(_result(ref[:100]), _result(ref[:100]), oracle=0.3)["status"] == "NOT JUDGED"
