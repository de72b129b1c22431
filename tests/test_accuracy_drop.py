"""Accuracy-drop verdicts: judged only on enough samples and a reference at least at the class-only oracle."""
from __future__ import annotations

import numpy as np
import pytest

from tsp3d.bench.accuracy_drop import MIN_SAMPLES, describe, judge_drop, paired_bootstrap_ci


def _hits(n: int, acc: float, flips: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    ref = rng.random(n) < acc
    test = ref.copy()
    hit = np.flatnonzero(ref)[:flips]
    test[hit] = False  # the test runtime loses ``flips`` hits of the reference
    return ref, test


def test_judged_on_enough_samples_above_the_oracle():
    ref, test = _hits(800, 0.6, flips=4)
    v = judge_drop(ref, test, oracle_acc=0.42, bound=0.01)
    assert v["status"] == "PASS" and v["drop"] == pytest.approx(4 / 800) and v["discordant"] == 4
    lo, hi = v["ci95"]
    assert lo <= v["drop"] <= hi and lo >= 0.0  # only losses: the paired CI cannot go below 0
    miss = judge_drop(*_hits(800, 0.6, flips=24), oracle_acc=0.42, bound=0.01)
    assert miss["status"] == "MISS" and miss["drop"] == pytest.approx(0.03)
    assert "drop +3.00 points" in describe(miss)


def test_not_judged_below_the_oracle_or_on_too_few_samples():
    ref, test = _hits(800, 0.2, flips=0)
    v = judge_drop(ref, test, oracle_acc=0.42, bound=0.01)
    assert v["status"] == "NOT JUDGED" and "below the class-only oracle" in v["reason"]
    assert v["drop"] == 0.0 and v["ci95"] == [0.0, 0.0]  # the numbers are still reported
    few = judge_drop(*_hits(100, 0.9, flips=0), oracle_acc=0.42, bound=0.01)
    assert few["status"] == "NOT JUDGED" and f"fewer than {MIN_SAMPLES}" in few["reason"]
    assert judge_drop([], [], 0.4, 0.01)["status"] == "NOT JUDGED"
    assert judge_drop(*_hits(600, 0.9, 0), oracle_acc=None, bound=0.01)["status"] == "NOT JUDGED"


def test_paired_bootstrap_ci_narrows_with_samples_and_is_deterministic():
    small = paired_bootstrap_ci(*_hits(500, 0.5, flips=10))
    large = paired_bootstrap_ci(*_hits(5000, 0.5, flips=100))
    assert small == paired_bootstrap_ci(*_hits(500, 0.5, flips=10))
    assert (large[1] - large[0]) < (small[1] - small[0])
    with pytest.raises(ValueError):
        paired_bootstrap_ci([True, False], [True])
