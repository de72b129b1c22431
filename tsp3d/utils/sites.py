"""Checks on a caller-given CBA sample (V1 sites), shared by the PyTorch model and the runtimes (numpy only)."""
from __future__ import annotations

import numpy as np

from tsp3d.errors import InputFileError


def _keys(coords: np.ndarray) -> np.ndarray:
    c = coords.astype(np.int64)
    return (c[:, 0] << 48) | ((c[:, 1] + 32768) << 32) | ((c[:, 2] + 32768) << 16) | (c[:, 3] + 32768)


def check_cba_sites(sample, v1_coords) -> np.ndarray:
    """``sample`` as int32 ``[S, 4]`` after checking it is a set of V1 voxels of batch 0; else one clear error."""
    s = np.asarray(sample)
    if s.ndim != 2 or s.shape[1] != 4 or s.shape[0] < 1 or not np.issubdtype(s.dtype, np.integer):
        raise InputFileError(f"a CBA sample must be integer voxel coordinates [S >= 1, 4] (batch, x, y, z), got "
                             f"{s.dtype} {list(s.shape)}")
    s = s.astype(np.int32)
    if (s[:, 0] != 0).any():
        raise InputFileError("a CBA sample must use batch index 0 (inference is batch 1)")
    keys = _keys(s)
    if np.unique(keys).size != keys.size:
        raise InputFileError(f"the CBA sample repeats {keys.size - np.unique(keys).size} site(s)")
    missing = ~np.isin(keys, _keys(np.asarray(v1_coords).reshape(-1, 4)))
    if missing.any():
        first = s[np.argmax(missing)].tolist()
        raise InputFileError(f"{int(missing.sum())} of {len(s)} CBA sample sites are not 16 cm (V1) voxels of "
                             f"this scene, e.g. {first}",
                             hint="sample from the scene's V1 coordinates (e.g. the v1_coords level output)")
    return s
