"""The procedural grounding benchmark: determinism, verified sentences, split statistics, geometry, CLI."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tsp3d.data import format as fmt
from tsp3d.data.dataset import GroundingDataset
from tsp3d.data.synth import generate, resolve
from tsp3d.data.synth.language import Description, parse
from tsp3d.data.synth.layout import FLOOR_GAP
from tsp3d.data.synth.relations import RELATIONS, SUPERLATIVES
from tsp3d.data.synth.sampling import STRUCTURE_SHARE
from tsp3d.errors import CapacityError, OutputExistsError

SMALL = dict(train_scenes=2, val_scenes=4, points=3000, seed=7)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "small"
    generate(out, workers=1, **SMALL)
    return out


@pytest.fixture(scope="module")
def val40(tmp_path_factory) -> Path:
    """A larger val split at low point density, for statistics and coverage."""
    out = tmp_path_factory.mktemp("synth") / "val40"
    generate(out, train_scenes=0, val_scenes=40, points=1500, seed=3, workers=2)
    return out


def test_same_seed_gives_identical_bytes_for_any_worker_count(small, tmp_path):
    again = tmp_path / "again"
    generate(again, workers=2, **SMALL)
    a, b = _files(small), _files(again)
    assert sorted(a) == sorted(b)
    assert all(a[k] == b[k] for k in a), [k for k in a if a[k] != b[k]]
    other = tmp_path / "other"
    generate(other, workers=1, **{**SMALL, "seed": 8})
    assert _files(other)["scenes/synth_val_00000.npz"] != a["scenes/synth_val_00000.npz"]


def test_generate_scene_is_the_same_scene_in_memory(small):
    from tsp3d.data.synth import generate_scene

    scene, anns = generate_scene(index=1, points=SMALL["points"], seed=SMALL["seed"], split="train")
    ds = GroundingDataset(small, "train")
    disk = ds.scene("synth_train_00001")
    assert np.array_equal(scene.points, disk.points) and np.array_equal(scene.boxes, disk.boxes)
    assert [a.text for a in anns] == [a.text for a in ds.annotations if a.scene_id == "synth_train_00001"]


def test_scene_i_does_not_depend_on_how_many_are_generated(small, tmp_path):
    fewer = tmp_path / "fewer"
    generate(fewer, train_scenes=0, val_scenes=2, points=SMALL["points"], seed=SMALL["seed"], workers=1)
    for i in range(2):
        name = f"scenes/synth_val_{i:05d}.npz"
        assert (fewer / name).read_bytes() == (small / name).read_bytes()
    full = (small / "annotations_val.jsonl").read_text().splitlines()
    part = (fewer / "annotations_val.jsonl").read_text().splitlines()
    assert part == [line for line in full if json.loads(line)["scene_id"] in ("synth_val_00000", "synth_val_00001")]


def test_every_sentence_resolves_to_exactly_its_target(small, val40):
    checked = 0
    for root, split in ((small, "train"), (small, "val"), (val40, "val")):
        for scene, ann in GroundingDataset(root, split):
            res = resolve(ann.text, scene)
            assert res.unique, (ann.text, res)
            assert res.target == ann.target and res.anchors == ann.anchors, ann.text
            assert parse(ann.text) == Description.from_dict(ann.tags["program"])
            n_same = Counter(scene.labels)[scene.labels[ann.target]]
            assert ann.unique == (n_same == 1) and ann.tags["distractors"] == n_same - 1
            checked += 1
    assert checked > 200


def test_multiple_share_and_grammar_coverage(val40):
    meta = fmt.read_meta(val40)
    anns = GroundingDataset(val40, "val").annotations
    multiple = sum(not a.unique for a in anns) / len(anns)
    assert multiple >= 0.70
    assert meta["splits"]["val"]["multiple_share"] == pytest.approx(multiple, abs=1e-4)
    per_scene = Counter(a.scene_id for a in anns)
    programs = Counter((a.scene_id, json.dumps(a.tags["program"], sort_keys=True)) for a in anns)
    assert max(programs.values()) == 1, "a scene repeats a description"
    assert len(per_scene) == 40 and min(per_scene.values()) >= 5 and max(per_scene.values()) <= 8
    tags = [a.tags for a in anns]
    assert {t["kind"] for t in tags} == {"attribute", "relation", "superlative"}
    assert {t["relation"] for t in tags} - {None} == set(RELATIONS)
    assert {t["superlative"] for t in tags} - {None} == set(SUPERLATIVES)
    assert any("color" in t["attributes"] for t in tags) and any("size" in t["attributes"] for t in tags)
    assert all(t["view_dependent"] == bool({t["relation"], t["superlative"]} & {"left_of", "right_of", "leftmost",
                                                                              "rightmost"}) for t in tags)
    assert len(meta["classes"]) >= 12


def test_scene_geometry(val40):
    ds = GroundingDataset(val40, "val")
    for sid in ds.scene_ids[:15]:
        s = ds.scene(sid)
        p = s.points
        assert p.shape == (1500, 6) and p.dtype == np.float32
        assert 0 <= p[:, 3:].min() and p[:, 3:].max() <= 1
        assert (s.point_objects == -1).sum() == round(STRUCTURE_SHARE * 1500)
        lo, hi = p[:, :3].min(axis=0), p[:, :3].max(axis=0)
        assert abs(lo[2]) < 0.02, "floor at z = 0"
        assert np.allclose(lo[:2], -hi[:2], atol=0.03), "room centred on the origin"
        assert np.all((hi[:2] - lo[:2] > 3.95) & (hi[:2] - lo[:2] < 9.05))
        support = s.object_attributes["support"]
        b = s.boxes.astype(np.float64)
        blo, bhi = b[:, :3] - b[:, 3:] / 2, b[:, :3] + b[:, 3:] / 2
        for i in range(len(b)):
            if support[i] >= 0:  # stands on its support: bottom at the support's top, centre over it
                j = support[i]
                assert abs(blo[i, 2] - bhi[j, 2]) < 0.05
                assert np.all((b[i, :2] > blo[j, :2]) & (b[i, :2] < bhi[j, :2]))
            for j in range(i + 1, len(b)):
                overlap = np.clip(np.minimum(bhi[i], bhi[j]) - np.maximum(blo[i], blo[j]), 0, None)
                if np.prod(overlap) > 1e-4:  # only an object under a table may share its box volume
                    low, high = (i, j) if bhi[i, 2] < bhi[j, 2] else (j, i)
                    assert s.labels[high] == "table" and s.labels[low] in ("box", "trash can"), (sid, i, j)
                elif support[i] == -1 and support[j] == -1 and overlap[2] > 0.05:
                    apart = np.maximum(blo[i, :2], blo[j, :2]) - np.minimum(bhi[i, :2], bhi[j, :2])
                    gap = np.hypot(*np.clip(apart, 0, None))
                    assert gap > FLOOR_GAP - 0.05, (sid, i, j, gap)


def test_refuses_to_overwrite_without_force_and_bad_sizes(small, tmp_path):
    with pytest.raises(OutputExistsError):
        generate(small, workers=1, **SMALL)
    out = tmp_path / "d"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    generate(out, train_scenes=0, val_scenes=1, points=1000, force=True, workers=1)
    assert not (out / "keep.txt").exists() and (out / "meta.json").is_file()
    with pytest.raises(CapacityError, match="points"):
        generate(tmp_path / "e", train_scenes=1, val_scenes=1, points=10)
    with pytest.raises(CapacityError, match="nothing to generate"):
        generate(tmp_path / "e", train_scenes=0, val_scenes=0)
    assert not (tmp_path / "e").exists()


def test_cli_synth(tmp_path, capsys):
    from tsp3d.cli import main

    out = tmp_path / "cli"
    args = ["data", "synth", "--out", str(out), "--train-scenes", "1", "--val-scenes", "1", "--points", "1000",
            "--workers", "1"]
    assert main(args) == 0
    assert len(GroundingDataset(out, "train")) >= 5
    assert main(args) != 0
    assert "already exists" in capsys.readouterr().err
    assert main(args + ["--force", "--mix", "relation=1"]) == 0
    meta = fmt.read_meta(out)
    assert meta["kind_weights"] == {"attribute": 0.0, "superlative": 0.0, "relation": 1.0}
    assert set(meta["splits"]["val"]["kinds"]) == {"relation"}
    assert main(args + ["--force", "--mix", "colour=1"]) == 2
    assert "unknown description kind" in capsys.readouterr().err
