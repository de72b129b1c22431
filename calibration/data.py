"""Calibration and evaluation inputs: dataset scenes + sentences, as the exported graph takes them.

A ``Sample`` is one (scene, sentence) pair: ``points`` float32 ``[N, 6]`` (subsampled deterministically to the
graph's ``max_points``, as ``tsp3d eval`` does), ``text_feats`` ``[1, L, D]`` and ``text_mask`` ``[1, L]`` from a
text source, and the ground-truth box. Calibration takes the first sentence of each of the first ``scenes`` scenes
of a split (calibrating on ``train`` when the dataset has it keeps ``val`` for measuring). The fingerprint is the
sha256 of every array fed, in order: a cache is reused only for exactly the same inputs.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from tsp3d.errors import InputFileError

MIN_SCENES = 8  # fewer scenes give ranges that do not generalise (and an entropy histogram of a handful of rooms)
DEFAULT_SCENES = 32
CALIBRATION_SPLITS = ("train", "val")  # first one present
EVAL_SPLITS = ("val", "test", "train")

TextFn = Callable[[str], tuple]  # sentence -> (feats float32 [1, L, D], mask bool [1, L])


@dataclass
class Sample:
    scene_id: str
    ann_id: str
    text: str
    points: np.ndarray
    text_feats: np.ndarray
    text_mask: np.ndarray
    box: np.ndarray  # ground truth, centre + size [6]
    unique: bool = False

    def feeds(self) -> dict:
        return {"points": self.points, "text_feats": self.text_feats, "text_mask": self.text_mask}


# ---------------------------------------------------------------- text sources


def bundle_text(bundle_dir: str | Path, threads: int | None = None) -> TextFn:
    """The bundle's own text path (``text_features.npz``, else ``text_encoder.onnx``): no PyTorch needed."""
    from tsp3d.runtime.manifest import Bundle
    from tsp3d.runtime.text_encoder import BundleText

    text = BundleText(Bundle(bundle_dir), threads)

    def encode(sentence: str):
        t = text.encode(sentence)
        return t.feats, t.mask

    return encode


def encoder_text(encoder) -> TextFn:
    """A ``tsp3d.text`` encoder (PyTorch): the checkpoint's own."""

    def encode(sentence: str):
        f = encoder.encode([sentence])
        return (np.ascontiguousarray(f.feats.cpu().numpy(), dtype=np.float32),
                np.ascontiguousarray(f.pad_mask.cpu().numpy()))

    return encode


def named_text(name: str) -> TextFn:
    from tsp3d.text import load_text_encoder

    return encoder_text(load_text_encoder(name))


# ---------------------------------------------------------------- samples


def pick_split(data: str | Path, preferred=CALIBRATION_SPLITS) -> str:
    root = Path(data)
    for split in preferred:
        if (root / f"annotations_{split}.jsonl").is_file():
            return split
    raise InputFileError(f"{root} has none of the splits {list(preferred)} (no annotations_<split>.jsonl)",
                         hint="generate a dataset with tsp3d data synth")


def _points(points: np.ndarray, max_points: int) -> np.ndarray:
    from tsp3d.data.points import subsample

    pts = subsample(points, max_points) if points.shape[0] > max_points else points
    return np.ascontiguousarray(pts, dtype=np.float32)


def load_samples(data: str | Path, split: str, text: TextFn, max_points: int, *, scenes: int = 0,
                 per_scene: int = 1, limit: int = 0) -> list[Sample]:
    """Up to ``per_scene`` sentences (0 = all) of each of the first ``scenes`` scenes (0 = all) of ``split``,
    at most ``limit`` samples in all (0 = no limit), in file order."""
    from tsp3d.data.dataset import GroundingDataset

    ds = GroundingDataset(data, split)
    by_scene: dict[str, list[int]] = {}
    for i, ann in enumerate(ds.annotations):
        by_scene.setdefault(ann.scene_id, []).append(i)
    chosen = list(by_scene.items())[: scenes or None]
    out: list[Sample] = []
    for scene_id, idxs in chosen:
        scene = ds.scene(scene_id)
        pts = _points(scene.points, max_points)
        for i in idxs[: per_scene or None]:
            if limit and len(out) >= limit:
                return out
            ann = ds.annotations[i]
            feats, mask = text(ann.text)
            out.append(Sample(scene_id, ann.ann_id, ann.text, pts, feats, mask,
                              np.asarray(scene.boxes[ann.target], dtype=np.float64), bool(ann.unique)))
    return out


def calibration_samples(data: str | Path, text: TextFn, max_points: int, *, scenes: int = DEFAULT_SCENES,
                        split: str | None = None) -> tuple[str, list[Sample]]:
    """``(split, samples)``: one sentence per scene from the first ``scenes`` scenes; too few is an error."""
    if scenes < MIN_SCENES:
        raise InputFileError(f"a calibration set of {scenes} scenes is too small (at least {MIN_SCENES})",
                             hint=f"pass --scenes {DEFAULT_SCENES}")
    split = split or pick_split(data)
    samples = load_samples(data, split, text, max_points, scenes=scenes, per_scene=1)
    if len(samples) < MIN_SCENES:
        raise InputFileError(f"{data} split {split!r} has only {len(samples)} scenes with annotations; "
                             f"calibration needs at least {MIN_SCENES}",
                             hint="generate more scenes (tsp3d data synth) or calibrate on another split")
    return split, samples


def fingerprint(samples: list[Sample]) -> str:
    """sha256 of every array fed (points, text features, mask), in order."""
    h = hashlib.sha256()
    for s in samples:
        for arr in (s.points, s.text_feats, s.text_mask):
            a = np.ascontiguousarray(arr)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes())
    return h.hexdigest()


def group_by_scene(samples: list[Sample]) -> list[tuple[np.ndarray, list[Sample]]]:
    """``[(points, [samples of that scene])]`` in order (the backbone runs once per scene)."""
    out: list[tuple[np.ndarray, list[Sample]]] = []
    for s in samples:
        if out and out[-1][1][0].scene_id == s.scene_id:
            out[-1][1].append(s)
        else:
            out.append((s.points, [s]))
    return out
