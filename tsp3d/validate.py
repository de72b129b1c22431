"""``tsp3d validate``: PyTorch FP32 (the reference) against every available runtime, on dataset scenes.

For each runtime (ONNX Runtime FP32, ONNX Runtime FP16 when the bundle has it, TensorRT when engines are given)
and each (scene, sentence): top-1 box IoU against the reference (identical = IoU >= 0.999), the nine voxel counts,
the voxel sets **as sets** (backbone levels; TGP-kept, upsampled and final sets in the head, and whether the same
voxel won the top-1: ONNX Runtime only),
float outputs through Polygraphy (max abs / max rel / scaled rel / cosine, where the sets agree), task accuracy
(Acc@0.25/0.5 against the ground truth) and latency. Every runtime is fed the same text features (the reference
encoder's), so model parity is not mixed with text-encoder parity (reported separately).
Tolerances (``tsp3d/configs/parity/tolerances.json``, overridable) turn the report into pass/fail.
"""
from __future__ import annotations

import statistics
import time
from collections import defaultdict

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

    def add_scene(self, levels: list, ref_levels: list) -> None:
        """Backbone levels (coords, feats) x 3 of the runtime and of the reference."""
        for i, name in enumerate(parity.LEVEL_SETS):
            self.level_sets[name].append(parity.compare_sets(levels[2 * i], ref_levels[2 * i])["identical"])
        self.scene_outputs.add({f"{n}_feats": ref_levels[2 * i + 1] for i, n in enumerate(parity.LEVEL_SETS)},
                               {f"{n}_feats": levels[2 * i + 1] for i, n in enumerate(parity.LEVEL_SETS)})

    def add_sample(self, ids: dict, res, ref_res, trace, ref_trace, gt) -> None:
        """One sentence: the runtime's result (and head trace, when measured) against the reference."""
        same_sets = same_site = None
        if trace is not None:
            agree = trace.compare(ref_trace)
            for name in parity.HEAD_SETS:
                self.head_sets[name].append(agree[name])
            same_sets, same_site = all(agree[n] for n in parity.HEAD_SETS), agree["top1_site"]
        iou_ref = parity.box_iou(res.box, ref_res.box)
        self.samples.append({**ids, "iou_vs_ref": iou_ref, "iou_gt": parity.box_iou(res.box, gt),
                             "counts": res.counts, "ref_counts": ref_res.counts, "score": res.score,
                             "ref_score": ref_res.score, "sets_identical": same_sets, "top1_same_site": same_site})
        # Numeric error of the same box only: a voxel-set or top-1 flip is counted by the shares above, not mixed
        # into the error statistics.
        if res.counts == ref_res.counts and same_sets is not False and same_site is not False:
            self.box_outputs.add({"center": ref_res.center, "size": ref_res.size, "score": ref_res.score},
                                 {"center": res.center, "size": res.size, "score": res.score})

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
            out["kept_sets_identical"] = float(np.mean([s["sets_identical"] for s in self.samples]))
            out["top1_same_site"] = float(np.mean([s["top1_same_site"] for s in self.samples]))
        return out


def parity_count_names() -> tuple[str, ...]:
    from tsp3d.runtime.base import COUNT_NAMES

    return COUNT_NAMES


def select_samples(dataset, scenes: int, all_sentences: bool) -> list[tuple[str, list[int]]]:
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
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.errors import InputFileError
    from tsp3d.evaluation import scene_points
    from tsp3d.runtime.manifest import Bundle

    if reference not in ("checkpoint", "folded"):
        raise InputFileError(f"reference must be 'checkpoint' or 'folded', got {reference!r}")
    tol = load_tolerances(tolerances)
    bundle = Bundle(onnx_dir)
    bundle.verify()
    ref = _reference_runtime(checkpoint, onnx_dir, bundle, reference)
    dataset = GroundingDataset(data, split)
    work = select_samples(dataset, scenes, all_sentences)
    if not work:
        raise InputFileError(f"{data} split {split!r} has no annotations")
    runtimes = _make_runtimes(bundle, engines, plugin, engine_precision, threads)
    logs = {rt.label: _RuntimeLog(rt.label, rt.precision, ref.label) for rt in runtimes}
    heads = {rt.label: _head_with_sets(bundle, rt.precision) for rt in runtimes if rt.name == "onnxruntime"}
    bundle_text = _bundle_text(bundle)
    ref_iou, text_err, done, total = [], 0.0, 0, sum(len(idxs) for _, idxs in work)
    for scene_id, idxs in work:
        scene = dataset.scene(scene_id)
        ref_scene, rt_scenes = _encode_scene(ref, runtimes, logs, scene_points(ref.model, scene).numpy())
        for idx in idxs:
            ann = dataset.annotations[idx]
            text = ref.encode_text(ann.text)
            if bundle_text is not None:
                text_err = max(text_err, _text_error(bundle_text.encode(ann.text), text))
            ref_res, ref_trace = _reference_ground(ref, ref_scene, text)
            gt = scene.boxes[ann.target]
            ref_iou.append(parity.box_iou(ref_res.box, gt))
            for rt in runtimes:
                res, trace = _ground(rt, rt_scenes[rt.label], text, heads.get(rt.label), logs[rt.label])
                logs[rt.label].add_sample({"ann_id": ann.ann_id, "scene_id": scene_id}, res, ref_res, trace,
                                          ref_trace, gt)
            done += 1
            if progress:
                progress(done, total)
    ref_acc = {f"acc@{t}": float(np.mean([i > t for i in ref_iou])) for t in THRESHOLDS}
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


