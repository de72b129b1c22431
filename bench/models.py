"""The models the benchmarks run: randomly initialised ``base`` / ``tiny`` with realistic pruning, and their bundles.

Latency needs no training, but a random head prunes almost everything; ``tsp3d.bench.model_measure.calibrate_biases``
shifts the TGP-1 / TGP-2 / CBA biases so that 30 % / 60 % / 25 % of the voxels pass, the workload of a trained
model, on the 50k-point benchmark room with its sentence. Capacities are raised (``BENCH_CAPACITIES``) so that one
model serves every scene size of the suite (10k..200k points) and the no-pruning run; capacities are bounds only,
they do not change the computation.

Checkpoints and bundles are cached under ``cache_dir`` (default ``build/bench``), keyed by the config, the seed,
the scene size and a hash of the model/sparse/export sources: a changed model or exporter makes a new entry (and
the entry it replaces is removed).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tsp3d.bench.scenes import floor_scene, room_scene, save_inputs, text_input

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = REPO / "build" / "bench"
CALIBRATION_POINTS = 50_000
PRUNE_FRACTIONS = (0.3, 0.6, 0.25)  # TGP-1, TGP-2, CBA: the spec's measurement workload (see measure.py)
BENCH_CAPACITIES = {"max_points": 250_000, "voxels_s1": 250_000, "voxels_s2": 250_000, "voxels_s4": 250_000,
                    "voxels_s8": 131_072, "voxels_s16": 65_536, "voxels_s32": 32_768, "voxels_s64": 16_384,
                    "up_s32": 131_072, "up_s16": 1_048_576, "final_s16": 1_048_576 + 4_096}
# The scaling floors (up to 32 x 30 m, 1.2M points; tsp3d.data.synth.multiroom at its default density): measured
# level sizes of the largest with ~15 % headroom; up_s32 also holds the upsampling of every 64 cm voxel (91.5k).
FLOOR_CAPACITIES = {"max_points": 1_400_000, "voxels_s1": 1_400_000, "voxels_s2": 1_300_000, "voxels_s4": 1_000_000,
                    "voxels_s8": 560_000, "voxels_s16": 200_000, "voxels_s32": 50_000, "voxels_s64": 12_000,
                    "up_s32": 131_072, "up_s16": 1_048_576, "final_s16": 1_048_576 + 4_096}
CALIBRATION_FLOOR = (8.0, 6.0)  # metres: the floor the scaling model's pruning biases are calibrated on
_SOURCES = ("tsp3d/model", "tsp3d/sparse", "tsp3d/configs", "export", "bench/models.py")


@dataclass
class BenchModel:
    config: str
    checkpoint: Path
    inputs: Path  # .npz: the room the biases were calibrated on + its sentence's text features
    sentence: str
    text_source: str
    calibration: dict

    def to_dict(self) -> dict:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


def source_hash() -> str:
    h = hashlib.sha256()
    for rel in _SOURCES:
        p = REPO / rel
        for f in sorted(p.rglob("*") if p.is_dir() else [p]):
            if f.is_file() and f.suffix in (".py", ".json"):
                h.update(str(f.relative_to(REPO)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _config(name: str, capacities: dict = BENCH_CAPACITIES):
    import dataclasses

    from tsp3d.model.config import load_config

    cfg = load_config(name)
    caps = dict(capacities, final_s16=capacities["up_s16"] + cfg.head.cba_samples)
    return cfg.replace(capacities=dataclasses.replace(cfg.capacities, **caps))


def prepare(config: str, cache_dir: Path | None = None, seed: int = 0,
            points: int = CALIBRATION_POINTS, floor: tuple[float, float] | None = None) -> BenchModel:
    """The random-init checkpoint of ``config`` with biases calibrated on the ``points``-point room (cached), or,
    with ``floor`` = (width, depth), on that multi-room floor with ``FLOOR_CAPACITIES`` (the scaling model)."""
    tag = f"p{points // 1000}k" if floor is None else f"floor{floor[0]:g}x{floor[1]:g}"
    root = Path(cache_dir or DEFAULT_CACHE) / f"{config}-s{seed}-{tag}-{source_hash()}"
    info_path = root / "model.json"
    if info_path.is_file():
        info = json.loads(info_path.read_text())
        if Path(info["checkpoint"]).is_file() and Path(info["inputs"]).is_file():
            return BenchModel(**{**info, "checkpoint": Path(info["checkpoint"]), "inputs": Path(info["inputs"])})
    for stale in root.parent.glob(f"{config}-s{seed}-{tag}-*"):  # made from older sources
        if stale != root:
            shutil.rmtree(stale, ignore_errors=True)
    import torch

    from tsp3d.checkpoint import save_checkpoint
    from tsp3d.model import TSP3D
    from tsp3d.bench.model_measure import calibrate_biases
    from tsp3d.sparse import backend as sparse_backend

    root.mkdir(parents=True, exist_ok=True)
    cfg = _config(config, BENCH_CAPACITIES if floor is None else FLOOR_CAPACITIES)
    points, sentence = room_scene(points, seed) if floor is None else floor_scene(*floor, seed)
    n_points = int(points.shape[0])
    text = text_input(cfg.text_encoder, cfg.text_dim, sentence)
    inputs = save_inputs(root / (f"inputs_{n_points // 1000}k.npz" if floor is None else f"inputs_{tag}.npz"),
                         points, text)
    torch.manual_seed(seed)
    model = TSP3D(cfg).eval()
    old = sparse_backend.get_backend()
    sparse_backend.set_backend("cpp" if sparse_backend.cpp_available() else "reference")
    t0 = time.perf_counter()
    try:
        args = (torch.from_numpy(points), torch.from_numpy(text["feats"]), torch.from_numpy(text["mask"]))
        with stop_after_logits(model):
            calibrate_biases(model, *args, PRUNE_FRACTIONS)
        counts = model.predict(*args).counts
    finally:
        sparse_backend.set_backend(old)
    calibration = {"fractions": list(PRUNE_FRACTIONS), "points": n_points, "seconds":
                   time.perf_counter() - t0, "counts": counts, "floor": list(floor) if floor else None}
    ckpt = save_checkpoint(root / "model.pt", model, meta={"bench": calibration}, force=True)
    bm = BenchModel(config, ckpt, inputs, sentence, text["source"], calibration)
    info_path.write_text(json.dumps(bm.to_dict(), indent=1))
    return bm


class _Stop(Exception):
    pass


@contextlib.contextmanager
def stop_after_logits(model):
    """Make each of ``calibrate_biases``' three head runs stop once the logits it calibrates are computed (the
    rest of the head is not needed, and on a 1M-point floor an uncalibrated head takes minutes): a pre-hook on the
    block after keep64 / keep32 / com_cls ends stage 1 / 2 / 3."""
    head, stage = model.head, {"i": 0}
    stops = [head.lateral_block_2, head.lateral_block_1, head.lateral_block_0]

    def pre(module, _inputs):
        if stage["i"] < len(stops) and module is stops[stage["i"]]:
            raise _Stop

    handles = [m.register_forward_pre_hook(pre) for m in stops]
    ground = model.ground

    def stopping_ground(*args):
        try:
            return ground(*args)
        except _Stop:
            stage["i"] += 1

    model.ground = stopping_ground
    try:
        yield
    finally:
        del model.ground
        for h in handles:
            h.remove()


def bench_inputs(model: BenchModel, points: int, seed: int = 0) -> Path:
    """Inputs at another point count: the same room, denser or sparser, with the same sentence features."""
    import numpy as np

    path = model.inputs.with_name(f"inputs_{points // 1000}k.npz")
    if path == model.inputs:
        return path
    if not path.is_file():
        pts, _ = room_scene(points, seed)
        with np.load(model.inputs) as z:
            text = {"feats": z["text_feats"], "mask": z["text_mask"]}
        save_inputs(path, pts, text)
    return path


def floor_inputs(model: BenchModel, width: float, depth: float, seed: int = 0) -> Path:
    """Inputs of a ``width`` x ``depth`` m floor with the model's sentence features (cached beside the model)."""
    import numpy as np

    path = model.inputs.with_name(f"inputs_floor{width:g}x{depth:g}.npz")
    if not path.is_file():
        pts, _ = floor_scene(width, depth, seed)
        with np.load(model.inputs) as z:
            text = {"feats": z["text_feats"], "mask": z["text_mask"]}
        save_inputs(path, pts, text)
    return path


def export(model: BenchModel, fp16: bool = True, reuse: bool = False) -> dict:
    """Export ``model`` (FP32 + FP16 graphs, no text encoder: the benchmarks feed text features) next to its
    checkpoint; returns {bundle, seconds, cached}. ``reuse`` keeps a bundle already there (its export time is then
    the one recorded when it was made)."""
    from tsp3d.bundle import export_bundle

    out = model.checkpoint.parent / ("bundle_fp16" if fp16 else "bundle")
    record = out.with_name(out.name + ".export.json")  # beside the bundle: the bundle itself stays as exported
    if reuse and (out / "manifest.json").is_file() and record.is_file():
        return {"bundle": out, "seconds": json.loads(record.read_text())["seconds"], "cached": True}
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    export_bundle(model.checkpoint, out, fp16=fp16, text_encoder=False, self_check=False, force=True)
    seconds = time.perf_counter() - t0
    record.write_text(json.dumps({"seconds": seconds}))
    return {"bundle": out, "seconds": seconds, "cached": False}
