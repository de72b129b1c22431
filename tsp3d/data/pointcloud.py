"""``read_point_cloud``: a point cloud file -> float32 ``[N, 6]`` (x, y, z in metres, r, g, b in [0, 1]).

Formats (by file suffix):

- ``.ply``: ASCII or binary, a ``vertex`` element with ``x, y, z`` and optionally ``red, green, blue`` (ScanNet's
  ``_vh_clean_2.ply``: uchar colours + alpha + faces; faces and other properties are ignored);
- ``.npy``: an array ``[N, 3 | 4 | 6]``; ``.npz``: the array named ``points`` (or the only array);
- ``.bin``: raw little-endian float32 rows of ``columns`` values (3, 4 or 6; must be given).

Four columns are x, y, z + intensity (KITTI-style); the intensity is dropped. Clouds without colour get the
constant grey ``GREY`` (0.5). Colours follow ``tsp3d.data.points.colors_to_unit``: integers 0..255 and floats
above 1 are divided by 256 (the official convention), floats in [0, 1] are kept.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tsp3d.data.points import DEFAULT_SEED, GREY, colors_to_unit, subsample
from tsp3d.errors import InputFileError

DEFAULT_MAX_POINTS = 5_000_000  # a bound on memory; raise it explicitly for bigger scans
BIN_COLUMNS = (3, 4, 6)
SUFFIXES = (".ply", ".npy", ".npz", ".bin")
_COLOR_NAMES = (("red", "green", "blue"), ("diffuse_red", "diffuse_green", "diffuse_blue"), ("r", "g", "b"))


def _read_ply(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    from plyfile import PlyData

    try:
        ply = PlyData.read(str(path), mmap=False)
    except Exception as e:  # PlyParseError, ValueError, EOFError, UnicodeDecodeError ...
        raise InputFileError(f"{path}: not a readable PLY file ({type(e).__name__}: {e})") from e
    names = [el.name for el in ply.elements]
    if "vertex" not in names:
        raise InputFileError(f"{path}: PLY has no 'vertex' element (elements: {names})")
    vertex = ply["vertex"].data
    props = vertex.dtype.names or ()
    missing = [c for c in "xyz" if c not in props]
    if missing:
        raise InputFileError(f"{path}: PLY vertex has no {'/'.join(missing)} property (properties: {list(props)})")
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/overflow are reported by read_point_cloud
        xyz = np.stack([np.asarray(vertex[c], dtype=np.float64) for c in "xyz"], axis=1)
    for triple in _COLOR_NAMES:
        if all(c in props for c in triple):
            return xyz, np.stack([np.asarray(vertex[c]) for c in triple], axis=1)
    return xyz, None


def _split_columns(path: Path, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    if arr.dtype.kind not in "fiu" or arr.ndim != 2 or arr.shape[1] not in BIN_COLUMNS:
        raise InputFileError(
            f"{path}: expected a numeric array [N, 3|4|6] (xyz, xyz+intensity or xyz+rgb), got {arr.dtype} {arr.shape}"
        )
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/overflow are reported by read_point_cloud
        xyz = arr[:, :3].astype(np.float64)
    return xyz, (arr[:, 3:6] if arr.shape[1] == 6 else None)


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except Exception as e:
        raise InputFileError(f"{path}: not a readable .npy array ({type(e).__name__}: {e})") from e


def _read_npz(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:  # the file closes even when np.load fails
            keys = list(z.files)
            if "points" in keys:
                return z["points"]
            if len(keys) == 1:
                return z[keys[0]]
    except Exception as e:
        raise InputFileError(f"{path}: not a readable .npz archive ({type(e).__name__}: {e})") from e
    raise InputFileError(f"{path}: .npz has no array 'points' and more than one array ({keys}): which is the cloud?")


def _read_bin(path: Path, columns: int | None) -> np.ndarray:
    if columns not in BIN_COLUMNS:
        raise InputFileError(
            f"{path}: a .bin cloud needs its column count (3, 4 or 6), got {columns!r}",
            hint="pass columns=N (tsp3d ground: --bin-columns N)",
        )
    raw = np.fromfile(path, dtype="<f4")
    if raw.size % columns:
        raise InputFileError(
            f"{path}: {path.stat().st_size} bytes is not a whole number of {columns}-float32 rows "
            f"(truncated, or not {columns} columns)"
        )
    return raw.reshape(-1, columns)


def _declared_count(path: Path, suffix: str, columns: int | None) -> int | None:
    """The number of points a file declares in its header (or its size implies), read without loading it; None
    when it cannot tell (the full read then reports what is wrong)."""
    try:
        if suffix == ".npy":
            with open(path, "rb") as f:
                fmt = np.lib.format
                major, _ = fmt.read_magic(f)
                shape = (fmt.read_array_header_1_0 if major == 1 else fmt.read_array_header_2_0)(f)[0]
            return int(shape[0]) if len(shape) == 2 else None
        if suffix == ".bin" and columns in BIN_COLUMNS:
            return path.stat().st_size // (4 * columns)
        if suffix == ".ply":
            with open(path, "rb") as f:
                head = f.read(1 << 16)
            for line in head.split(b"end_header")[0].splitlines():
                words = line.split()
                if len(words) == 3 and words[0] == b"element" and words[1] == b"vertex":
                    return int(words[2])
    except Exception:  # a damaged header fails in many ways (ValueError, SyntaxError, TokenError, ...)
        return None
    return None


def _too_many(path: Path, count: int, max_points: int) -> InputFileError:
    return InputFileError(
        f"{path} has {count} points, more than max_points={max_points}",
        hint="subsample it (tsp3d ground --subsample; library: subsample_to_max=True), or use a model exported "
             "with a larger capacity (tsp3d export --capacity max_points=N)",
    )


def read_point_cloud(
    path: str | Path,
    *,
    columns: int | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    subsample_to_max: bool = False,
    seed: int = DEFAULT_SEED,
) -> np.ndarray:
    """Read and validate a cloud; returns float32 ``[N, 6]``.

    A cloud of more than ``max_points`` points is refused unless ``subsample_to_max``, which keeps a deterministic
    random ``max_points`` of them (``tsp3d.data.points.subsample`` with ``seed``).
    """
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1, got {max_points}")
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"point cloud {path} does not exist")
    if not path.is_file():
        raise InputFileError(f"point cloud {path} is not a file")
    if path.stat().st_size == 0:
        raise InputFileError(f"point cloud {path} is empty (0 bytes)")
    suffix = path.suffix.lower()
    declared = _declared_count(path, suffix, columns)
    if declared is not None and declared > max_points and not subsample_to_max:
        raise _too_many(path, declared, max_points)  # before reading (and allocating) anything
    if suffix == ".ply":
        xyz, rgb = _read_ply(path)
    elif suffix == ".npy":
        xyz, rgb = _split_columns(path, _read_npy(path))
    elif suffix == ".npz":
        xyz, rgb = _split_columns(path, _read_npz(path))
    elif suffix == ".bin":
        xyz, rgb = _split_columns(path, _read_bin(path, columns))
    else:
        raise InputFileError(f"{path}: unknown point cloud format {suffix!r} (supported: {', '.join(SUFFIXES)})")
    if xyz.shape[0] == 0:
        raise InputFileError(f"point cloud {path} has no points")
    with np.errstate(over="ignore"):  # float64 beyond float32's range becomes inf: refused below
        xyz32 = xyz.astype(np.float32)
    bad = ~np.isfinite(xyz32).all(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputFileError(
            f"{path}: {int(bad.sum())} points have NaN/Inf coordinates (or beyond float32's range; first at row "
            f"{row}: {xyz[row]})"
        )
    if rgb is None:
        rgb01 = np.full((xyz.shape[0], 3), GREY, dtype=np.float32)
    else:
        try:
            rgb01 = colors_to_unit(rgb)
        except ValueError as e:
            raise InputFileError(f"{path}: bad colours: {e}") from e
    points = np.concatenate([xyz32, rgb01], axis=1)
    if points.shape[0] > max_points:
        if not subsample_to_max:
            raise _too_many(path, points.shape[0], max_points)
        points = subsample(points, max_points, seed)
    return points
