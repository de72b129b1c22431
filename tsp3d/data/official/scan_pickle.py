"""The official TSP3D scene pickles (``train_v3scans.pkl`` / ``val_v3scans.pkl``, spec §10.2), read safely.

Layout: pickle protocol 2; the first record is a count, then that many records, each a dict
``{scan_id: Scan}`` where ``Scan`` is the official ``src.visual_data_handlers.Scan``. It holds ``pc`` [50000, 3]
aligned xyz, ``color`` [50000, 3] = rgb / 256, ``three_d_objects`` = [{object_id, points (row indices),
instance_label}] and a ``ScanNetMappings`` object. Unpickling runs code named by the file, so a hostile file could do anything:
``find_class`` here allows only numpy's array reconstruction and inert stand-ins for those two classes; any other
global is refused with an ``InputFileError`` before it is called.
"""
from __future__ import annotations

import codecs
import pickle
from pathlib import Path

import numpy as np

from tsp3d.data.boxes import box_of_points
from tsp3d.data.points import GREY
from tsp3d.data.types import Scene
from tsp3d.errors import InputFileError

MAX_RECORDS = 64  # the official writer stores 1; a larger count means a corrupt or foreign file

try:  # numpy >= 2 moved the pickling helpers; files written by numpy 1.x name numpy.core
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray


class PickledObject:
    """Inert stand-in for a class of the official code: keeps the pickled attributes, runs nothing."""

    def __init__(self, *args, **kwargs):  # called by REDUCE/NEWOBJ opcodes; the arguments are ignored
        pass

    def __setstate__(self, state) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (dict, slots) form
            state = {**(state[0] or {}), **(state[1] or {})}
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(f"{type(self).__name__}: unexpected state of type {type(state).__name__}")
        self.__dict__.update(state)


class OfficialScan(PickledObject):
    """Stands in for ``src.visual_data_handlers.Scan``."""


class OfficialMappings(PickledObject):
    """Stands in for ``src.visual_data_handlers.ScanNetMappings`` (a Scan's ``mappings`` attribute)."""


_ALLOWED = {
    ("src.visual_data_handlers", "Scan"): OfficialScan,
    ("src.visual_data_handlers", "ScanNetMappings"): OfficialMappings,
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy.core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,  # protocol 2 stores bytes (array buffers) as encode(str, 'latin1')
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"forbidden global {module}.{name}") from None


def _load_one(f, path: Path, what: str):
    try:
        return _RestrictedUnpickler(f, encoding="latin1").load()  # latin1: numpy buffers from Python 2 files
    except EOFError as e:
        raise InputFileError(f"{path}: truncated while reading {what}") from e
    except pickle.UnpicklingError as e:
        if "forbidden global" in str(e):
            raise InputFileError(
                f"{path}: refusing to load: it references {str(e).split('global ', 1)[1]}; only numpy arrays and "
                "the official Scan class are allowed (a pickle can run code; this one may be hostile)"
            ) from e
        raise InputFileError(f"{path}: corrupt pickle while reading {what}: {e}") from e
    except Exception as e:  # anything a garbled stream can raise
        raise InputFileError(f"{path}: corrupt pickle while reading {what}: {type(e).__name__}: {e}") from e


def load_scans(path: str | Path) -> dict[str, OfficialScan]:
    """All scans of an official ``*_v3scans.pkl`` as ``{scan_id: OfficialScan}`` (nothing in it is executed)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"scan pickle {path} does not exist")
    if path.stat().st_size == 0:
        raise InputFileError(f"scan pickle {path} is empty (0 bytes)")
    scans: dict[str, OfficialScan] = {}
    with open(path, "rb") as f:
        count = _load_one(f, path, "the record count")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_RECORDS:
            raise InputFileError(f"{path}: first record must be a record count in [1, {MAX_RECORDS}], got {count!r}")
        for k in range(count):
            record = _load_one(f, path, f"record {k + 1} of {count}")
            if not isinstance(record, dict):
                raise InputFileError(f"{path}: record {k + 1} is a {type(record).__name__}, expected {{scan_id: Scan}}")
            for scan_id, scan in record.items():
                if not isinstance(scan_id, str) or not isinstance(scan, OfficialScan):
                    raise InputFileError(
                        f"{path}: record {k + 1} maps {scan_id!r} to a {type(scan).__name__}, not a Scan"
                    )
                scans[scan_id] = scan
    return scans


def scan_to_scene(scan_id: str, scan: OfficialScan, source: str | Path = "<scan>") -> Scene:
    """A ``Scene`` from an official scan: its points, and per object the min/max box of its points (spec §10.2).

    Objects with no point among the scan's subsample get an all-zero box (no pick can match it).
    ``object_attributes["object_id"]`` keeps the aggregation ids.
    """
    where = f"{source}: scan {scan_id}"
    pc = getattr(scan, "pc", None)
    objects = getattr(scan, "three_d_objects", None)
    if not isinstance(pc, np.ndarray) or pc.ndim != 2 or pc.shape[1] < 3 or pc.shape[0] == 0:
        raise InputFileError(f"{where}: 'pc' must be an array [N, 3], got {getattr(pc, 'shape', type(pc).__name__)}")
    if not isinstance(objects, list):
        raise InputFileError(f"{where}: 'three_d_objects' must be a list, got {type(objects).__name__}")
    xyz = pc[:, :3].astype(np.float32)
    if not np.isfinite(xyz).all():
        raise InputFileError(f"{where}: 'pc' contains NaN or Inf")
    color = getattr(scan, "color", None)
    if color is None:
        rgb = np.full_like(xyz, GREY)
    else:
        rgb = np.asarray(color, dtype=np.float32)
        if rgb.shape != xyz.shape or not np.isfinite(rgb).all() or rgb.min() < 0 or rgb.max() > 1:
            raise InputFileError(f"{where}: 'color' must be [N, 3] in [0, 1] (rgb / 256)")
    n = xyz.shape[0]
    boxes = np.zeros((len(objects), 6), dtype=np.float32)
    point_objects = np.full(n, -1, dtype=np.int32)
    labels, ids = [], []
    for i, obj in enumerate(objects):
        if not isinstance(obj, dict) or "points" not in obj or "instance_label" not in obj:
            raise InputFileError(f"{where}: object {i} must be a dict with 'points' and 'instance_label'")
        idx = np.asarray(obj["points"]).reshape(-1)
        if idx.size:
            if idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= n:
                raise InputFileError(f"{where}: object {i} has point indices outside [0, {n})")
            boxes[i] = box_of_points(xyz[idx])
            point_objects[idx] = i
        labels.append(str(obj["instance_label"]))
        ids.append(int(obj.get("object_id", i)))
    return Scene(scan_id, np.concatenate([xyz, rgb], axis=1), boxes, labels, point_objects, {"object_id": ids})
