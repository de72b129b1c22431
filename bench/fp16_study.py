"""Which regions of the FP16 graph must stay FP32? Measure it (the numbers behind docs/export.md, "FP16").

    python -m tsp3d.bench.fp16_study --checkpoint run/best.pt --data data/synth --scenes 40 --out fp16_study.json

Exports the checkpoint once, converts the graph with each keep-set of ``VARIANTS``, and runs every variant's
backbone/head in ONNX Runtime against the PyTorch FP32 reference (computed once) on the dataset's scenes (every
sentence): top-1 agreement (IoU >= 0.999), head voxel sets as sets, voxel counts, Acc@0.25/0.5, the scaled
relative error of the backbone features, and latency. Prints a Markdown table; writes the JSON with ``--out``.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from tsp3d.export.fp16 import DEFAULT_KEEP, RULES


def variants() -> dict[str, tuple]:
    out = {"fp32 (no conversion)": None, "all fp16 (keep nothing)": (), "default": DEFAULT_KEEP}
    for rule in DEFAULT_KEEP:
        out[f"default without {rule}"] = tuple(r for r in DEFAULT_KEEP if r != rule)
    out["default + softmax + layernorm"] = DEFAULT_KEEP + ("softmax", "layernorm")
    return out


def _sessions(graphs, keep, threads):
    from tsp3d import parity
    from tsp3d.export import fp16
    from tsp3d.export.graph import Graphs
    from tsp3d.runtime.ort_session import make_session

    report = None
    if keep is not None:
        proto, rep = fp16.convert(graphs.full, keep)
        graphs, report = Graphs(proto), rep.to_dict()
    head, names = parity.head_with_trace_outputs(graphs.head())
    return make_session(graphs.backbone(), threads=threads), make_session(head, threads=threads), names, report


STATS = ("top1", "site", "sets", "counts", "iou_ref", "iou_gt", "feat_rel", "scene_ms", "head_ms")  # per variant


def run_study(checkpoint, data, scenes: int = 20, split: str = "val", threads: int = 2, shift=(0.0, 0.0, 0.0),
              only=None, progress=print) -> dict:
    """``shift``: metres added to every point (a scan far from its frame's origin); ``only``: variant names."""
    from tsp3d import parity
    from tsp3d.checkpoint import load_model
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.export.graph import export_graphs
    from tsp3d.model.fold import fold_batchnorm
    from tsp3d.runtime.torch_runtime import TorchRuntime
    from tsp3d.validate import select_samples

    model, _ = load_model(checkpoint)
    ref = TorchRuntime(model=model)
    progress("exporting the FP32 graph")
    graphs = export_graphs(fold_batchnorm(model))
    runs = {name: _sessions(graphs, keep, threads) for name, keep in variants().items() if not only or name in only}
    stats = {name: {k: [] for k in STATS} for name in runs}
    ref_gt = []
    dataset = GroundingDataset(data, split)
    work = select_samples(dataset, scenes, True)
    for k, (scene_id, idxs) in enumerate(work):
        progress(f"scene {k + 1}/{len(work)}: {scene_id} ({len(idxs)} sentences)")
        scene = dataset.scene(scene_id)
        anns = [dataset.annotations[i] for i in idxs]
        points, ref_levels, texts, refs = _reference(ref, scene, anns, shift)
        gts = [scene.boxes[a.target] for a in anns]
        ref_gt += [parity.box_iou(r.box, gt) for (r, _), gt in zip(refs, gts)]
        for name, (backbone, head, names, _) in runs.items():
            _run_variant(stats[name], backbone, head, names, points, ref_levels, list(zip(texts, refs, gts)))
    ref_acc = {t: float(np.mean([i > t for i in ref_gt])) for t in (0.25, 0.5)}
    table = {name: _variant_row(name, s, ref_acc, runs[name][3]) for name, s in stats.items()}
    return {"checkpoint": str(checkpoint), "data": str(data), "split": split, "scenes": len(work), "shift": list(shift),
            "samples": len(ref_gt), "threads": threads, "reference_accuracy": ref_acc, "rules": RULES,
            "variants": table}


def _reference(ref, scene, anns: list, shift):
    """The PyTorch FP32 reference on one scene -> (shifted points, numpy levels, encoded texts, per sentence
    (GroundingResult, head trace))."""
    import torch

    from tsp3d import parity
    from tsp3d.evaluation import scene_points
    from tsp3d.runtime.base import GroundingResult

    points = scene_points(ref.model, scene).numpy()
    points[:, :3] += np.asarray(shift, np.float32)
    ref_scene = ref.encode_scene(points)
    ref_levels = ref.levels_numpy(ref_scene.levels)
    texts = [ref.encode_text(a.text) for a in anns]
    refs = []
    for text in texts:
        out, trace = parity.record_torch_head(ref.model, ref_scene.levels, torch.from_numpy(text.feats),
                                              torch.from_numpy(text.mask))
        refs.append((GroundingResult.from_outputs(*(t.numpy() for t in out)), trace))
    return points, ref_levels, texts, refs


def _run_variant(s: dict, backbone, head, names, points, ref_levels, sentences: list) -> None:
    """One variant on one scene, into its stats ``s``: the backbone (time; the scaled error of a level whose input
    level equals the reference's), then the head on each (text, reference, ground-truth box)."""
    from tsp3d import parity
    from tsp3d.export.graph import LEVELS
    from tsp3d.runtime.base import GroundingResult
    from tsp3d.runtime.ort_session import run

    t0 = time.perf_counter()
    levels = dict(zip(LEVELS, run(backbone, {"points": points})))
    s["scene_ms"].append(1e3 * (time.perf_counter() - t0))
    for i in (1, 3, 5):
        if np.array_equal(levels[LEVELS[i - 1]], ref_levels[i - 1]):
            b = ref_levels[i]
            s["feat_rel"].append(float(np.abs(levels[LEVELS[i]].astype(np.float32) - b).max()
                                       / max(float(np.abs(b).max()), 1e-30)))
    for text, (r, ref_trace), gt in sentences:
        t0 = time.perf_counter()
        out = run(head, {**levels, "text_feats": text.feats, "text_mask": text.mask})
        s["head_ms"].append(1e3 * (time.perf_counter() - t0))
        res = GroundingResult.from_outputs(*out[:4])
        agree = parity.trace_from_outputs(names, dict(zip(names, out[4:]))).compare(ref_trace)
        s["iou_ref"].append(parity.box_iou(res.box, r.box))
        s["top1"].append(s["iou_ref"][-1] >= 0.999)
        s["site"].append(agree["top1_site"])
        s["sets"].append(all(agree[n] for n in parity.HEAD_SETS))
        s["counts"].append(res.counts == r.counts)
        s["iou_gt"].append(parity.box_iou(res.box, gt))


def _variant_row(name: str, s: dict, ref_acc: dict, graph_report) -> dict:
    acc = {t: float(np.mean([i > t for i in s["iou_gt"]])) for t in (0.25, 0.5)}
    return {
        "keep_fp32": None if variants()[name] is None else list(variants()[name]),
        "top1_identical": float(np.mean(s["top1"])), "top1_same_site": float(np.mean(s["site"])),
        "iou_vs_ref_mean": float(np.mean(s["iou_ref"])), "iou_vs_ref_min": float(np.min(s["iou_ref"])),
        "kept_sets_identical": float(np.mean(s["sets"])),
        "counts_identical": float(np.mean(s["counts"])),
        "acc@0.25": acc[0.25], "acc@0.5": acc[0.5],
        "acc@0.25_drop": ref_acc[0.25] - acc[0.25], "acc@0.5_drop": ref_acc[0.5] - acc[0.5],
        "backbone_feature_scaled_rel_max": max(s["feat_rel"]) if s["feat_rel"] else None,
        "scene_ms_median": statistics.median(s["scene_ms"]), "sentence_ms_median": statistics.median(s["head_ms"]),
        "graph": graph_report,
    }


def to_markdown(study: dict) -> str:
    lines = [f"{study['scenes']} scenes (shifted by {study['shift']} m), {study['samples']} sentences; "
             f"PyTorch FP32 Acc@0.25 "
             f"{study['reference_accuracy'][0.25]:.4f}, Acc@0.5 {study['reference_accuracy'][0.5]:.4f}", "",
             "| variant | same top-1 voxel | top-1 IoU>=0.999 | IoU vs ref mean / min | head sets identical | "
             "counts identical | Acc@0.25 drop | Acc@0.5 drop | backbone feat. scaled rel | scene ms | sentence ms | "
             "FP32 nodes |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, v in study["variants"].items():
        fp32_nodes = "all" if v["graph"] is None else v["graph"]["nodes_fp32"]
        rel = v["backbone_feature_scaled_rel_max"]
        lines.append(f"| {name} | {v['top1_same_site']:.4f} | {v['top1_identical']:.4f} | "
                     f"{v['iou_vs_ref_mean']:.4f} / {v['iou_vs_ref_min']:.3f} | {v['kept_sets_identical']:.4f} | "
                     f"{v['counts_identical']:.4f} | {100 * v['acc@0.25_drop']:+.2f} pt | "
                     f"{100 * v['acc@0.5_drop']:+.2f} pt | {'—' if rel is None else f'{rel:.2e}'} | "
                     f"{v['scene_ms_median']:.1f} | {v['sentence_ms_median']:.1f} | {fp32_nodes} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="val")
    parser.add_argument("--scenes", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--shift", default="0,0,0", help="metres added to x,y,z of every point, e.g. 30,-20,0")
    parser.add_argument("--variants", default="", help="comma-separated variant names (default: all)")
    parser.add_argument("--out", help="write the JSON here (atomic; refuses to overwrite)")
    args = parser.parse_args(argv)
    shift = tuple(float(v) for v in args.shift.split(","))
    only = [v.strip() for v in args.variants.split(",") if v.strip()] or None
    study = run_study(args.checkpoint, args.data, args.scenes, args.split, args.threads, shift, only,
                      progress=lambda m: print(m, flush=True))
    print(to_markdown(study))
    if args.out:
        from tsp3d.utils.atomic import write_json

        write_json(args.out, study)


if __name__ == "__main__":
    main()
