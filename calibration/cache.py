"""The calibration cache: activation ranges as JSON, keyed by model sha256 + method + data fingerprint.

    {"format": "tsp3d-int8-calibration", "format_version": 1,
     "key": {"model_sha256": ..., "method": "entropy", "percentile": 99.99, "data_fingerprint": ...},
     "data": {"data": ..., "split": "train", "scenes": 32},
     "ranges": {tensor: {"amax": float, "absmax": float, "count": int}}}

A cache is reused when its whole key matches. A cache made for another model is refused (``ModelFormatError``):
its tensor names may coincide while their meaning does not. A cache of the same model with another method or
other data is stale: it is only replaced with ``force``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tsp3d.errors import ModelFormatError, OutputExistsError

FORMAT = "tsp3d-int8-calibration"
FORMAT_VERSION = 1
FILE_NAME = "calibration_cache.json"


@dataclass
class CalibrationCache:
    key: dict
    ranges: dict  # tensor -> {"amax", "absmax", "count"}
    data: dict

    @property
    def amax(self) -> dict[str, float]:
        return {name: float(r["amax"]) for name, r in self.ranges.items()}

    def to_dict(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "key": self.key, "data": self.data,
                "ranges": self.ranges}


def make_key(model_sha256: str, method: str, percentile: float | None, data_fingerprint: str) -> dict:
    return {"model_sha256": model_sha256, "method": method,
            "percentile": float(percentile) if method == "percentile" else None,
            "data_fingerprint": data_fingerprint}


def from_stats(key: dict, stats: dict, amax: dict, data: dict) -> CalibrationCache:
    ranges = {t: {"amax": float(amax[t]), "absmax": float(s.absmax), "count": int(s.count)}
              for t, s in stats.items()}
    return CalibrationCache(key, ranges, data)


def save(path: str | Path, cache: CalibrationCache, force: bool = False) -> Path:
    from tsp3d.utils.atomic import write_json

    return write_json(path, cache.to_dict(), force=force)


def load(path: str | Path, model_sha256: str) -> CalibrationCache:
    """Read a cache and check it was made for the model with ``model_sha256`` (``ModelFormatError`` if not)."""
    path = Path(path)
    try:
        d = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFormatError(f"{path} is not a readable calibration cache: {e}") from e
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise ModelFormatError(f"{path} is not a tsp3d INT8 calibration cache (format {d.get('format')!r})"
                               if isinstance(d, dict) else f"{path} is not a tsp3d INT8 calibration cache")
    if d.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(f"{path}: calibration cache version {d.get('format_version')!r}, this tsp3d reads "
                               f"{FORMAT_VERSION}", hint="recalibrate (delete the cache)")
    key, ranges = d.get("key") or {}, d.get("ranges")
    if not isinstance(ranges, dict) or not all(isinstance(r, dict) and "amax" in r for r in ranges.values()):
        raise ModelFormatError(f"{path}: calibration cache without valid ranges")
    if key.get("model_sha256") != model_sha256:
        raise ModelFormatError(
            f"{path} was made for another model (sha256 {str(key.get('model_sha256'))[:12]}..., this model "
            f"{model_sha256[:12]}...)", hint="calibrate this model (another cache path, or --force to replace it)")
    return CalibrationCache(key, ranges, d.get("data") or {})


def reusable(path: str | Path, key: dict, force: bool) -> CalibrationCache | None:
    """The cache at ``path`` when its key is ``key``; None when there is none or ``force`` replaces a stale one.

    Another model's cache is always an error; a stale one (other method or data) without ``force`` too.
    """
    path = Path(path)
    if not path.exists():
        return None
    cache = load(path, key["model_sha256"])
    if cache.key == key:
        return cache
    if force:
        return None
    diff = [k for k in ("method", "percentile", "data_fingerprint") if cache.key.get(k) != key.get(k)]
    raise OutputExistsError(f"{path} holds a calibration of this model with another {' and '.join(diff)}",
                            hint="pass --force to recalibrate and replace it, or give another --out")
