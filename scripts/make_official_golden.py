"""Record the official TSP3D code's answers as golden fixtures (a developer tool; CI only reads its output).

    .venv/bin/python scripts/make_official_golden.py --official /path/to/TSP3D --out tests/fixtures/official

Needs a checkout of GWxuan/TSP3D (read, never copied; e.g. ``git clone`` or ``git archive HEAD | tar -x``) and the
MinkowskiEngine 0.5.4 CPU build that scripts/setup.sh installs. Steps:
1. scenes from the synthetic benchmark (different sizes, centred on the origin so coordinates are negative too) and
   fixed token features at the text projector's input (768-d, some with padding);
2. weights: the seeded official-layout recipe (bench/official_weights.py) with three biases calibrated on these
   scenes for a realistic workload, each cut placed where the nearest logit is farthest from the threshold;
3. the official model, with forward hooks (bench/official_trace.py), under both CBA conventions: every V1 voxel
   (``all``) and the official 2,400-cap random draw (``cap2400``, recorded so it can be fed to our model);
4. ``manifest.json`` (recipe, digests, counts, decision margins, boxes) and ``data.npz`` (inputs, voxel sets,
   logits at sampled sites). tests/test_official_golden.py compares PyTorch and ONNX Runtime against them.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from tsp3d.bench.official_model import OfficialModel, minkowski_engine
from tsp3d.bench.official_trace import trace_official
from tsp3d.bench.official_weights import CALIBRATED_BIASES, official_checkpoint, seeded_model, weights_digest
from tsp3d.bench.golden import (CBA_CAP, CONVENTIONS, FORMAT, SET_NAMES, decision_margins, keep_thresholds,
                          points_from_quantized, quantize_points, sample_rows, write_fixture)

# (name, synthetic val scene index, points, padding tokens after the sentence's TOKENS)
SCENES = (("room10k", 0, 10_000, 2), ("room20k", 1, 20_000, 0), ("room30k", 2, 30_000, 3), ("room50k", 3, 50_000, 5))
TOKENS = 9
DRAWS = 5  # extra official CBA draws per scene (the protocol's own spread)
# Fraction of each scene's voxels kept (TGP) or confident (CBA), as (low, high): every scene must land in the range
# (one checkpoint for all scenes; random weights shift a scene's logits as a whole), and the cut goes where the
# nearest logit is farthest from the threshold.
TARGETS = {"keep64": (0.05, 0.70), "keep32": (0.30, 0.80), "com": (0.20, 0.70)}


def make_inputs(seed: int) -> list[dict]:
    from tsp3d.data.synth import generate_scene

    rng = np.random.default_rng(seed)
    # One sentence for every scene: random weights shift all keep logits of a scene by a text-dependent offset, and
    # one checkpoint must prune every scene realistically. The padding differs (random values there must not matter).
    sentence = rng.standard_normal((1, TOKENS, 768)).astype(np.float32)
    out = []
    for name, index, n, padded in SCENES:
        scene, _ = generate_scene(index, n, seed=seed)
        pts = np.asarray(scene.points, dtype=np.float64)
        xyz = pts[:, :3] - pts[:, :3].mean(axis=0)  # robot-centred: negative coordinates too
        xyz_q, rgb_q = quantize_points(xyz, pts[:, 3:6])
        feats = np.concatenate([sentence, rng.standard_normal((1, padded, 768)).astype(np.float32)], axis=1)
        mask = np.zeros((1, TOKENS + padded), dtype=bool)
        mask[0, TOKENS:] = True
        out.append({"name": name, "points": points_from_quantized(xyz_q, rgb_q), "tokens": feats, "mask": mask,
                    "xyz_q": xyz_q, "rgb_q": rgb_q})
    return out


def _our_logits(model, scene: dict) -> dict:
    """Our model's keep/CBA logits on ``scene`` with every V1 voxel in CBA (it matches the official code)."""
    pts = torch.from_numpy(scene["points"])
    levels = model.encode_scene(pts)
    probes = {}
    with torch.no_grad():
        model.ground(*levels, torch.from_numpy(scene["tokens"]), torch.from_numpy(scene["mask"]), levels[0], probes)
    return {k: probes[k].numpy() for k in TARGETS}


def best_shift(per_scene: list[np.ndarray], threshold: float, keep_below: bool, target: tuple[float, float]):
    """The bias shift d whose decision ``logit + d <|> threshold`` keeps a fraction within ``target`` of the rows
    of every scene, placed where the nearest logit is farthest from the threshold -> (d, margin, fractions)."""
    flips = [threshold - l.astype(np.float64) for l in per_scene]  # logit + d == threshold at d = flips
    pooled = np.sort(np.concatenate(flips))
    mids, gaps = (pooled[1:] + pooled[:-1]) / 2, pooled[1:] - pooled[:-1]
    ok, fracs = np.ones(mids.size, dtype=bool), []
    for f in flips:
        below = np.searchsorted(np.sort(f), mids) / f.size  # fraction of this scene's flips below d
        fracs.append(1.0 - below if keep_below else below)
        ok &= (fracs[-1] >= target[0]) & (fracs[-1] <= target[1])
    if not ok.any():
        raise RuntimeError(f"no single cut keeps {target[0]:.0%}..{target[1]:.0%} of every scene")
    i = np.flatnonzero(ok)[np.argmax(gaps[ok])]
    return float(mids[i]), float(gaps[i] / 2), [round(float(f[i]), 3) for f in fracs]


