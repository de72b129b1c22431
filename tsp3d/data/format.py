"""The on-disk grounding dataset format (docs/data-format.md): read, validate, write.

```
<root>/meta.json                    format name + version, classes, counts (and generator settings if synthetic)
<root>/annotations_<split>.jsonl    one Annotation per line
<root>/scenes/<scene_id>.npz        points float32 [N,6], boxes float32 [M,6], labels str [M] (+ optional arrays)
```

Writers are byte-deterministic (fixed zip timestamps, sorted JSON keys) so a seeded generator reproduces files
exactly. Readers turn every defect into an ``InputFileError`` that names the file and what is wrong.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from tsp3d.data.types import Annotation, Scene
from tsp3d.errors import InputFileError
from tsp3d.utils.atomic import atomic_dir

FORMAT_NAME = "tsp3d-grounding"
FORMAT_VERSION = 1
META_FILE = "meta.json"
SCENE_DIR = "scenes"
SPLITS = ("train", "val")
ATTR_PREFIX = "attr_"  # optional per-object arrays "attr_<name>" [M] -> Scene.object_attributes[name]
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so identical content gives identical bytes
_SCENE_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


def annotations_file(split: str) -> str:
    return f"annotations_{split}.jsonl"


def scene_path(root: str | Path, scene_id: str) -> Path:
    if not _SCENE_ID.match(scene_id):
        raise InputFileError(f"invalid scene id {scene_id!r}: use letters, digits, '_', '-', '.' only")
    return Path(root) / SCENE_DIR / f"{scene_id}.npz"


# ---------------------------------------------------------------------------------------------- scenes


def write_npz(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """An uncompressed ``.npz`` whose bytes depend only on the arrays (``np.savez`` stamps the current time)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def scene_arrays(scene: Scene) -> dict[str, np.ndarray]:
    """The arrays stored for a scene (see docs/data-format.md)."""
    m = scene.boxes.shape[0]
    arrays = {
        "points": np.asarray(scene.points, dtype=np.float32),
        "boxes": np.asarray(scene.boxes, dtype=np.float32),
        "labels": np.asarray(list(scene.labels), dtype=str).reshape(m),
    }
    if scene.point_objects is not None:
        small = m < np.iinfo(np.int16).max  # int16 halves this array's size on disk; read back as int32
        arrays["point_objects"] = np.asarray(scene.point_objects, dtype=np.int16 if small else np.int32)
    for name in sorted(scene.object_attributes):
        values = np.asarray(scene.object_attributes[name])
        if values.shape != (m,) or values.dtype == object:
            raise ValueError(f"scene {scene.scene_id}: attribute {name!r} must be [M={m}] of str/int/float")
        arrays[ATTR_PREFIX + name] = values
    return arrays


def write_scene(path: str | Path, scene: Scene) -> None:
    write_npz(path, scene_arrays(scene))


def read_scene(path: str | Path, scene_id: str | None = None) -> Scene:
    """Load and validate one scene file."""
    path = Path(path)
    scene_id = scene_id or path.stem
    if not path.is_file():
        raise InputFileError(f"scene file {path} does not exist", hint="is the dataset complete? regenerate it")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:  # zipfile.BadZipFile, ValueError (pickled/garbled array), EOFError, OSError
        raise InputFileError(f"scene file {path} is corrupt or truncated: {type(e).__name__}: {e}") from e
    for key in ("points", "boxes", "labels"):
        if key not in arrays:
            raise InputFileError(f"scene file {path} has no array {key!r} (has: {sorted(arrays)})")
    points, boxes, labels = arrays["points"], arrays["boxes"], arrays["labels"]
    if points.dtype != np.float32 or points.ndim != 2 or points.shape[1] != 6 or points.shape[0] == 0:
        raise InputFileError(f"scene file {path}: points must be float32 [N>0, 6], got {points.dtype} {points.shape}")
    if not np.isfinite(points).all():
        raise InputFileError(f"scene file {path}: points contain NaN or Inf")
    rgb = points[:, 3:6]
    if rgb.min() < 0 or rgb.max() > 1:
        raise InputFileError(f"scene file {path}: colours must be in [0, 1], found [{rgb.min():.3g}, {rgb.max():.3g}]")
    if boxes.dtype != np.float32 or boxes.ndim != 2 or boxes.shape[1] != 6:
        raise InputFileError(f"scene file {path}: boxes must be float32 [M, 6], got {boxes.dtype} {boxes.shape}")
    if not np.isfinite(boxes).all() or (boxes[:, 3:] < 0).any():
        raise InputFileError(f"scene file {path}: boxes must be finite with sizes >= 0")
    if labels.dtype.kind != "U" or labels.shape != (boxes.shape[0],):
        raise InputFileError(
            f"scene file {path}: labels must be str [{boxes.shape[0]}], got {labels.dtype} {labels.shape}"
        )
    point_objects = arrays.get("point_objects")
    if point_objects is not None:
        if point_objects.shape != (points.shape[0],) or point_objects.dtype.kind not in "iu":
            raise InputFileError(f"scene file {path}: point_objects must be int [{points.shape[0]}]")
        if point_objects.size and (point_objects.min() < -1 or point_objects.max() >= boxes.shape[0]):
            raise InputFileError(f"scene file {path}: point_objects holds an index outside [-1, {boxes.shape[0]})")
        point_objects = point_objects.astype(np.int32)
    attributes = {}
    for key, values in arrays.items():
        if key.startswith(ATTR_PREFIX):
            if values.shape != (boxes.shape[0],):
                raise InputFileError(f"scene file {path}: {key} must have one entry per box ({boxes.shape[0]})")
            attributes[key[len(ATTR_PREFIX):]] = values.tolist()
    return Scene(scene_id, points, boxes, labels.tolist(), point_objects, attributes)


