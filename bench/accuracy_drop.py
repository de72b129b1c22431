"""Verdicts on an accuracy drop (FP16, INT8 against the FP32 reference) that mean something.

    v = judge_drop(ref_hits, test_hits, oracle_acc=0.425, bound=0.01)     # hits: per-sample booleans, same order
    v["status"]   # "PASS", "MISS" or "NOT JUDGED" (v["reason"] says why)

A drop is judged only when it can carry information:
* on at least ``MIN_SAMPLES`` samples (with 100, one sample is a point of accuracy);
* when the FP32 reference scores at least the class-only oracle (``tsp3d.data.baselines``: pick an object of the
  target's class at random) on the same samples: below it the model does not read the sentence, its top scores are
  close together, and a precision change moves hits and misses that were luck either way.
The drop (reference minus test, as a fraction) is reported with a 95 % confidence interval from a paired bootstrap
over the samples (both runtimes' hits resampled together, so the CI reflects only the samples where they differ).
The verdict compares the point estimate with the bound; the CI is shown beside it.
"""
from __future__ import annotations

import numpy as np

MIN_SAMPLES = 500
BOOTSTRAP = 10_000
CONFIDENCE = 0.95


def paired_bootstrap_ci(ref_hits, test_hits, resamples: int = BOOTSTRAP, confidence: float = CONFIDENCE,
                        seed: int = 0) -> tuple[float, float]:
    """Percentile CI of mean(ref) - mean(test) over ``resamples`` paired resamples of the samples."""
    ref = np.asarray(ref_hits, dtype=np.float64)
    test = np.asarray(test_hits, dtype=np.float64)
    if ref.shape != test.shape or ref.ndim != 1 or ref.size == 0:
        raise ValueError(f"need two equal-length, non-empty hit vectors, got {ref.shape} and {test.shape}")
    diff = ref - test
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for start in range(0, resamples, 1000):  # in blocks: bounded memory for any sample count
        k = min(1000, resamples - start)
        idx = rng.integers(0, diff.size, size=(k, diff.size))
        means[start:start + k] = diff[idx].mean(axis=1)
    alpha = (1.0 - confidence) / 2
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def judge_drop(ref_hits, test_hits, oracle_acc: float | None, bound: float, min_samples: int = MIN_SAMPLES,
               seed: int = 0) -> dict:
    """Verdict on ``mean(ref_hits) - mean(test_hits) <= bound`` (fractions), or "NOT JUDGED" with the reason."""
    ref = np.asarray(ref_hits, dtype=bool)
    test = np.asarray(test_hits, dtype=bool)
    n = int(ref.size)
    ref_acc, test_acc = float(ref.mean()) if n else None, float(test.mean()) if n else None
    out = {"samples": n, "reference_acc": ref_acc, "test_acc": test_acc, "oracle_acc": oracle_acc,
           "bound": bound, "drop": None, "ci95": None, "discordant": int((ref != test).sum()) if n else 0}
    if n:
        out["drop"] = ref_acc - test_acc
        out["ci95"] = list(paired_bootstrap_ci(ref, test, seed=seed))
    if n < min_samples:
        return {**out, "status": "NOT JUDGED", "reason": f"{n} samples, fewer than {min_samples}"}
    if oracle_acc is None:
        return {**out, "status": "NOT JUDGED", "reason": "no class-only oracle for these samples"}
    if ref_acc < oracle_acc:
        return {**out, "status": "NOT JUDGED",
                "reason": f"the FP32 reference scores {100 * ref_acc:.1f} %, below the class-only oracle "
                          f"({100 * oracle_acc:.1f} %) on these samples: it does not read the sentence"}
    return {**out, "status": "PASS" if out["drop"] <= bound else "MISS", "reason": ""}


def describe(v: dict) -> str:
    """One line: the drop in points with its CI, and the verdict's reason when not judged."""
    if v.get("drop") is None:
        return f"{v['status']}: {v.get('reason', '')}"
    lo, hi = v["ci95"]
    text = (f"drop {100 * v['drop']:+.2f} points (95 % CI {100 * lo:+.2f} to {100 * hi:+.2f}; {v['samples']} "
            f"samples, {v['discordant']} differ; reference {100 * v['reference_acc']:.1f} %, class-only oracle "
            + ("-" if v.get("oracle_acc") is None else f"{100 * v['oracle_acc']:.1f} %") + ")")
    return text + (f"; not judged: {v['reason']}" if v["status"] == "NOT JUDGED" else "")