def calibrate(seed: int, scenes: list[dict]) -> dict[str, float]:
    """Set the three biases one level at a time (each level's logits depend on the cuts above it)."""
    biases: dict[str, float] = {}
    thresholds = keep_thresholds()
    for probe, key in zip(TARGETS, CALIBRATED_BIASES):
        model = seeded_model(seed, biases)
        bias = float(model.state_dict()[key].reshape(-1)[0])
        threshold, keep_below = thresholds[probe]
        shift, margin, fracs = best_shift([_our_logits(model, s)[probe] for s in scenes], threshold, keep_below,
                                   TARGETS[probe])
        biases[key] = float(np.float32(bias + shift))
        print(f"  {key}: {bias:+.4f} -> {biases[key]:+.4f} (margin {margin:.2e} on our model, fractions {fracs})",
              flush=True)
    return biases


def _official_commit(checkout: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return (checkout / ".commit").read_text().strip() if (checkout / ".commit").is_file() else "unknown"


def record(official: Path, out: Path, seed: int, force: bool) -> None:
    ME = minkowski_engine()
    torch.set_num_threads(1)
    scenes = make_inputs(seed)
    print("calibrating the pruning biases on our model", flush=True)
    biases = calibrate(seed, scenes)
    ckpt = official_checkpoint(seed, biases)
    model = OfficialModel(official, ckpt["model"])
    manifest = {"format": FORMAT, "official_commit": _official_commit(official), "minkowskiengine": ME.__version__,
                "torch": torch.__version__, "seed": seed, "biases": biases,
                "weights_sha256": weights_digest(ckpt["model"]), "cba_cap": CBA_CAP, "scenes": []}
    arrays: dict[str, np.ndarray] = {}
    for s in scenes:
        print(f"official model on {s['name']} ({len(s['points'])} points)", flush=True)
        entry = {"name": s["name"], "points": int(len(s["points"])), "tokens": int(s["mask"].shape[1]),
                 "padded_tokens": int(s["mask"].sum()), "conventions": {}}
        for k in ("xyz_q", "rgb_q", "tokens", "mask"):
            arrays[f"{s['name']}/{k}"] = s[k]
        for conv in CONVENTIONS:
            trace = trace_official(model, s["points"], s["tokens"], s["mask"], "all" if conv == "all" else CBA_CAP,
                                   seed=seed)
            entry["conventions"][conv] = _summary(trace)
            _store(arrays, f"{s['name']}/{conv}", trace, levels=(conv == CONVENTIONS[0]), prefix=s["name"])
        entry["cap2400_draws"] = _draws(model, s, seed)
        manifest["scenes"].append(entry)
    write_fixture(out, manifest, arrays, force=force)
    print(f"wrote {out}/manifest.json and data.npz ({(out / 'data.npz').stat().st_size / 1e6:.2f} MB)")


def _draws(model, scene: dict, seed: int) -> list[dict]:
    """The official protocol is random: its top-1 box over ``DRAWS`` more CBA draws (other seeds), to tell how far
    apart two official evaluations of one scene land."""
    out = []
    for k in range(1, DRAWS + 1):
        t = trace_official(model, scene["points"], scene["tokens"], scene["mask"], CBA_CAP, seed=seed + k)
        out.append({"seed": seed + k, "center": t["center"].tolist(), "size": t["size"].tolist(),
                    "final": int(len(t["final"]))})
    return out


def _summary(trace: dict) -> dict:
    counts = {name: int(len(trace[name])) for name in SET_NAMES}
    counts["v0"] = int(len(trace["v0_coords"]))
    return {"counts": counts, "margins": decision_margins(trace), "top1_site": trace["top1_site"].tolist(),
            "center": trace["center"].tolist(), "size": trace["size"].tolist(), "score": float(trace["score"])}


def _store(arrays: dict, key: str, trace: dict, levels: bool, prefix: str) -> None:
    """Sets in full; logits in full where small (keep, com), at sampled rows for cls; level features sampled."""
    for name in SET_NAMES:
        arrays[f"{key}/{name}"] = trace[name]
    for name in ("keep64", "keep32", "com"):
        arrays[f"{key}/{name}"] = trace[name].astype(np.float32)
    rows = sample_rows(trace["cls"], 480, top=32)
    arrays[f"{key}/cls_rows"], arrays[f"{key}/cls"] = rows, trace["cls"][rows].astype(np.float32)
    for name in ("center", "size", "score", "top1_site"):
        arrays[f"{key}/{name}"] = np.asarray(trace[name])
    if levels:
        for i in range(4):
            coords, feats = trace[f"v{i}_coords"], trace[f"v{i}_feats"]
            rows = sample_rows(None, 32, n=len(coords))
            arrays[f"{prefix}/v{i}_coords"] = coords
            arrays[f"{prefix}/v{i}_rows"], arrays[f"{prefix}/v{i}_feats"] = rows, feats[rows].astype(np.float32)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--official", type=Path, required=True, help="checkout of GWxuan/TSP3D")
    ap.add_argument("--out", type=Path, default=Path("tests/fixtures/official"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--force", action="store_true", help="overwrite an existing fixture")
    args = ap.parse_args(argv)
    record(args.official, args.out, args.seed, args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
