"""The on-disk format and GroundingDataset: round trip, lazy cached scenes, and every bad-input case."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from tsp3d.data import format as fmt
from tsp3d.data.dataset import GroundingDataset
from tsp3d.data.types import Annotation, Scene
from tsp3d.errors import InputFileError, OutputExistsError


def _scene(sid: str, m: int, seed: int) -> Scene:
    rng = np.random.default_rng(seed)
    points = np.concatenate([rng.normal(size=(50, 3)), rng.random((50, 3))], axis=1).astype(np.float32)
    boxes = np.concatenate([rng.normal(size=(m, 3)), rng.random((m, 3)) + 0.1], axis=1).astype(np.float32)
    labels = [f"class{i % 2}" for i in range(m)]
    attrs = {"color": [f"c{i}" for i in range(m)], "support": list(range(-1, m - 1))}
    return Scene(sid, points, boxes, labels, rng.integers(-1, m, 50).astype(np.int32), attrs)


SCENES = [_scene("s0", 3, 0), _scene("s1", 5, 1), _scene("s2", 2, 2)]
TRAIN = [
    Annotation("s0", "a0", "the first one", 0, [1], False, {"kind": "x"}),
    Annotation("s0", "a1", "the second one", 2, [], True, {}),
    Annotation("s1", "a2", "a chair", 4, [0, 1], False, {"nested": {"k": [1, 2]}}),
]
VAL = [Annotation("s2", "b0", "the table", 1, [], True, {})]


@pytest.fixture
def root(tmp_path):
    return fmt.write_dataset(tmp_path / "ds", SCENES, {"train": TRAIN, "val": VAL}, extra_meta={"note": "hand-made"})


def test_round_trip(root):
    ds = GroundingDataset(root, "train")
    assert len(ds) == 3 and ds.scene_ids == ["s0", "s1"]
    meta = fmt.read_meta(root)
    assert meta["note"] == "hand-made"
    assert meta["splits"]["train"] == {"scenes": 2, "annotations": 3, "unique": 1, "multiple": 2}
    for (scene, ann), want in zip(ds, TRAIN):
        assert ann == want
        ref = next(s for s in SCENES if s.scene_id == ann.scene_id)
        assert scene.points.dtype == np.float32 and np.array_equal(scene.points, ref.points)
        assert np.array_equal(scene.boxes, ref.boxes) and scene.labels == ref.labels
        assert np.array_equal(scene.point_objects, ref.point_objects)
        assert scene.object_attributes == ref.object_attributes
    assert GroundingDataset(root, "val")[0][1] == VAL[0]


def test_scenes_are_loaded_lazily_and_cached(root):
    ds = GroundingDataset(root, "train", cache_scenes=1)
    assert not ds._cache
    a, b = ds[0][0], ds[1][0]
    assert a is b  # two annotations of s0 share one loaded scene
    ds[2]
    assert list(ds._cache) == ["s1"]  # the cache holds one scene: s0 was evicted
    assert ds[0][0] is not a


def test_writer_is_byte_deterministic_and_refuses_to_overwrite(root, tmp_path):
    p1, p2 = tmp_path / "a.npz", tmp_path / "b.npz"
    fmt.write_scene(p1, SCENES[1])
    fmt.write_scene(p2, SCENES[1])
    assert p1.read_bytes() == p2.read_bytes()
    with zipfile.ZipFile(p1) as zf:  # np.savez would stamp the current time: same bytes only within 2 s
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    with pytest.raises(OutputExistsError):
        fmt.write_dataset(root, SCENES, {"train": TRAIN})


def _expect(root, split, match):
    with pytest.raises(InputFileError, match=match):
        ds = GroundingDataset(root, split)
        for _ in ds:
            pass


def test_missing_dataset_and_meta(tmp_path, root):
    _expect(tmp_path / "nothing", "train", "does not exist")
    (root / "meta.json").unlink()
    _expect(root, "train", "meta.json is missing")


@pytest.mark.parametrize("meta, match", [
    ("{not json", "not valid JSON"),
    (json.dumps({"format": "something-else", "format_version": 1}), "'format' must be"),
    (json.dumps({"format": fmt.FORMAT_NAME, "format_version": 99}), "format_version 99"),
])
def test_bad_meta(root, meta, match):
    (root / "meta.json").write_text(meta)
    _expect(root, "train", match)


def test_unknown_split(root):
    _expect(root, "test", r"no split 'test'.*\['train', 'val'\]")


@pytest.mark.parametrize("line, match", [
    ("{broken", r"annotations_train.jsonl:2: not valid JSON"),
    (json.dumps({"scene_id": "s0", "ann_id": "x", "text": "t", "target": 0, "anchors": []}), "missing field 'unique'"),
    (json.dumps({"scene_id": "s0", "ann_id": "x", "text": "t", "target": "0", "anchors": [], "unique": True,
                 "tags": {}}), "field 'target' must be int"),
    (json.dumps({"scene_id": "s0", "ann_id": "x", "text": "t", "target": 1, "anchors": [-1], "unique": True,
                 "tags": {}}), "anchors must be a list"),
    (json.dumps({"scene_id": "s0", "ann_id": "x", "text": "t", "target": 3, "anchors": [], "unique": True,
                 "tags": {}}), "refers to object 3, but scene s0 has 3 objects"),
    (json.dumps({"scene_id": "nope", "ann_id": "x", "text": "t", "target": 0, "anchors": [], "unique": True,
                 "tags": {}}), r"nope.npz does not exist"),
])
def test_bad_annotation_lines(root, line, match):
    path = root / "annotations_train.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], line, *lines[1:]]) + "\n")
    _expect(root, "train", match)


def test_truncated_and_corrupt_scene_files(root):
    path = root / "scenes" / "s0.npz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _expect(root, "train", "s0.npz is corrupt or truncated")
    path.write_bytes(b"")
    _expect(root, "train", "s0.npz is corrupt or truncated")


@pytest.mark.parametrize("change, match", [
    (lambda a: a.pop("boxes"), "has no array 'boxes'"),
    (lambda a: a.update(points=a["points"].astype(np.float64)), "points must be float32"),
    (lambda a: a["points"].__setitem__((3, 1), np.nan), "NaN or Inf"),
    (lambda a: a["points"].__setitem__((3, 4), 1.5), r"colours must be in \[0, 1\]"),
    (lambda a: a.update(labels=a["labels"][:2]), "labels must be str"),
    (lambda a: a.update(point_objects=np.full(50, 7, np.int32)), "point_objects holds an index"),
    (lambda a: a.update(attr_color=np.array(["x"])), "attr_color must have one entry per box"),
])
def test_invalid_scene_arrays(root, change, match):
    arrays = {k: v.copy() for k, v in fmt.scene_arrays(SCENES[0]).items()}  # never touch the shared SCENES
    change(arrays)
    fmt.write_npz(root / "scenes" / "s0.npz", arrays)
    _expect(root, "train", match)


def test_pickled_arrays_are_refused(root):
    path = root / "scenes" / "s0.npz"
    arrays = fmt.scene_arrays(SCENES[0])
    with zipfile.ZipFile(path, "w") as zf:
        for name, arr in arrays.items():
            with zf.open(f"{name}.npy", "w") as f:
                np.lib.format.write_array(f, arr.astype(object) if name == "labels" else arr, allow_pickle=True)
    _expect(root, "train", "corrupt or truncated")
