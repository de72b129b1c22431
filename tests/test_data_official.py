"""Official TSP3D data on tiny fixtures: scan pickles (and hostile ones), ScanRefer JSON, NR3D / SR3D CSV."""
from __future__ import annotations

import csv
import json
import os
import pickle
import sys
import types

import numpy as np
import pytest

from tsp3d.data.official import (
    ScanReferDataset, load_scans, read_nr3d, read_scanrefer, read_scene_list, read_sr3d, scan_to_scene,
)
from tsp3d.errors import InputFileError

N = 40


def _official_module():
    """A stand-in of the official ``src.visual_data_handlers`` module, only to *write* fixture pickles."""
    mod = types.ModuleType("src.visual_data_handlers")

    class Scan:
        pass

    class ScanNetMappings:
        pass

    for cls in (Scan, ScanNetMappings):
        cls.__module__, cls.__qualname__ = mod.__name__, cls.__name__
        setattr(mod, cls.__name__, cls)
    return mod


def _make_scan(mod, scan_id, rng):
    scan = mod.Scan()
    scan.mappings = mod.ScanNetMappings()
    scan.mappings.idx_to_semantic_cls_dict = {"1": "wall"}
    scan.scan_id, scan.top_scan_dir, scan.choices = scan_id, "scans/", np.arange(N)
    scan.pc = rng.normal(size=(N, 3))  # float64, as the official alignment produces
    scan.orig_pc = scan.pc.copy()
    scan.color = (rng.integers(0, 256, (N, 3)) / 256.0).astype(np.float32)
    scan.semantic_label_idx = None
    scan.three_d_objects = [
        {"object_id": 0, "points": np.arange(0, 10), "instance_label": "chair"},
        {"object_id": 1, "points": np.arange(10, 25), "instance_label": "chair"},
        {"object_id": 2, "points": np.arange(25, 40), "instance_label": "table"},
    ]
    return scan


def _dump(path, *records):
    with open(path, "wb") as f:  # the official pickle_data layout: a count, then the records, protocol 2
        pickle.dump(len(records), f, protocol=2)
        for r in records:
            pickle.dump(r, f, protocol=2)
    return path


@pytest.fixture
def pkl(tmp_path, monkeypatch):
    mod = _official_module()
    monkeypatch.setitem(sys.modules, "src", types.ModuleType("src"))
    monkeypatch.setitem(sys.modules, "src.visual_data_handlers", mod)
    rng = np.random.default_rng(0)
    scans = {sid: _make_scan(mod, sid, rng) for sid in ("scene0000_00", "scene0001_00")}
    path = _dump(tmp_path / "val_v3scans.pkl", scans)
    monkeypatch.delitem(sys.modules, "src.visual_data_handlers")  # the loader must not need the real class
    monkeypatch.delitem(sys.modules, "src")
    return path, scans


def test_scan_pickle_to_scene(pkl):
    path, ref = pkl
    scans = load_scans(path)
    assert sorted(scans) == ["scene0000_00", "scene0001_00"]
    scene = scan_to_scene("scene0000_00", scans["scene0000_00"])
    src = ref["scene0000_00"]
    assert scene.points.shape == (N, 6) and scene.points.dtype == np.float32
    assert np.allclose(scene.points[:, :3], src.pc) and np.allclose(scene.points[:, 3:], src.color)
    assert scene.labels == ["chair", "chair", "table"]
    pts = src.pc[10:25].astype(np.float32)
    lo, hi = pts.min(0), pts.max(0)
    assert np.allclose(scene.boxes[1], np.concatenate([(lo + hi) / 2, hi - lo]), atol=1e-6)  # min/max of its points
    assert np.array_equal(scene.point_objects[:10], np.zeros(10)) and scene.object_attributes["object_id"] == [0, 1, 2]


class _Evil:
    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


def test_hostile_pickle_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = _dump(tmp_path / "evil.pkl", {"scene0000_00": _Evil(f"touch {marker}")})
    with pytest.raises(InputFileError, match=r"refusing to load: it references (posix|os)\.system"):
        load_scans(path)
    assert not marker.exists()
    path = _dump(tmp_path / "evil2.pkl", {"s": types.SimpleNamespace()})  # any other class is refused too
    with pytest.raises(InputFileError, match="types.SimpleNamespace"):
        load_scans(path)


