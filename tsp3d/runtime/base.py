"""One interface for every runtime: PyTorch, ONNX Runtime, TensorRT.

    rt = OnnxRuntime("bundle/")                       # or TorchRuntime("model.pt"), TensorRTRuntime(...)
    scene = rt.encode_scene(points)                   # float32 [N, 6]: x, y, z (m), r, g, b in [0, 1]
    for r in rt.ground_texts(scene, ["the black chair", "the lamp"]):   # the backbone ran once
        print(r.center, r.size, r.score, r.counts)

Inputs are numpy (or anything ``np.asarray`` takes): points float32 ``[N, 6]``; text features float32
``[1, L, D]`` with a bool mask ``[1, L]`` (True = padding). Every runtime checks them the same way (typed errors),
returns the same ``GroundingResult`` and is deterministic.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from tsp3d.errors import CapacityError, InputFileError

COUNT_NAMES = ("v3", "tgp64_kept", "up32", "tgp32_kept", "up16", "cba_sampled", "cba_confident", "cba_added",
               "final")  # = tsp3d.model.head.COUNT_NAMES (not imported: runtimes must not need torch)


@dataclass
class GroundingResult:
    """One predicted axis-aligned box (metres), its score, and the voxel counts along the way."""

    center: np.ndarray  # float32 [3]
    size: np.ndarray  # float32 [3]
    score: float
    counts: dict[str, int]
    text: str | None = None

    @property
    def box(self) -> np.ndarray:
        """``[6]``: centre then size (the format of ``tsp3d.data.boxes``)."""
        return np.concatenate([self.center, self.size]).astype(np.float32)

    def to_dict(self) -> dict:
        out = {"center": [float(v) for v in self.center], "size": [float(v) for v in self.size],
               "score": float(self.score), "counts": dict(self.counts)}
        return {"text": self.text, **out} if self.text is not None else out

    @classmethod
    def from_outputs(cls, center, size, score, counts, text: str | None = None) -> "GroundingResult":
        counts = np.asarray(counts).reshape(-1).tolist()
        if len(counts) != len(COUNT_NAMES):
            raise InputFileError(f"the model returned {len(counts)} counts, expected {len(COUNT_NAMES)}")
        return cls(np.asarray(center, dtype=np.float32).reshape(3), np.asarray(size, dtype=np.float32).reshape(3),
                   float(np.asarray(score, dtype=np.float32).reshape(())), dict(zip(COUNT_NAMES, map(int, counts))),
                   text)


@dataclass
class SceneHandle:
    """A scene encoded by ``Runtime.encode_scene``: runtime-specific level tensors (V1/V2/V3), reused per text."""

    levels: Any
    num_points: int
    meta: dict = field(default_factory=dict)


@dataclass
class TextInput:
    feats: np.ndarray  # float32 [1, L, D]
    mask: np.ndarray  # bool [1, L], True = padding
    text: str | None = None


# Voxel coordinates are packed into 16 bits per axis (tsp3d/sparse/coords.py: [-32768, 32767]). Generative
# upsampling from the coarsest level (stride 64) reaches 48 voxels below the lowest stride-64 site, so the input's
# lowest voxel must be >= -32768 + 64 for every level to stay in range; the highest may be 32767.
VOXEL_MIN = -32768 + 64
VOXEL_MAX = 32767


def check_coordinate_range(xyz: np.ndarray, voxel_size: float) -> None:
    """Refuse a scene whose voxels (``floor(xyz / voxel_size)`` in float32, as the Voxelize kernels) would leave
    the coordinate range of the sparse core, naming the limit in metres and the fixes."""
    q = np.floor(xyz / np.float32(voxel_size))
    lo, hi = float(q.min()), float(q.max())
    if lo >= VOXEL_MIN and hi <= VOXEL_MAX:
        return
    axis_row = np.argwhere((q < VOXEL_MIN) | (q > VOXEL_MAX))[0]
    row, axis = int(axis_row[0]), "xyz"[int(axis_row[1])]
    raise InputFileError(
        f"point {row} has {axis} = {float(xyz[row, axis_row[1]]):.6g} m: at voxel_size {voxel_size} m the scene "
        f"must lie within [{VOXEL_MIN * voxel_size:.2f}, {VOXEL_MAX * voxel_size:.2f}] m of the origin on each axis "
        f"(voxel coordinates [{VOXEL_MIN}, {VOXEL_MAX}])",
        hint="re-centre the scene near the origin (e.g. subtract its mean), crop it, or use a model with a larger "
             "voxel_size")


def check_points(points, max_points: int, voxel_size: float | None = None) -> np.ndarray:
    """float32 C-contiguous ``[N, 6]`` with finite x, y, z, colours in [0, 1] and ``1 <= N <= max_points``, or a
    typed error. With ``voxel_size``, also the coordinate range of the sparse core (``check_coordinate_range``)."""
    arr = np.asarray(points)
    if arr.ndim != 2 or arr.shape[1] != 6:
        raise InputFileError(f"points must be [N, 6] (x, y, z, r, g, b), got shape {list(arr.shape)}")
    if arr.shape[0] == 0:
        raise InputFileError("the point cloud is empty")
    if not np.issubdtype(arr.dtype, np.floating):
        raise InputFileError(f"points must be floating point, got {arr.dtype}")
    if arr.shape[0] > max_points:  # before any copy: a huge array costs nothing to refuse
        raise CapacityError(f"{arr.shape[0]} points exceed capacities.max_points={max_points}",
                            hint="subsample the scene (tsp3d ground --subsample; read_point_cloud(..., "
                                 "subsample_to_max=True)) or export with a larger --capacity max_points=...")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    bad = ~np.isfinite(arr[:, :3]).all(axis=1)
    if bad.any():
        raise InputFileError(f"{int(bad.sum())} points have NaN/Inf coordinates (first at row "
                             f"{int(np.flatnonzero(bad)[0])})")
    rgb = arr[:, 3:6]
    finite = np.isfinite(rgb)
    if not finite.all() or float(rgb.min()) < 0.0 or float(rgb.max()) > 1.0:
        shown = rgb[finite]
        found = f"values in [{shown.min():.6g}, {shown.max():.6g}]" if shown.size else "no finite value"
        raise InputFileError(f"colours must be finite and in [0, 1], found {found}"
                             + ("" if finite.all() else " and NaN/Inf"),
                             hint="8-bit colours: convert with tsp3d.data.points.colors_to_unit (divides by 256), "
                                  "or read files with tsp3d.data.pointcloud.read_point_cloud")
    if voxel_size is not None:
        check_coordinate_range(arr[:, :3], voxel_size)
    return arr


def check_text(feats, mask, dim: int) -> TextInput:
    """``[1, L, dim]`` float32 features and a bool ``[1, L]`` mask whose first token is not padding."""
    f, m = np.asarray(feats), np.asarray(mask)
    if f.ndim == 2:
        f = f[None]
    if m.ndim == 1:
        m = m[None]
    if f.ndim != 3 or f.shape[0] != 1 or f.shape[2] != dim or f.shape[1] < 1:
        raise InputFileError(f"text features must be [1, L, {dim}], got {list(np.asarray(feats).shape)}")
    if m.dtype != np.bool_ or m.shape != f.shape[:2]:
        raise InputFileError(f"text mask must be bool {list(f.shape[:2])} (True = padding), got {m.dtype} "
                             f"{list(m.shape)}")
    if bool(m[0, 0]):
        raise InputFileError("the first text token must not be padding (it is the sentence vector)")
    if not np.isfinite(f).all():
        raise InputFileError("text features contain NaN/Inf")
    return TextInput(np.ascontiguousarray(f, dtype=np.float32), np.ascontiguousarray(m))


class Runtime(abc.ABC):
    """Base class: subclasses implement ``_encode_scene``, ``_ground`` and ``encode_text``."""

    name = "runtime"
    precision = "fp32"

    def __init__(self, text_dim: int, max_points: int, voxel_size: float | None = None):
        self.text_dim, self.max_points = int(text_dim), int(max_points)
        self.voxel_size = None if voxel_size is None else float(voxel_size)  # None: no coordinate-range check

    @property
    def label(self) -> str:
        """e.g. ``onnxruntime-fp16`` (used in reports)."""
        return f"{self.name}-{self.precision}"

    # ---------------------------------------------------------------- what subclasses provide

    @abc.abstractmethod
    def _encode_scene(self, points: np.ndarray) -> Any:
        """Checked points -> the runtime's level tensors."""

    @abc.abstractmethod
    def _ground(self, levels: Any, text: TextInput) -> GroundingResult:
        """Levels + checked text -> one result."""

    @abc.abstractmethod
    def encode_text(self, text: str) -> TextInput:
        """One sentence -> features [1, L, D] + mask (its own tokens, no padding)."""

    # ---------------------------------------------------------------- the interface

    def encode_scene(self, points) -> SceneHandle:
        pts = check_points(points, self.max_points, self.voxel_size)
        return SceneHandle(self._encode_scene(pts), pts.shape[0])

    def ground(self, scene: SceneHandle, text_feats, text_mask, text: str | None = None) -> GroundingResult:
        result = self._ground(scene.levels, check_text(text_feats, text_mask, self.text_dim))
        result.text = text
        return result

    def ground_text(self, scene: SceneHandle, text: str) -> GroundingResult:
        t = self.encode_text(text)
        return self.ground(scene, t.feats, t.mask, text)

    def ground_texts(self, scene: SceneHandle, texts: Sequence[str]) -> list[GroundingResult]:
        """Every sentence about one encoded scene: the backbone is not run again."""
        return [self.ground_text(scene, t) for t in texts]

    def predict(self, points, text_feats, text_mask) -> GroundingResult:
        """One scene, one sentence."""
        return self.ground(self.encode_scene(points), text_feats, text_mask)

    def close(self) -> None:
        """Release sessions/engines (optional)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
