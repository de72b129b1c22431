"""Range observers for symmetric INT8: one ``TensorStats`` per tensor, three ways to turn it into a clipping range.

Quantization is symmetric (zero point 0, docs/opset.md ``SparseConvInt8``), so only ``|x|`` matters. A tensor's
statistics are its exact absolute maximum plus a histogram of ``|x|`` with ``BINS`` bins over ``[0, width * BINS)``.
The histogram is built in one pass: when a batch exceeds the current range the bin width doubles and adjacent
bins merge, which is exact (no re-binning error), so the final resolution is between ``max/BINS`` and
``2 max/BINS``. Exact zeros are counted apart (they are exact at every scale).

Methods (``amax`` = the clipping range; ``scale = amax / 127``):
- ``minmax``: the absolute maximum (no clipping; outliers stretch the scale).
- ``percentile``: the ``percentile``-th percentile of ``|x|`` (default 99.99), read from the histogram.
- ``entropy``: TensorRT-style KL calibration: the threshold whose 128-level quantized distribution is closest
  (smallest KL divergence) to the reference distribution clipped at that threshold.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tsp3d.errors import InputFileError

BINS = 2048
QMAX = 127  # symmetric int8: [-127, 127] carries the range (-128 only by saturation)
LEVELS = QMAX + 1  # quantized levels of |x|: 0..127
METHODS = ("minmax", "entropy", "percentile")
DEFAULT_PERCENTILE = 99.99
ENTROPY_START = LEVELS  # the smallest candidate threshold, in bins


@dataclass
class TensorStats:
    """Absolute maximum and ``|x|`` histogram of one tensor over every calibration batch."""

    absmax: float = 0.0
    count: int = 0
    width: float | None = None  # bin width; None until a non-zero value was seen
    hist: np.ndarray = field(default_factory=lambda: np.zeros(BINS, dtype=np.int64))
    nonfinite: int = 0  # NaN/Inf values seen (excluded from the statistics)
    zeros: int = 0  # exact zeros (ReLU outputs): outside the histogram, see ``update``

    def update(self, x: np.ndarray) -> None:
        a = np.abs(np.asarray(x, dtype=np.float32).ravel())
        finite = np.isfinite(a)
        if not finite.all():
            self.nonfinite += int((~finite).sum())
            a = a[finite]
        if a.size == 0:
            return
        self.count += int(a.size)
        # Exact zeros are exact at every scale, so they say nothing about the range; kept out of the histogram
        # they cannot dominate the entropy search (a ReLU output's spike at 0 would drag the threshold down).
        nz = a != 0
        self.zeros += int(a.size - nz.sum())
        a = a[nz]
        if a.size == 0:
            return
        top = float(a.max())
        self.absmax = max(self.absmax, top)
        if self.width is None:
            self.width = top / BINS
        while top >= self.width * BINS:  # double the width: merge bin pairs, exactly
            self.hist = np.concatenate([self.hist.reshape(-1, 2).sum(axis=1), np.zeros(BINS // 2, np.int64)])
            self.width *= 2.0
        idx = np.minimum((a / self.width).astype(np.int64), BINS - 1)
        self.hist += np.bincount(idx, minlength=BINS)

    def amax(self, method: str, percentile: float = DEFAULT_PERCENTILE) -> float:
        """The clipping range of ``method`` (0.0 for a tensor that was always zero or never seen)."""
        if method not in METHODS:
            raise InputFileError(f"unknown calibration method {method!r}", hint=f"choose one of {', '.join(METHODS)}")
        if self.width is None or self.absmax == 0.0:
            return 0.0
        if method == "minmax":
            return self.absmax
        if method == "percentile":  # of all values, zeros included
            hist = self.hist.copy()
            hist[0] += self.zeros
            return min(self.absmax, percentile_amax(hist, self.width, percentile))
        return min(self.absmax, entropy_amax(self.hist, self.width))

    def to_dict(self) -> dict:
        return {"absmax": self.absmax, "count": self.count, "width": self.width, "nonfinite": self.nonfinite,
                "zeros": self.zeros, "hist": self.hist.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "TensorStats":
        hist = np.asarray(d["hist"], dtype=np.int64)
        if hist.shape != (BINS,):
            raise ValueError(f"histogram of {hist.shape[0]} bins, expected {BINS}")
        return cls(float(d["absmax"]), int(d["count"]), None if d["width"] is None else float(d["width"]), hist,
                   int(d.get("nonfinite", 0)), int(d.get("zeros", 0)))


def percentile_amax(hist: np.ndarray, width: float, percentile: float) -> float:
    """The upper edge of the bin where the cumulative count first reaches ``percentile`` % of all values."""
    if not 0.0 < percentile <= 100.0:
        raise InputFileError(f"percentile must be in (0, 100], got {percentile}")
    cum = np.cumsum(hist)
    target = cum[-1] * percentile / 100.0
    b = int(np.searchsorted(cum, target, side="left"))
    return float((min(b, len(hist) - 1) + 1) * width)


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) of two unnormalised histograms; q is non-zero wherever p is (by construction)."""
    p = p / p.sum()
    q = q / q.sum()
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / q[nz])))


def entropy_amax(hist: np.ndarray, width: float, start: int = ENTROPY_START) -> float:
    """Threshold (in ``|x|`` units) minimising KL(reference || quantized), candidates ``start..BINS`` bins.

    For a candidate of ``i`` bins: the reference is ``hist[:i]`` with every count beyond folded into the last bin
    (clipping); the quantized version merges the ``i`` bins into ``LEVELS`` groups and spreads each group's total
    evenly over the group's non-empty bins (empty bins stay empty: they cannot be represented either way).
    """
    hist = np.asarray(hist, dtype=np.float64)
    n = len(hist)
    nonzero = np.flatnonzero(hist)
    if nonzero.size == 0:
        return 0.0
    last = int(nonzero[-1]) + 1
    if last <= start:  # the data fits in fewer bins than levels: no clipping can help
        return float(last * width)
    suffix = np.concatenate([np.cumsum(hist[::-1])[::-1], [0.0]])  # suffix[i] = sum(hist[i:])
    best_i, best_kl = n, np.inf
    for i in range(start, min(n, last) + 1):
        ref = hist[:i].copy()
        ref[i - 1] += suffix[i]
        group = np.minimum((np.arange(i) * LEVELS) // i, LEVELS - 1)
        sums = np.bincount(group, weights=hist[:i], minlength=LEVELS)
        used = np.bincount(group, weights=(hist[:i] > 0).astype(np.float64), minlength=LEVELS)
        per_bin = np.divide(sums, used, out=np.zeros_like(sums), where=used > 0)
        cand = np.where(hist[:i] > 0, per_bin[group], 0.0)
        if cand.sum() <= 0:
            continue
        # The folded tail makes ref[i-1] > 0 where cand may be 0: give that bin the tail (standard practice).
        if cand[i - 1] == 0 and ref[i - 1] > 0:
            cand[i - 1] = ref[i - 1]
        kl = _kl(ref, cand)
        if kl < best_kl:
            best_kl, best_i = kl, i
    return float(best_i * width)
