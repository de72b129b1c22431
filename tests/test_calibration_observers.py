"""Range observers (minmax / entropy / percentile) and the calibration cache: fast, no ONNX Runtime."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tsp3d.calibration import cache as cache_mod
from tsp3d.calibration.observers import BINS, TensorStats, entropy_amax, percentile_amax
from tsp3d.errors import InputFileError, ModelFormatError, OutputExistsError


def _stats(x, chunks=4):
    s = TensorStats()
    for c in np.array_split(np.asarray(x, np.float32), chunks):
        s.update(c)
    return s


def test_histogram_merging_is_exact():
    # Growing batches force the width to double several times; the result must equal a one-shot histogram of
    # every value at the final width.
    rng = np.random.default_rng(0)
    batches = [rng.normal(scale=s, size=5000).astype(np.float32) for s in (0.1, 1.0, 8.0, 3.0)]
    s = TensorStats()
    for b in batches:
        s.update(b)
    a = np.abs(np.concatenate(batches))
    a = a[a != 0]
    want = np.bincount(np.minimum((a / s.width).astype(np.int64), BINS - 1), minlength=BINS)
    assert s.absmax == pytest.approx(float(a.max()))
    assert s.count == 20000 and s.hist.sum() == a.size
    assert s.width * BINS > s.absmax >= s.width * BINS / 2
    # Bin edges computed by repeated doubling equal the final width's edges except for float rounding at a
    # boundary: allow a handful of values to sit one bin over.
    assert np.abs(np.cumsum(s.hist) - np.cumsum(want)).max() <= 3


def test_zeros_and_nonfinite_are_kept_apart():
    s = TensorStats()
    s.update(np.array([0, 0, 0, 1.0, -2.0, np.nan, np.inf], np.float32))
    assert (s.zeros, s.nonfinite, s.count, s.absmax) == (3, 2, 5, 2.0)
    assert s.hist.sum() == 2
    all_zero = TensorStats()
    all_zero.update(np.zeros(10, np.float32))
    assert all_zero.amax("minmax") == 0.0 and all_zero.amax("entropy") == 0.0


def test_methods_on_known_distributions():
    rng = np.random.default_rng(1)
    uniform = _stats(rng.uniform(-1, 1, 100_000))
    for m in ("minmax", "entropy", "percentile"):
        assert uniform.amax(m) == pytest.approx(1.0, rel=0.01), m  # nothing to clip in a uniform distribution
    heavy = _stats(rng.laplace(size=200_000))
    mm, ent, pct = heavy.amax("minmax"), heavy.amax("entropy"), heavy.amax("percentile")
    assert ent < pct < mm  # outliers: entropy clips hardest, minmax not at all
    assert 3.0 < ent < 10.0  # |laplace| has mean 1: a sane threshold, not a collapse to the first bins
    assert heavy.amax("percentile", 50.0) == pytest.approx(np.log(2), rel=0.05)  # the median of |laplace(1)|


def test_relu_spike_at_zero_does_not_drag_entropy_down():
    rng = np.random.default_rng(2)
    relu = np.maximum(rng.normal(size=200_000), 0)  # half the values are exactly 0
    assert _stats(relu).amax("entropy") > 2.0  # a half-normal's useful range is about 2.5-3.5 sigma


def test_percentile_and_entropy_helpers():
    hist = np.zeros(BINS, np.int64)
    hist[:100] = 1
    assert percentile_amax(hist, 0.5, 100.0) == 50.0  # the upper edge of the last non-empty bin
    assert percentile_amax(hist, 0.5, 50.0) == 25.0
    with pytest.raises(InputFileError):
        percentile_amax(hist, 0.5, 0.0)
    assert entropy_amax(hist, 0.5) == 50.0  # fewer non-empty bins than levels: no clipping
    assert entropy_amax(np.zeros(BINS), 1.0) == 0.0
    with pytest.raises(InputFileError, match="unknown calibration method"):
        TensorStats().amax("mse")


def test_stats_round_trip():
    s = _stats(np.random.default_rng(3).normal(size=1000))
    t = TensorStats.from_dict(json.loads(json.dumps(s.to_dict())))
    assert t.amax("entropy") == s.amax("entropy") and t.count == s.count and np.array_equal(t.hist, s.hist)


# ---------------------------------------------------------------- cache


def _cache(model="a" * 64, method="entropy", data="d" * 64):
    stats = {"x": _stats(np.arange(1, 100, dtype=np.float32))}
    key = cache_mod.make_key(model, method, 99.99, data)
    return cache_mod.from_stats(key, stats, {"x": 42.0}, {"split": "train"})


def test_cache_round_trip_and_reuse(tmp_path):
    path = tmp_path / "c.json"
    c = _cache()
    cache_mod.save(path, c)
    back = cache_mod.load(path, "a" * 64)
    assert back.amax == {"x": 42.0} and back.key == c.key and back.key["percentile"] is None
    assert cache_mod.reusable(path, c.key, force=False).amax == {"x": 42.0}
    assert cache_mod.reusable(tmp_path / "none.json", c.key, force=False) is None
    with pytest.raises(OutputExistsError):
        cache_mod.save(path, c)  # no silent overwrite


def test_cache_of_another_model_is_refused(tmp_path):
    path = tmp_path / "c.json"
    cache_mod.save(path, _cache(model="a" * 64))
    with pytest.raises(ModelFormatError, match="another model"):
        cache_mod.load(path, "b" * 64)
    with pytest.raises(ModelFormatError, match="another model"):  # even with force: never silently reused
        cache_mod.reusable(path, _cache(model="b" * 64).key, force=True)


def test_stale_cache_needs_force(tmp_path):
    path = tmp_path / "c.json"
    cache_mod.save(path, _cache(method="entropy"))
    other = _cache(method="minmax").key
    with pytest.raises(OutputExistsError, match="method"):
        cache_mod.reusable(path, other, force=False)
    assert cache_mod.reusable(path, other, force=True) is None  # recalibrate and replace
    other_data = _cache(data="e" * 64).key
    with pytest.raises(OutputExistsError, match="data_fingerprint"):
        cache_mod.reusable(path, other_data, force=False)


@pytest.mark.parametrize("content", ["not json", json.dumps({"format": "other"}),
                                     json.dumps({"format": cache_mod.FORMAT, "format_version": 99}),
                                     json.dumps({"format": cache_mod.FORMAT, "format_version": 1, "ranges": {"x": 1}})])
def test_malformed_caches_are_refused(tmp_path, content):
    path = tmp_path / "c.json"
    path.write_text(content)
    with pytest.raises(ModelFormatError):
        cache_mod.load(path, "a" * 64)