def test_corrupt_pickles(tmp_path, pkl):
    path, _ = pkl
    data = path.read_bytes()
    with pytest.raises(InputFileError, match="truncated"):
        load_scans(_write(tmp_path / "cut.pkl", data[: len(data) // 2]))
    with pytest.raises(InputFileError, match="empty"):
        load_scans(_write(tmp_path / "empty.pkl", b""))
    with pytest.raises(InputFileError, match="does not exist"):
        load_scans(tmp_path / "nope.pkl")
    with pytest.raises(InputFileError, match="record count"):
        load_scans(_write(tmp_path / "nocount.pkl", pickle.dumps("not a count", protocol=2)))
    with pytest.raises(InputFileError, match="record 1 is a list"):
        load_scans(_dump(tmp_path / "list.pkl", [1, 2]))


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_scanrefer_reader_and_dataset(tmp_path, pkl):
    path, _ = pkl
    rows = [
        {"scene_id": "scene0000_00", "object_id": "1", "object_name": "office_chair", "ann_id": "0",
         "description": "the chair by the table.", "token": ["the", "chair", "by", "the", "table", "."]},
        {"scene_id": "scene0000_00", "object_id": "2", "object_name": "table", "ann_id": "0",
         "description": "a table.", "token": ["a", "table", "."]},
        {"scene_id": "scene0009_00", "object_id": "0", "object_name": "bed", "ann_id": "0",
         "description": "x", "token": ["x"]},
    ]
    jpath = tmp_path / "ScanRefer_filtered_val.json"
    jpath.write_text(json.dumps(rows))
    recs = read_scanrefer(jpath)
    assert [r.text for r in recs] == ["the chair by the table .", "a table .", "x"]
    assert recs[0].target_name == "office chair"
    assert len(read_scanrefer(jpath, scene_ids=["scene0000_00"])) == 2
    with pytest.raises(InputFileError, match="scene0009_00"):
        ScanReferDataset(path, recs)
    ds = ScanReferDataset(path, recs, skip_missing_scenes=True)
    assert len(ds) == 2
    (s0, a0), (_, a1) = ds[0], ds[1]
    assert s0.scene_id == "scene0000_00" and a0.target == 1 and not a0.unique and a0.tags["distractors"] == 1
    assert a1.target == 2 and a1.unique
    merged = ScanReferDataset(path, recs[:2], class_of=lambda label: "furniture")
    assert not merged[1][1].unique  # with a coarser class map the table has distractors
    bad = [r for r in read_scanrefer(jpath) if r.scene_id == "scene0000_00"]
    bad[0].target = 7
    with pytest.raises(InputFileError, match="object 7 not in scene scene0000_00"):
        ScanReferDataset(path, bad)
    jpath.write_text(json.dumps([{"scene_id": "scene0000_00"}]))
    with pytest.raises(InputFileError, match="missing field"):
        read_scanrefer(jpath)
    jpath.write_text("[{")
    with pytest.raises(InputFileError, match="not valid JSON"):
        read_scanrefer(jpath)


def test_nr3d_reader(tmp_path):
    header = ["assignmentid", "scan_id", "target_id", "instance_type", "utterance", "correct_guess"]
    path = _csv(tmp_path / "nr3d.csv", header, [
        ["a1", "scene0000_00", "1", "chair", "the chair facing the table", "True"],
        ["a2", "scene0000_00", "2", "table", "the table", "False"],
    ])
    test = read_nr3d(path, "test")
    assert [r.ann_id for r in test] == ["nr3d_a1"] and test[0].anchors == [] and test[0].target == 1
    assert len(read_nr3d(path, "train")) == 2
    _csv(path, header[:-1], [["a1", "scene0000_00", "1", "chair", "x"]])
    with pytest.raises(InputFileError, match=r"missing column\(s\) \['correct_guess'\]"):
        read_nr3d(path, "test")
    _csv(path, header, [["a1", "scene0000_00", "one", "chair", "x", "True"]])
    with pytest.raises(InputFileError, match="target_id must be an integer"):
        read_nr3d(path, "test")


def test_sr3d_reader(tmp_path, pkl):
    header = ["scan_id", "target_id", "distractor_ids", "utterance", "instance_type", "anchors_types", "anchor_ids",
              "mentions_target_class"]
    path = _csv(tmp_path / "sr3d.csv", header, [
        ["scene0000_00", "0", "[1]", "the chair closest to the table", "chair", "['table']", "[2]", "True"],
        ["scene0000_00", "1", "[0]", "the one near the table", "chair", "['table']", "[2]", "False"],
    ])
    recs = read_sr3d(path)
    assert len(recs) == 1 and recs[0].anchors == [2] and recs[0].distractors == [1]
    (_, ann), = ScanReferDataset(pkl[0], recs)
    assert ann.anchors == [2] and ann.tags["anchor_types"] == ["table"] and ann.tags["dataset"] == "sr3d"
    hostile = f"__import__('os').system('touch {tmp_path / 'x'}')"
    _csv(path, header, [["scene0000_00", "0", hostile, "u", "chair", "['t']", "[2]", "True"]])
    with pytest.raises(InputFileError, match="distractor_ids must be a list"):
        read_sr3d(path)
    assert not (tmp_path / "x").exists()


def test_scene_lists(tmp_path):
    (tmp_path / "a.txt").write_text("scene0000_00\nscene0001_00\n")
    (tmp_path / "b.txt").write_text("['scene0002_00', 'scene0003_00']")
    assert read_scene_list(tmp_path / "a.txt") == ["scene0000_00", "scene0001_00"]
    assert read_scene_list(tmp_path / "b.txt") == ["scene0002_00", "scene0003_00"]
    (tmp_path / "c.txt").write_text("[open('x')]")
    with pytest.raises(InputFileError):
        read_scene_list(tmp_path / "c.txt")