# ----------------------------------------------------------------------------------------- annotations


def annotation_to_dict(ann: Annotation) -> dict:
    return {
        "scene_id": ann.scene_id, "ann_id": ann.ann_id, "text": ann.text, "target": int(ann.target),
        "anchors": [int(a) for a in ann.anchors], "unique": bool(ann.unique), "tags": ann.tags,
    }


def annotation_line(ann: Annotation) -> str:
    return json.dumps(annotation_to_dict(ann), sort_keys=True, ensure_ascii=True) + "\n"


def _field(obj: dict, key: str, kind, where: str):
    if key not in obj:
        raise InputFileError(f"{where}: missing field {key!r}")
    value = obj[key]
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise InputFileError(f"{where}: field {key!r} must be {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def annotation_from_dict(obj, where: str) -> Annotation:
    if not isinstance(obj, dict):
        raise InputFileError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    anchors = _field(obj, "anchors", list, where)
    if not all(isinstance(a, int) and not isinstance(a, bool) and a >= 0 for a in anchors):
        raise InputFileError(f"{where}: anchors must be a list of object indices >= 0, got {anchors!r}")
    target = _field(obj, "target", int, where)
    if target < 0:
        raise InputFileError(f"{where}: target must be >= 0, got {target}")
    return Annotation(
        scene_id=_field(obj, "scene_id", str, where), ann_id=_field(obj, "ann_id", str, where),
        text=_field(obj, "text", str, where), target=target, anchors=anchors,
        unique=_field(obj, "unique", bool, where), tags=_field(obj, "tags", dict, where),
    )


def read_annotations(path: str | Path) -> list[Annotation]:
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"annotation file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InputFileError(f"annotation file {path} is not UTF-8 text: {e}") from e
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputFileError(f"{path}:{lineno}: not valid JSON ({e.msg})") from e
        out.append(annotation_from_dict(obj, f"{path}:{lineno}"))
    return out


# ------------------------------------------------------------------------------------------ datasets


def read_meta(root: str | Path) -> dict:
    path = Path(root) / META_FILE
    if not Path(root).is_dir():
        raise InputFileError(
            f"dataset directory {root} does not exist", hint="generate one: tsp3d data synth --out DIR"
        )
    if not path.is_file():
        raise InputFileError(f"{path} is missing: {root} is not a tsp3d grounding dataset")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputFileError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        got = meta.get("format") if isinstance(meta, dict) else meta
        raise InputFileError(f"{path}: 'format' must be {FORMAT_NAME!r}, got {got!r}")
    if meta.get("format_version") != FORMAT_VERSION:
        raise InputFileError(
            f"{path}: format_version {meta.get('format_version')!r} is not supported (this reader: {FORMAT_VERSION})",
            hint="regenerate the dataset with this version of tsp3d",
        )
    return meta


def split_stats(scenes: Mapping[str, Scene], annotations: Iterable[Annotation]) -> dict:
    """Counts recorded in meta.json for one split."""
    anns = list(annotations)
    unique = sum(1 for a in anns if a.unique)
    return {"scenes": len(scenes), "annotations": len(anns), "unique": unique, "multiple": len(anns) - unique}


def write_dataset(
    root: str | Path,
    scenes: Iterable[Scene],
    annotations: Mapping[str, list[Annotation]],
    extra_meta: Mapping | None = None,
    force: bool = False,
) -> Path:
    """Write a whole dataset atomically (converters, hand-made test sets). ``annotations`` maps split -> list."""
    scenes = {s.scene_id: s for s in scenes}
    with atomic_dir(root, force=force) as tmp:
        (tmp / SCENE_DIR).mkdir()
        for scene in scenes.values():
            write_scene(scene_path(tmp, scene.scene_id), scene)
        splits = {}
        for split, anns in annotations.items():
            for a in anns:
                if a.scene_id not in scenes:
                    raise ValueError(f"annotation {a.ann_id} refers to scene {a.scene_id!r}, which is not given")
            (tmp / annotations_file(split)).write_text("".join(annotation_line(a) for a in anns), encoding="utf-8")
            used = {a.scene_id: scenes[a.scene_id] for a in anns}
            splits[split] = split_stats(used, anns)
        classes = sorted({lbl for s in scenes.values() for lbl in s.labels})
        meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "classes": classes, "splits": splits}
        meta.update(extra_meta or {})
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return Path(root)