def _reference_runtime(checkpoint, onnx_dir, bundle, reference: str):
    """PyTorch FP32 on the checkpoint the bundle was exported from, under the bundle's capacities."""
    from tsp3d.checkpoint import load_model
    from tsp3d.errors import ModelFormatError
    from tsp3d.runtime.torch_runtime import TorchRuntime

    model, ckpt = load_model(checkpoint)
    if ckpt.hash != bundle.manifest["checkpoint"]["state_hash"]:
        raise ModelFormatError(f"{onnx_dir} was exported from another checkpoint than {checkpoint}",
                               hint="validate a bundle against the checkpoint it was exported from")
    # The export may have raised capacities (--capacity): the reference runs under the bundle's bounds, so both
    # sides refuse (or accept) the same scenes.
    from tsp3d.export.bundle import apply_capacities

    model.cfg = apply_capacities(model.cfg, bundle.capacities)
    model.head.cfg = model.cfg
    return TorchRuntime(model=model, fold=reference == "folded")


def _encode_scene(ref, runtimes: list, logs: dict, points):
    """(reference scene, {runtime label: its scene}): every runtime's backbone on ``points``, timed, and its levels
    compared with the reference's where it hands them over."""
    ref_scene = ref.encode_scene(points)
    ref_levels = ref.levels_numpy(ref_scene.levels)
    rt_scenes = {}
    for rt in runtimes:
        rt_scenes[rt.label], ms = _timed(rt.encode_scene, points)
        logs[rt.label].scene_ms.append(ms)
        if _has_levels(rt):
            logs[rt.label].add_scene(rt.levels_numpy(rt_scenes[rt.label].levels), ref_levels)
    return ref_scene, rt_scenes


def _ground(rt, rt_scene, text, head, log: _RuntimeLog):
    """(result, head trace or None): one sentence on one runtime, timed; with the head graph that also outputs
    the voxel sets (``head``: ONNX Runtime) the trace is measured."""
    t0 = time.perf_counter()
    if head is not None:
        proto, names = head
        res, extra = rt.run_head_with_extras(rt_scene.levels, text, proto, names)
        trace = parity.trace_from_outputs(names, extra)
    else:
        res, trace = rt.ground(rt_scene, text.feats, text.mask), None
    log.head_ms.append(1e3 * (time.perf_counter() - t0))
    return res, trace


def _reference_ground(ref, scene, text):
    """The reference result and its head trace (voxel sets, top-1 site)."""
    import torch

    from tsp3d.runtime.base import GroundingResult

    out, trace = parity.record_torch_head(ref.model, scene.levels, torch.from_numpy(text.feats),
                                          torch.from_numpy(text.mask))
    return GroundingResult.from_outputs(*(t.cpu().numpy() for t in out)), trace


def _head_with_sets(bundle, precision: str):
    import onnx

    return parity.head_with_trace_outputs(onnx.load(str(bundle.graph(precision, "head"))))


def _text_error(got, want) -> float:
    """Max abs difference of two encodings of one sentence (inf when their token counts differ)."""
    if got.feats.shape != want.feats.shape:
        return float("inf")
    return float(np.abs(got.feats - want.feats).max())


def _has_levels(rt) -> bool:
    """Split-form runtimes hand over the backbone levels (a single graph or engine does not)."""
    return getattr(rt, "split", getattr(rt, "form", "split") == "split")


def _bundle_text(bundle):
    if "file" not in bundle.text_encoder:
        return None
    from tsp3d.runtime.text_encoder import BundleText

    return BundleText(bundle)
