"""Ground sentences in one scene with any runtime: what ``tsp3d ground`` does, usable as a library.

    rt = open_runtime(onnx="bundle/")                     # or checkpoint=..., or engines=[...] (+ onnx for text)
    points, name = load_scene("scan.ply", max_points=rt.max_points)
    report = ground_sentences(rt, points, ["the black chair", "the lamp"])   # the backbone runs once
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tsp3d.errors import InputFileError


def open_runtime(checkpoint=None, onnx=None, engines=(), *, precision: str = "fp32", form: str = "split",
                 plugin=None, threads: int | None = None):
    """The runtime for the given source: a checkpoint (PyTorch), a bundle (ONNX Runtime), or engines (TensorRT,
    with the bundle ``onnx`` for text encoding and capacities)."""
    given = [checkpoint is not None, onnx is not None and not engines, bool(engines)]
    if sum(given) != 1:
        raise InputFileError("give exactly one of --checkpoint, --onnx, --engine (an engine may come with --onnx "
                             "for its text encoder)")
    if checkpoint is not None:
        from tsp3d.runtime.torch_runtime import TorchRuntime

        return TorchRuntime(checkpoint)
    if engines:
        from tsp3d.runtime.tensorrt_runtime import TensorRTRuntime

        return TensorRTRuntime(list(engines), plugin, bundle=onnx, precision=precision)
    from tsp3d.runtime.onnx_runtime import OnnxRuntime

    return OnnxRuntime(onnx, precision, form, threads=threads)


def load_scene(scene: str | Path, *, data=None, max_points: int, subsample: bool = False,
               bin_columns: int | None = None):
    """``(points float32 [N, 6], name)`` from a point-cloud file (PLY, NPY, NPZ, BIN) or a dataset scene id.

    More than ``max_points`` points is an error unless ``subsample`` (a deterministic subsample, as evaluation).
    ``bin_columns``: values per row of a raw ``.bin`` cloud (3, 4 or 6)."""
    from tsp3d.data.pointcloud import SUFFIXES, read_point_cloud
    from tsp3d.data.points import subsample as subsample_points

    path = Path(scene)
    if path.is_file() or (data is None and path.suffix.lower() in SUFFIXES):  # a missing file: "does not exist"
        pts = read_point_cloud(path, columns=bin_columns, max_points=max_points, subsample_to_max=subsample)
        return pts, path.name
    if data is None:
        raise InputFileError(f"scene {scene} is neither a file nor (without --data) a dataset scene id",
                             hint="pass a PLY/NPY/NPZ/BIN file, or --data DIR with a scene id")
    from tsp3d.data import format as fmt

    scene_file = fmt.scene_path(data, str(scene))
    if not scene_file.is_file():
        raise InputFileError(f"no scene {scene!r} in dataset {data} (looked for {scene_file})")
    pts = fmt.read_scene(scene_file, str(scene)).points
    if pts.shape[0] > max_points:
        if not subsample:
            raise InputFileError(f"scene {scene} has {pts.shape[0]} points, more than max_points={max_points}",
                                 hint="pass --subsample to take a deterministic subsample")
        pts = subsample_points(pts, max_points)
    return np.ascontiguousarray(pts, dtype=np.float32), str(scene)


def collect_texts(texts=(), texts_file=None) -> list[str]:
    from tsp3d.export.text_encoder import read_texts_file

    out = list(texts or []) + (read_texts_file(texts_file) if texts_file is not None else [])
    if not out:
        raise InputFileError("no sentence given", hint="use --text \"the black chair\" (repeatable) or --texts FILE")
    return out


def ground_sentences(runtime, points, texts: list[str]) -> dict:
    """Encode the scene once and ground every sentence -> a JSON-able report with latencies.

    Every sentence is encoded (and so checked: empty, too long, unknown words) before the scene, so a bad one
    fails before the expensive part. A sentence's latency is its text encoding plus its grounding."""
    encoded, text_ms = [], []
    for text in texts:
        s = time.perf_counter()
        encoded.append(runtime.encode_text(text))
        text_ms.append(1e3 * (time.perf_counter() - s))
    t0 = time.perf_counter()
    scene = runtime.encode_scene(points)
    t1 = time.perf_counter()
    results, per_text = [], []
    for text, t, ms in zip(texts, encoded, text_ms):
        s = time.perf_counter()
        results.append(runtime.ground(scene, t.feats, t.mask, text))
        per_text.append(ms + 1e3 * (time.perf_counter() - s))
    return {"runtime": runtime.label, "points": int(scene.num_points), "results": results,
            "latency_ms": {"scene": 1e3 * (t1 - t0), "per_sentence": per_text}}


def report_json(report: dict, scene_name: str) -> dict:
    return {"scene": scene_name, **report, "results": [r.to_dict() for r in report["results"]]}
