"""``tsp3d validate``: PyTorch FP32 (the reference) against every available runtime, on dataset scenes.

For each runtime (ONNX Runtime FP32, ONNX Runtime FP16 when the bundle has it, TensorRT when engines are given)
and each (scene, sentence): top-1 box IoU against the reference (identical = IoU >= 0.999), the nine voxel counts,
the voxel sets **as sets** (backbone levels; TGP-kept, upsampled and final sets in the head, ONNX Runtime only),
float outputs through Polygraphy (max abs / max rel / scaled rel / cosine, where the sets agree), task accuracy
(Acc@0.25/0.5 against the ground truth) and latency. Every runtime is fed the same text features (the reference
encoder's), so model parity is not mixed with text-encoder parity (reported separately).
Tolerances (``tsp3d/configs/parity/tolerances.json``, overridable) turn the report into pass/fail.
"""
from __future__ import annotations

import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from tsp3d import parity
from tsp3d.validate_report import check_tolerances, load_tolerances

IDENTICAL_IOU = 0.999
THRESHOLDS = (0.25, 0.5)


class _RuntimeLog:
    """Everything measured for one runtime."""

    def __init__(self, label: str, precision: str, ref_label: str):
        self.label, self.precision = label, precision
        self.samples: list[dict] = []
        self.level_sets: dict[str, list[bool]] = defaultdict(list)
        self.head_sets: dict[str, list[bool]] = defaultdict(list)
        self.scene_outputs = parity.OutputLog(ref_label, label)
        self.box_outputs = parity.OutputLog(ref_label, label)
        self.scene_ms: list[float] = []
        self.head_ms: list[float] = []

    def summary(self, ref_acc: dict) -> dict:
        n = len(self.samples)
        ious = [s["iou_vs_ref"] for s in self.samples]
        acc = {f"acc@{t}": float(np.mean([s["iou_gt"] > t for s in self.samples])) for t in THRESHOLDS}
        per_count = {name: float(np.mean([s["counts"][name] == s["ref_counts"][name] for s in self.samples]))
                     for name in parity_count_names()}
        out = {
            "precision": self.precision,
            "samples": n,
            "top1_identical": float(np.mean([i >= IDENTICAL_IOU for i in ious])),
            "iou_vs_ref": {"min": float(min(ious)), "mean": float(np.mean(ious))},
            "counts_identical": float(np.mean([s["counts"] == s["ref_counts"] for s in self.samples])),
            "counts_identical_by_name": per_count,
            "backbone_sets_identical": {k: float(np.mean(v)) for k, v in self.level_sets.items()},
            "accuracy": acc,
            "accuracy_drop": {k: ref_acc[k] - acc[k] for k in acc},
            "score_max_abs": float(max(abs(s["score"] - s["ref_score"]) for s in self.samples)),
            "outputs": {**self.scene_outputs.compare(), **self.box_outputs.compare()},
            "latency_ms": {"scene_median": statistics.median(self.scene_ms) if self.scene_ms else None,
                           "sentence_median": statistics.median(self.head_ms) if self.head_ms else None},
        }
        if self.head_sets:
            out["head_sets_identical"] = {k: float(np.mean(v)) for k, v in self.head_sets.items()}
            all_sets = [all(v[i] for v in self.head_sets.values()) for i in range(n)]
            out["kept_sets_identical"] = float(np.mean(all_sets))
        return out


def parity_count_names() -> tuple[str, ...]:
    from tsp3d.runtime.base import COUNT_NAMES

    return COUNT_NAMES


def _select(dataset, scenes: int, all_sentences: bool) -> list[tuple[str, list[int]]]:
    by_scene: dict[str, list[int]] = defaultdict(list)
    for i, ann in enumerate(dataset.annotations):
        by_scene[ann.scene_id].append(i)
    chosen = list(by_scene.items())[: scenes if scenes > 0 else None]
    return [(sid, idxs if all_sentences else idxs[:1]) for sid, idxs in chosen]


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, 1e3 * (time.perf_counter() - t0)


def _make_runtimes(bundle, engines, plugin, engine_precision: str, threads):
    from tsp3d.runtime.onnx_runtime import OnnxRuntime

    runtimes = [OnnxRuntime(bundle, p, "split", threads=threads) for p in bundle.precisions]
    if engines:
        from tsp3d.runtime.tensorrt_runtime import TensorRTRuntime

        runtimes.append(TensorRTRuntime(engines, plugin, bundle=bundle, precision=engine_precision))
    return runtimes


