"""Referring-expression files of the official data (spec §10.3): ScanRefer JSON, NR3D CSV, SR3D CSV.

Each reader returns ``ReferRecord``s with the fields and filters of the official loader:

- ScanRefer: ``scene_id, object_id, object_name, ann_id, token`` (the text is the tokens joined by spaces);
- NR3D: ``scan_id, target_id, instance_type, utterance, correct_guess``; on the test split only rows with
  ``correct_guess`` true are kept; no anchors;
- SR3D: ``scan_id, target_id, distractor_ids, utterance, instance_type, anchors_types, anchor_ids,
  mentions_target_class``; only rows with ``mentions_target_class`` true are kept.

``target`` is the object's **position** in the scan's ``three_d_objects`` list, as the official code indexes it.
List-valued CSV cells (``[3, 7]``) are parsed with ``ast.literal_eval``, never ``eval``.
"""
from __future__ import annotations

import ast
import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from tsp3d.errors import InputFileError

NR3D_COLUMNS = ("scan_id", "target_id", "instance_type", "utterance", "correct_guess")
SR3D_COLUMNS = ("scan_id", "target_id", "distractor_ids", "utterance", "instance_type", "anchors_types",
                "anchor_ids", "mentions_target_class")
SCANREFER_FIELDS = ("scene_id", "object_id", "object_name", "ann_id", "token")
MAX_CSV_FIELD = 1 << 20  # bytes per CSV cell (Python's default is 128 kB)


@dataclass
class ReferRecord:
    dataset: str  # "scanrefer" | "nr3d" | "sr3d"
    scene_id: str
    target: int  # index into the scan's three_d_objects
    text: str
    ann_id: str
    target_name: str  # the annotated class name of the target
    anchors: list[int] = field(default_factory=list)
    distractors: list[int] | None = None  # as annotated (SR3D); None: not given
    extra: dict = field(default_factory=dict)


def _truthy(value: str) -> bool:
    return str(value).strip().lower() == "true"


def _int(value, where: str, name: str) -> int:
    try:
        out = int(str(value).strip())
    except ValueError:
        raise InputFileError(f"{where}: {name} must be an integer, got {value!r}") from None
    if out < 0:
        raise InputFileError(f"{where}: {name} must be >= 0, got {out}")
    return out


def _int_list(value: str, where: str, name: str) -> list[int]:
    try:
        out = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        raise InputFileError(f"{where}: {name} must be a list like [1, 2], got {value!r}") from None
    if isinstance(out, int) and not isinstance(out, bool):
        out = [out]
    ok = isinstance(out, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in out)
    if not ok:
        raise InputFileError(f"{where}: {name} must be a list of object indices, got {value!r}")
    return list(out)


def _str_list(value: str, where: str, name: str) -> list[str]:
    try:
        out = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        raise InputFileError(f"{where}: {name} must be a list like ['chair'], got {value!r}") from None
    if isinstance(out, str):
        out = [out]
    if not isinstance(out, (list, tuple)) or not all(isinstance(v, str) for v in out):
        raise InputFileError(f"{where}: {name} must be a list of class names, got {value!r}")
    return list(out)


