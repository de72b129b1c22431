"""Official golden fixtures: their format, and the comparison of our runtimes against them.

Written by scripts/make_official_golden.py from the official code; read by tests/test_official_golden.py (CI, no
official code needed). A fixture directory holds ``manifest.json`` and ``data.npz`` (keys ``<scene>/<array>`` for
inputs and backbone levels, ``<scene>/<convention>/<array>`` for the head).

Comparison rules (the official code is the authority):
* voxel sets are compared as sets of sites (ME returns rows in hash order): identical, or a failure that names
  the stage, the sizes and the decision margin (the smallest |logit - threshold| the official run had there, so a
  decision flipped by float reordering is told apart from a bug);
* logits and features by site, as the scaled error max|a - b| / max|b| <= ``SCALED_TOL``;
* the same top-1 voxel, and its box within ``BOX_TOL_M`` metres.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from tsp3d.utils.atomic import atomic_dir

FORMAT = "tsp3d-official-golden/1"
CONVENTIONS = ("all", "cap2400")  # every V1 voxel enters CBA; the official 2,400-cap random draw
CBA_CAP = 2400
SET_NAMES = ("tgp64_kept", "up32", "tgp32_kept", "up16", "cba_sample", "cba_confident", "final")
LOGITS = {"keep64": "v3", "keep32": "up32", "com": "cba_sample"}  # logit -> the set its rows follow
SCALED_TOL = 1e-4
BOX_TOL_M = 1e-5


def keep_thresholds() -> dict[str, tuple[float, bool]]:
    """Decision thresholds in logit space -> (threshold, keep_below), from the official configuration.

    TGP keeps a voxel iff 1 - sigmoid(logit) > t (t = 0.7 at 64 cm, 0.3 at 32 cm); CBA adds it iff
    sigmoid(logit) > 0.15."""
    from tsp3d.convert_official import official_config

    h = official_config().head

    def logit(p: float) -> float:
        return math.log(p / (1.0 - p))

    return {"keep64": (logit(1.0 - h.tgp_keep_threshold[0]), True),
            "keep32": (logit(1.0 - h.tgp_keep_threshold[1]), True), "com": (logit(h.cba_threshold), False)}


def decision_margins(values: dict) -> dict[str, float]:
    """The smallest |logit - threshold| per decision, and the top-1 lead (best minus second cls logit)."""
    out = {name: float(np.min(np.abs(values[name].astype(np.float64) - t)))
           for name, (t, _) in keep_thresholds().items()}
    cls = np.sort(values["cls"].astype(np.float64))
    out["top1"] = float(cls[-1] - cls[-2]) if cls.size > 1 else float("inf")
    return out


def sample_rows(values, k: int, top: int = 0, n: int | None = None) -> np.ndarray:
    """Sorted unique rows: ``k`` evenly spread over ``n`` (or ``len(values)``) plus the ``top`` largest values."""
    n = len(values) if n is None else n
    rows = set(np.linspace(0, n - 1, num=min(k, n)).round().astype(int).tolist())
    if top and values is not None:
        rows |= set(np.argsort(values)[-top:].tolist())
    return np.array(sorted(rows), dtype=np.int32)


# Points are stored quantized so that the fixture stays small and the float32 inputs rebuild exactly on every
# machine: xyz in units of 2^-12 m (int16: +-8 m), colours as rgb_u8 / 256 (the official colour convention).
XYZ_STEP = 2.0 ** -12


def quantize_points(xyz, rgb) -> tuple:
    """(int16 xyz, uint8 rgb) of float xyz (m) and rgb in [0, 1]; either may be None."""
    q_xyz = None if xyz is None else np.round(np.asarray(xyz, np.float64) / XYZ_STEP)
    if q_xyz is not None and np.abs(q_xyz).max() > 32767:
        raise ValueError("golden scenes must fit in +-8 m of the origin")
    q_rgb = None if rgb is None else np.clip(np.round(np.asarray(rgb, np.float64) * 256.0), 0, 255)
    return (None if q_xyz is None else q_xyz.astype(np.int16)), (None if q_rgb is None else q_rgb.astype(np.uint8))


def points_from_quantized(xyz_q: np.ndarray, rgb_q: np.ndarray) -> np.ndarray:
    """The float32 ``[N, 6]`` points (exact: every value is a small integer times a power of two)."""
    return np.concatenate([xyz_q.astype(np.float32) * np.float32(XYZ_STEP),
                           rgb_q.astype(np.float32) / np.float32(256.0)], axis=1)


def scene_points(fx: dict, scene: str) -> np.ndarray:
    return points_from_quantized(fx[f"{scene}/xyz_q"], fx[f"{scene}/rgb_q"])


def write_fixture(out: Path, manifest: dict, arrays: dict, force: bool = False) -> None:
    with atomic_dir(out, force=force) as tmp:
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        np.savez_compressed(tmp / "data.npz", **arrays)


def load_fixture(path: Path) -> tuple[dict, dict]:
    manifest = json.loads((Path(path) / "manifest.json").read_text())
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} fixture")
    with np.load(Path(path) / "data.npz") as data:
        return manifest, {k: data[k] for k in data.files}


# ---------------------------------------------------------------- comparison


def site_keys(coords: np.ndarray) -> np.ndarray:
    c = np.asarray(coords, dtype=np.int64).reshape(-1, 4)
    return (c[:, 0] << 48) | ((c[:, 1] + 32768) << 32) | ((c[:, 2] + 32768) << 16) | (c[:, 3] + 32768)


def by_site(coords: np.ndarray, values: np.ndarray, sites: np.ndarray) -> np.ndarray:
    """``values`` (rows of ``coords``) at ``sites``; a site not in ``coords`` is an error."""
    keys, want = site_keys(coords), site_keys(sites)
    order = np.argsort(keys)
    pos = np.searchsorted(keys[order], want)
    pos = np.minimum(pos, len(keys) - 1)
    found = keys[order][pos] == want
    if not found.all():
        raise AssertionError(f"{int((~found).sum())} expected sites are missing")
    return np.asarray(values)[order][pos]


def scaled_error(ours: np.ndarray, ref: np.ndarray) -> float:
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    scale = np.abs(ref).max() if ref.size else 0.0
    err = np.abs(ours - ref).max() if ref.size else 0.0
    return float(err / scale) if scale > 0 else float(err)


def compare_sets(ours: np.ndarray, ref: np.ndarray) -> dict:
    a, b = site_keys(ours), site_keys(ref)
    return {"ours": int(np.unique(a).size), "official": int(np.unique(b).size),
            "only_ours": int(np.setdiff1d(a, b).size), "only_official": int(np.setdiff1d(b, a).size)}


def _set_ok(r: dict) -> bool:
    return r["only_ours"] == 0 and r["only_official"] == 0


def compare_levels(ours: dict, fx: dict, scene: str, levels=(1, 2, 3)) -> dict:
    """Backbone levels: ``ours`` has ``v{i}_coords`` / ``v{i}_feats`` -> per level the set and feature error."""
    out = {}
    for i in levels:
        ref = fx[f"{scene}/v{i}_coords"]
        r = compare_sets(ours[f"v{i}_coords"], ref)
        if _set_ok(r):
            sites = ref[fx[f"{scene}/v{i}_rows"]]
            r["feats_scaled_err"] = scaled_error(by_site(ours[f"v{i}_coords"], ours[f"v{i}_feats"], sites),
                                                 fx[f"{scene}/v{i}_feats"])
        out[f"v{i}"] = r
    return out


def compare_head(ours: dict, fx: dict, scene: str, conv: str) -> dict:
    """The head against one (scene, convention): ``ours`` holds the probes (PROBE_NAMES), ``v3`` (V3 coords) and
    ``center``/``size``/``score``. Logits are compared where their set matches."""
    key = f"{scene}/{conv}"
    sets = {name: compare_sets(ours[name], fx[f"{key}/{name}"]) for name in SET_NAMES}
    coords_of = {"v3": (ours["v3"], fx[f"{scene}/v3_coords"]), **{n: (ours[n], fx[f"{key}/{n}"]) for n in SET_NAMES}}
    logits = {}
    for name, set_name in LOGITS.items():
        mine, ref = coords_of[set_name]
        if set_name == "v3" or _set_ok(sets[set_name]):
            logits[name] = scaled_error(by_site(mine, ours[name], ref), fx[f"{key}/{name}"])
    if _set_ok(sets["final"]):
        sites = fx[f"{key}/final"][fx[f"{key}/cls_rows"]]
        logits["cls"] = scaled_error(by_site(ours["final"], ours["cls"], sites), fx[f"{key}/cls"])
    top1 = np.asarray(ours["final"])[int(np.asarray(ours["top1"]).reshape(-1)[0])]
    return {"sets": sets, "logits": logits, "top1_same": bool(np.array_equal(top1, fx[f"{key}/top1_site"])),
            "center_err_m": float(np.abs(np.asarray(ours["center"], np.float64) - fx[f"{key}/center"]).max()),
            "size_err_m": float(np.abs(np.asarray(ours["size"], np.float64) - fx[f"{key}/size"]).max()),
            "score_err": float(abs(float(ours["score"]) - float(fx[f"{key}/score"])))}


def failures(report: dict, margins: dict) -> list[str]:
    """What in a ``compare_head``/``compare_levels`` report breaks the rules (empty = pass)."""
    bad = [f"{name}: {r['only_ours']} sites only ours, {r['only_official']} only official "
           f"({r['ours']} vs {r['official']}; official decision margins {margins})"
           for name, r in report.get("sets", report).items() if isinstance(r, dict) and "only_ours" in r
           and not _set_ok(r)]
    errs = dict(report.get("logits", {}))
    errs.update({f"{k}.feats": r["feats_scaled_err"] for k, r in report.items()
                 if isinstance(r, dict) and "feats_scaled_err" in r})
    bad += [f"{k}: scaled error {v:.2e} > {SCALED_TOL:g}" for k, v in errs.items() if not v <= SCALED_TOL]
    if "top1_same" in report:
        if not report["top1_same"]:
            bad.append(f"top-1 voxel differs (official top-1 lead {margins.get('top1')})")
        for k in ("center_err_m", "size_err_m"):
            if not report[k] <= BOX_TOL_M:
                bad.append(f"{k} {report[k]:.2e} > {BOX_TOL_M:g} m")
    return bad