def validate(checkpoint, onnx_dir, data, *, split: str = "val", scenes: int = 0, all_sentences: bool = False,
             engines=(), plugin=None, engine_precision: str = "fp32", tolerances=None, threads: int | None = None,
             reference: str = "checkpoint", progress=None) -> dict:
    """Measure parity; returns the report (``violations`` lists the broken tolerances, empty when all pass)."""
    import onnx
    import torch

    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.errors import InputFileError, ModelFormatError
    from tsp3d.evaluation import scene_points
    from tsp3d.runtime.manifest import Bundle
    from tsp3d.runtime.torch_runtime import TorchRuntime

    if reference not in ("checkpoint", "folded"):
        raise InputFileError(f"reference must be 'checkpoint' or 'folded', got {reference!r}")
    tol = load_tolerances(tolerances)
    bundle = Bundle(onnx_dir)
    bundle.verify()
    ref = TorchRuntime(checkpoint, fold=reference == "folded")
    from tsp3d.checkpoint import load_checkpoint

    if load_checkpoint(checkpoint).hash != bundle.manifest["checkpoint"]["state_hash"]:
        raise ModelFormatError(f"{onnx_dir} was exported from another checkpoint than {checkpoint}",
                               hint="validate a bundle against the checkpoint it was exported from")
    dataset = GroundingDataset(data, split)
    work = _select(dataset, scenes, all_sentences)
    if not work:
        raise InputFileError(f"{data} split {split!r} has no annotations")
    runtimes = _make_runtimes(bundle, engines, plugin, engine_precision, threads)
    logs = {rt.label: _RuntimeLog(rt.label, rt.precision, ref.label) for rt in runtimes}
    debug_heads = {}
    for rt in runtimes:
        if rt.name == "onnxruntime":
            debug_heads[rt.label] = parity.head_with_set_outputs(onnx.load(str(bundle.graph(rt.precision, "head"))))
    ref_samples, text_err, done = [], 0.0, 0
    total = sum(len(idxs) for _, idxs in work)
    bundle_text = _bundle_text(bundle)
    for scene_id, idxs in work:
        scene = dataset.scene(scene_id)
        points = scene_points(ref.model, scene).numpy()
        ref_scene, _ = _timed(ref.encode_scene, points)
        ref_levels = ref.levels_numpy(ref_scene.levels)
        rt_scenes = {}
        for rt in runtimes:
            rt_scene, ms = _timed(rt.encode_scene, points)
            rt_scenes[rt.label] = rt_scene
            log = logs[rt.label]
            log.scene_ms.append(ms)
            if _has_levels(rt):
                levels = rt.levels_numpy(rt_scene.levels)
                for i, name in enumerate(parity.LEVEL_SETS):
                    log.level_sets[name].append(parity.compare_sets(levels[2 * i], ref_levels[2 * i])["identical"])
                log.scene_outputs.add({f"{n}_feats": ref_levels[2 * i + 1] for i, n in enumerate(parity.LEVEL_SETS)},
                                      {f"{n}_feats": levels[2 * i + 1] for i, n in enumerate(parity.LEVEL_SETS)})
        for idx in idxs:
            ann = dataset.annotations[idx]
            text = ref.encode_text(ann.text)
            if bundle_text is not None:
                got = bundle_text.encode(ann.text)
                if got.feats.shape == text.feats.shape:
                    text_err = max(text_err, float(np.abs(got.feats - text.feats).max()))
                else:
                    text_err = float("inf")
            feats, mask = torch.from_numpy(text.feats), torch.from_numpy(text.mask)
            (out, ref_sets), _ = _timed(parity.record_torch_head_sets, ref.model, ref_scene.levels, feats, mask)
            from tsp3d.runtime.base import GroundingResult

            ref_res = GroundingResult.from_outputs(*(t.numpy() for t in out))
            gt = scene.boxes[ann.target]
            ref_samples.append({"iou_gt": parity.box_iou(ref_res.box, gt)})
            for rt in runtimes:
                log = logs[rt.label]
                t0 = time.perf_counter()
                if rt.label in debug_heads:
                    proto, names = debug_heads[rt.label]
                    res, sets = rt.run_head_with_extras(rt_scenes[rt.label].levels, text, proto, names)
                    sets = dict(zip(parity.HEAD_SETS, (sets[n] for n in names)))
                else:
                    res, sets = rt.ground(rt_scenes[rt.label], text.feats, text.mask), None
                log.head_ms.append(1e3 * (time.perf_counter() - t0))
                if sets is not None:
                    for name in parity.HEAD_SETS:
                        log.head_sets[name].append(parity.compare_sets(sets[name], ref_sets[name])["identical"])
                log.samples.append({"ann_id": ann.ann_id, "scene_id": scene_id, "iou_vs_ref": parity.box_iou(
                    res.box, ref_res.box), "iou_gt": parity.box_iou(res.box, gt), "counts": res.counts,
                    "ref_counts": ref_res.counts, "score": res.score, "ref_score": ref_res.score,
                    "sets_identical": None if sets is None else all(log.head_sets[n][-1] for n in parity.HEAD_SETS)})
                if res.counts == ref_res.counts and (sets is None or log.samples[-1]["sets_identical"]):
                    log.box_outputs.add({"center": ref_res.center, "size": ref_res.size, "score": ref_res.score},
                                        {"center": res.center, "size": res.size, "score": res.score})
            done += 1
            if progress:
                progress(done, total)
    ref_acc = {f"acc@{t}": float(np.mean([s["iou_gt"] > t for s in ref_samples])) for t in THRESHOLDS}
    report = {
        "checkpoint": str(checkpoint), "bundle": str(onnx_dir), "data": str(data), "split": split,
        "scenes": len(work), "samples": total, "reference": ref.label, "reference_accuracy": ref_acc,
        "text_encoder_max_abs": text_err if bundle_text is not None else None,
        "runtimes": {label: log.summary(ref_acc) for label, log in logs.items()},
        "per_sample": {label: log.samples for label, log in logs.items()},
        "tolerances": tol,
    }
    report["violations"] = check_tolerances(report, tol)
    return report


def _has_levels(rt) -> bool:
    """Split-form runtimes hand over the backbone levels (a single graph or engine does not)."""
    return getattr(rt, "split", getattr(rt, "form", "split") == "split")


def _bundle_text(bundle):
    if "file" not in bundle.text_encoder:
        return None
    from tsp3d.runtime.text_encoder import BundleText

    return BundleText(bundle)