def read_scene_list(path: str | Path) -> list[str]:
    """A split's scene ids: one per line (ScanRefer ``*.txt``) or a Python list literal (ReferIt3D ``*_scans.txt``)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"scene list {path} does not exist")
    text = path.read_text(encoding="utf-8").strip()
    if text[:1] in "[({":
        try:
            ids = ast.literal_eval(text)
        except (ValueError, SyntaxError) as e:
            raise InputFileError(f"{path}: not a list of scene ids ({e})") from e
        if not all(isinstance(s, str) for s in ids):
            raise InputFileError(f"{path}: every scene id must be a string")
        return sorted(ids) if isinstance(ids, (set, frozenset)) else list(ids)
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_scanrefer(path: str | Path, scene_ids: Iterable[str] | None = None) -> list[ReferRecord]:
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"ScanRefer file {path} does not exist")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputFileError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(rows, list):
        raise InputFileError(f"{path}: expected a JSON list of annotations, got {type(rows).__name__}")
    keep = set(scene_ids) if scene_ids is not None else None
    out = []
    for i, row in enumerate(rows):
        where = f"{path}: entry {i}"
        if not isinstance(row, dict):
            raise InputFileError(f"{where}: expected an object, got {type(row).__name__}")
        missing = [k for k in SCANREFER_FIELDS if k not in row]
        if missing:
            raise InputFileError(f"{where}: missing field(s) {missing}")
        if keep is not None and row["scene_id"] not in keep:
            continue
        tokens = row["token"]
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens) or not tokens:
            raise InputFileError(f"{where}: 'token' must be a non-empty list of strings")
        target = _int(row["object_id"], where, "object_id")
        out.append(ReferRecord(
            "scanrefer", str(row["scene_id"]), target, " ".join(tokens),
            f"{row['scene_id']}_{target}_{row['ann_id']}", " ".join(str(row["object_name"]).split("_")),
            extra={"description": row.get("description")},
        ))
    return out


def _csv_rows(path: Path, columns: tuple[str, ...]):
    if not path.is_file():
        raise InputFileError(f"CSV file {path} does not exist")
    csv.field_size_limit(MAX_CSV_FIELD)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise InputFileError(f"{path} is empty")
            missing = [c for c in columns if c not in header]
            if missing:
                raise InputFileError(f"{path}: missing column(s) {missing} (header: {header})")
            col = {name: header.index(name) for name in header}
            for lineno, line in enumerate(reader, 2):
                if not line:
                    continue
                if len(line) != len(header):
                    raise InputFileError(f"{path}:{lineno}: {len(line)} cells, the header has {len(header)}")
                yield f"{path}:{lineno}", {name: line[col[name]] for name in header}
    except (csv.Error, UnicodeDecodeError) as e:
        raise InputFileError(f"{path}: unreadable CSV ({e})") from e


def read_nr3d(path: str | Path, split: str, scene_ids: Iterable[str] | None = None) -> list[ReferRecord]:
    """NR3D rows of ``split`` ("train" or "test"; "val" means "test" as in the official code)."""
    if split not in ("train", "test", "val"):
        raise ValueError(f"split must be train/test/val, got {split!r}")
    test = split != "train"
    keep = set(scene_ids) if scene_ids is not None else None
    out = []
    for where, row in _csv_rows(Path(path), NR3D_COLUMNS):
        if keep is not None and row["scan_id"] not in keep:
            continue
        if test and not _truthy(row["correct_guess"]):
            continue
        target = _int(row["target_id"], where, "target_id")
        ann = row.get("assignmentid") or where.rsplit(":", 1)[1]
        out.append(ReferRecord("nr3d", row["scan_id"], target, row["utterance"], f"nr3d_{ann}", row["instance_type"]))
    return out


def read_sr3d(path: str | Path, scene_ids: Iterable[str] | None = None) -> list[ReferRecord]:
    keep = set(scene_ids) if scene_ids is not None else None
    out = []
    for where, row in _csv_rows(Path(path), SR3D_COLUMNS):
        if keep is not None and row["scan_id"] not in keep:
            continue
        if not _truthy(row["mentions_target_class"]):
            continue
        out.append(ReferRecord(
            "sr3d", row["scan_id"], _int(row["target_id"], where, "target_id"), row["utterance"],
            f"sr3d_{where.rsplit(':', 1)[1]}", row["instance_type"],
            anchors=_int_list(row["anchor_ids"], where, "anchor_ids"),
            distractors=_int_list(row["distractor_ids"], where, "distractor_ids"),
            extra={"anchor_types": _str_list(row["anchors_types"], where, "anchors_types")},
        ))
    return out
