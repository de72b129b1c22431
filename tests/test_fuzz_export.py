"""Fuzz: random scenes of random size and shape, and random sentences, through the exported tiny bundle on ONNX
Runtime. Checks: no crash (the only error a valid scene may meet is a ``CapacityError``), no NaN/Inf in any
output, every count within its recorded capacity, and — on a copy of the bundle whose capacities are 4-64x smaller —
capacity errors raised exactly where PyTorch (same capacities) raises them, identical counts everywhere else: a
runtime that truncated a set instead of failing would disagree.

Scenes are drawn from a fixed seed (the same cases every run); ``TSP3D_FUZZ_SCENES`` sets how many.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import string

import numpy as np
import onnx
import pytest

from test_export_shared import needs_ort, room_points, scratch, shared_bundle, tiny_checkpoint
from tsp3d.errors import CapacityError, InputFileError

pytestmark = [pytest.mark.slow, needs_ort]

SCENES = int(os.environ.get("TSP3D_FUZZ_SCENES", "16"))  # per test; ONNX Runtime alone runs 3x as many
SEED = 20251129
TEXT_DIM = 32


def random_scene(rng: np.random.Generator) -> tuple[str, np.ndarray]:
    """One of several scene shapes, 1..20000 points (the tiny model's max_points), colours in [0, 1]."""
    kind = rng.choice(["room", "box", "line", "plane", "clusters", "one_voxel", "duplicates", "lattice", "single"])
    n = int(np.exp(rng.uniform(0, np.log(20_000)))) if rng.random() < 0.5 else int(rng.integers(2_000, 20_001))
    if kind == "room":
        return kind, room_points(max(n, 2), seed=int(rng.integers(1 << 30)))
    if kind == "single":
        xyz = rng.uniform(-300, 300, (1, 3))
    elif kind == "box":
        xyz = rng.uniform(-1, 1, (n, 3)) * rng.uniform(0.05, 30, 3)
    elif kind == "line":
        xyz = np.outer(rng.uniform(-20, 20, n), rng.normal(size=3))
    elif kind == "plane":
        xyz = np.c_[rng.uniform(-8, 8, (n, 2)), np.zeros(n)]
    elif kind == "clusters":  # two rooms far apart: a sparse scene spanning ~500 m
        xyz = rng.uniform(-2, 2, (n, 3)) + np.where(rng.random((n, 1)) < 0.5, -250.0, 250.0)
    elif kind == "one_voxel":
        xyz = rng.uniform(0.0, 0.0099, (n, 3)) + 1.0
    elif kind == "duplicates":
        xyz = np.repeat(rng.uniform(-3, 3, (1 + n // 50, 3)), 50, axis=0)[:n]
    else:  # points exactly on voxel boundaries
        xyz = rng.integers(-300, 300, (n, 3)) * 0.01
    rgb = rng.random((len(xyz), 3))
    return str(kind), np.c_[xyz, rgb].astype(np.float32)


def random_text(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    length = int(rng.integers(1, 30))
    scale = float(rng.choice([1.0, 10.0, 1000.0]))  # large features push the softmaxes to saturation
    return (rng.normal(size=(1, length, TEXT_DIM)) * scale).astype(np.float32), np.zeros((1, length), bool)


# The capacity each tsp3d node carries, by op type and order in the graph (checked against the manifest below).
NODE_CAPACITIES = {"Voxelize": ["voxels_s1"], "CoordsDown": [f"voxels_s{s}" for s in (2, 4, 8, 16, 32, 64)],
                   "CoordsUp": ["up_s32", "up_s16"], "AppendMissing": ["final_s16"]}
# The small-capacity copy: every set's capacity divided, chosen so that every stage overflows on some scenes.
DIVISORS = {"voxels_s1": 4, "voxels_s2": 4, "voxels_s4": 4, "voxels_s8": 4, "voxels_s16": 8, "voxels_s32": 8,
            "voxels_s64": 8, "up_s32": 16, "up_s16": 64, "final_s16": 96}


def _small_capacities(bundle) -> tuple[object, dict]:
    """A copy of the bundle with every voxel-set capacity (Voxelize, CoordsDown, CoordsUp, AppendMissing)
    divided, and the same capacities for the model config. Prune keeps its bound: in PyTorch it has none."""
    root = scratch("fuzz") / "small"
    shutil.copytree(bundle, root)
    manifest = json.loads((root / "manifest.json").read_text())
    caps = manifest["model"]["capacities"]
    small = {k: max(1, v // DIVISORS.get(k, 1)) for k, v in caps.items()}
    for name in ("backbone.onnx", "head.onnx", "model.onnx"):
        proto = onnx.load(str(root / name))
        seen = {op: 0 for op in NODE_CAPACITIES}
        if name == "head.onnx":
            seen.update(Voxelize=1, CoordsDown=6)  # the head graph starts after the backbone's sets
        for node in proto.graph.node:
            if node.domain == "tsp3d" and node.op_type in NODE_CAPACITIES:
                cap = NODE_CAPACITIES[node.op_type][seen[node.op_type]]
                seen[node.op_type] += 1
                attr = next(a for a in node.attribute if a.name == "capacity")
                assert attr.i == caps[cap], (name, node.name, cap, attr.i)  # the map above is the exporter's
                attr.i = small[cap]
        onnx.save(proto, str(root / name))
    manifest["model"]["capacities"] = small
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root, small


@pytest.fixture(scope="module")
def runtimes():
    from tsp3d.checkpoint import load_model
    from tsp3d.model import TSP3D
    from tsp3d.runtime.onnx_runtime import OnnxRuntime
    from tsp3d.runtime.torch_runtime import TorchRuntime

    bundle = shared_bundle()
    small_root, small_caps = _small_capacities(bundle)
    model, ckpt = load_model(tiny_checkpoint())
    cfg = dataclasses.replace(ckpt.config, capacities=dataclasses.replace(ckpt.config.capacities, **small_caps))
    small_model = TSP3D(cfg)
    small_model.load_state_dict(model.state_dict())
    return {"ort": OnnxRuntime(bundle, threads=2), "ort_small": OnnxRuntime(small_root, threads=2),
            "small_root": small_root,
            "torch_small": TorchRuntime(model=small_model.eval()),
            "caps": json.loads((bundle / "manifest.json").read_text())["model"]["capacities"], "small": small_caps}


def outcome(rt, points, feats, mask):
    """("ok", counts, result) or ("capacity", the op named in the message, None); anything else propagates."""
    try:
        r = rt.predict(points, feats, mask)
    except CapacityError as e:
        msg = str(e).lower()
        for op in ("voxelize", "coords_down", "coordsdown", "coords_up", "coordsup", "append_missing",
                   "appendmissing"):
            if op in msg:
                return "capacity", op.replace("_", ""), None
        return "capacity", msg, None
    return "ok", r.counts, r


def assert_sane(r, caps: dict) -> None:
    c = r.counts
    assert np.isfinite(r.center).all() and np.isfinite(r.size).all() and np.isfinite(r.score), r
    assert (r.size >= 0).all() and 0.0 <= r.score <= 1.0
    assert 1 <= c["v3"] <= caps["voxels_s64"]
    assert 1 <= c["tgp64_kept"] <= c["v3"] and 1 <= c["tgp32_kept"] <= c["up32"] <= caps["up_s32"]
    assert c["up16"] <= caps["up_s16"] and c["final"] <= caps["final_s16"]
    assert c["cba_confident"] <= c["cba_sampled"] and c["cba_added"] <= c["cba_confident"]
    assert c["final"] == c["up16"] + c["cba_added"]


def test_random_scenes_never_crash_never_nan_and_stay_within_capacities(runtimes):
    rng = np.random.default_rng(SEED)
    seen = {"ok": 0, "capacity": 0}
    for i in range(3 * SCENES):
        kind, points = random_scene(rng)
        feats, mask = random_text(rng)
        status, counts, result = outcome(runtimes["ort"], points, feats, mask)
        seen[status] += 1
        if status == "ok":
            assert_sane(result, runtimes["caps"])
    assert seen["ok"] >= SCENES, seen  # most scenes fit the real capacities


def test_small_capacities_fail_where_pytorch_fails_and_never_truncate(runtimes):
    rng = np.random.default_rng(SEED + 1)
    seen = {"ok": 0}
    for i in range(2 * SCENES):
        kind, points = random_scene(rng)
        feats, mask = random_text(rng)
        got = outcome(runtimes["ort_small"], points, feats, mask)
        want = outcome(runtimes["torch_small"], points, feats, mask)
        assert got[:2] == want[:2], (i, kind, len(points), got[:2], want[:2])
        key = "ok" if got[0] == "ok" else got[1]
        seen[key] = seen.get(key, 0) + 1
        if got[0] == "ok":
            assert_sane(got[2], runtimes["small"])
    assert seen["ok"] and len(seen) >= 4, seen  # the draw exercised success and overflows at 3+ kinds of op


def test_random_sentences_are_refused_clearly_or_encoded_finite(runtimes):
    rng = np.random.default_rng(SEED + 2)
    alphabet = string.printable + "éüßçñ中文字🪑\u200b\x00"
    ort = runtimes["ort"]
    encoded = 0
    for _ in range(25):
        length = int(rng.integers(0, 40)) if rng.random() < 0.9 else 700
        text = "".join(rng.choice(list(alphabet), length))
        try:
            t = ort.encode_text(text)
        except InputFileError as e:
            assert re.search("empty|no word|tokens, more than", str(e)), str(e)
            continue
        encoded += 1
        assert t.feats.shape[0] == 1 and t.feats.shape[2] == TEXT_DIM and np.isfinite(t.feats).all()
        assert not t.mask.any()
    assert encoded >= 10


def test_a_capacity_error_on_the_command_line_is_one_line(runtimes, capfd, tmp_path):
    """Through ``tsp3d ground``: the kernel's capacity status becomes one ``error:`` line naming the node and the
    bound, plus the hint; ONNX Runtime's own error log (written to the stderr descriptor) stays silent."""
    from tsp3d.cli import main

    np.save(tmp_path / "room.npy", room_points(8000, seed=5))  # ~8000 voxels at 1 cm, over voxels_s1 = 5000
    code = main(["ground", "--scene", str(tmp_path / "room.npy"), "--text", "the lamp", "--onnx",
                 str(runtimes["small_root"]), "--json", str(tmp_path / "out" / "g.json")])
    _, err = capfd.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 2 and "Traceback" not in err, err
    assert re.match(r"error: tsp3d::Voxelize node .*over its capacity", lines[0]) and "5000" in lines[0], err
    assert lines[1].startswith("hint: raise the node's capacity"), err
    assert not (tmp_path / "out" / "g.json").exists()
