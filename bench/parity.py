"""Issue-4 targets: ONNX Runtime (FP32, FP16 graph) against PyTorch FP32 on synthetic val scenes, and the cost of
each additional sentence on an already-encoded scene.

    python -m tsp3d.bench.parity [--checkpoint tiny-synrefer] [--data DATA] [--scenes 200] [--all-sentences]

Writes ``docs/bench/parity.json`` (targets with PASS/MISS, the validate summary per runtime, multi-query timings).
The FP16 accuracy drop is judged by ``tsp3d.bench.accuracy_drop`` (>= 500 samples, an FP32 reference at least as good as
the class-only oracle on the same samples, a paired-bootstrap 95 % CI), else it is "NOT JUDGED" with the reason;
the FP32 side of that pairing is ONNX Runtime FP32, whose parity with PyTorch the same run checks.
The bundle is exported (FP32 + FP16) into a temporary directory unless ``--bundle`` names one made from the same
checkpoint.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tsp3d.bench.common import machine_info, write_result

# (name, runtime label, measured key path, bound, kind) -- the numbers
TARGETS = (
    ("FP32 top-1 box identical (IoU >= 0.999)", "onnxruntime-fp32", ("top1_identical",), 0.995, "min"),
    ("FP32 kept-voxel sets identical", "onnxruntime-fp32", ("kept_sets_identical",), 0.99, "min"),
    ("FP32 max scaled relative error of features", "onnxruntime-fp32", ("max_scaled_rel",), 1e-4, "max"),
    # FP16 "agreement" is the same winning voxel: its box then differs only by FP16 rounding of the regression
    # (mean IoU with the reference in the table); box identity at IoU >= 0.999 is shown beside it, not a target.
    ("FP16 top-1 agreement (same top-1 voxel)", "onnxruntime-fp16", ("top1_same_site",), 0.99, "min"),
)
DROP_TARGET = ("FP16 Acc@0.25 drop (fraction)", "onnxruntime-fp16", 0.003)
MULTI_QUERY_BOUND = 0.25
DEFAULT_DATA = Path(__file__).resolve().parents[1] / "data" / "bench" / "synth-default"


def _value(summary: dict, path: tuple[str, ...]):
    if path == ("max_scaled_rel",):
        if "max_scaled_rel" in summary:  # a saved result
            return summary["max_scaled_rel"]
        rel = [o["scaled_rel"] for o in summary.get("outputs", {}).values() if "scaled_rel" in o]
        return max(rel) if rel else None
    value = summary
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def drop_verdict(per_sample: dict, data: Path) -> dict:
    """``tsp3d.bench.accuracy_drop.judge_drop`` of FP16 against FP32 (ONNX Runtime) on the validated samples, with the
    class-only oracle of the same samples."""
    from tsp3d.bench.accuracy_drop import judge_drop
    from tsp3d.data.baselines import expected_hits
    from tsp3d.data.dataset import GroundingDataset

    ref, test = per_sample.get("onnxruntime-fp32") or [], per_sample.get("onnxruntime-fp16") or []
    if not ref or len(ref) != len(test):
        return {"status": "NOT JUDGED", "reason": "no paired FP32 / FP16 samples", "drop": None}
    dataset = GroundingDataset(data, "val")
    by_id = {a.ann_id: a for a in dataset.annotations}
    oracle = [float(expected_hits(dataset.scene(s["scene_id"]), by_id[s["ann_id"]])["class_only"][0]) for s in ref]
    return judge_drop([s["iou_gt"] > 0.25 for s in ref], [s["iou_gt"] > 0.25 for s in test],
                      float(sum(oracle) / len(oracle)), DROP_TARGET[2])


def check_targets(runtimes: dict, multi_query_ratio: float | None, drop: dict | None = None) -> list[dict]:
    rows = []
    for name, label, path, bound, kind in TARGETS:
        value = _value(runtimes.get(label, {}), path)
        ok = value is not None and (value >= bound if kind == "min" else value <= bound)
        rows.append({"target": name, "runtime": label, "value": value, "bound": bound, "kind": kind,
                     "status": "PASS" if ok else "MISS"})
    if drop is not None:
        from tsp3d.bench.accuracy_drop import describe

        rows.append({"target": DROP_TARGET[0], "runtime": DROP_TARGET[1], "value": drop.get("drop"),
                     "bound": DROP_TARGET[2], "kind": "max", "status": drop["status"], "detail": describe(drop)})
    ok = multi_query_ratio is not None and multi_query_ratio <= MULTI_QUERY_BOUND
    rows.append({"target": "extra sentence / full query (ONNX Runtime FP32, split graphs)",
                 "runtime": "onnxruntime-fp32", "value": multi_query_ratio, "bound": MULTI_QUERY_BOUND,
                 "kind": "max", "status": "PASS" if ok else "MISS"})
    return rows


def multi_query(bundle: Path, data: Path, scenes: int, threads: int | None) -> dict:
    """Full query (scene + sentence) vs one more sentence on the encoded scene, ONNX Runtime FP32 split form."""
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.data.points import subsample
    from tsp3d.quickstart import measure_latency
    from tsp3d.runtime.onnx_runtime import OnnxRuntime

    rt = OnnxRuntime(bundle, "fp32", "split", threads=threads)
    dataset = GroundingDataset(data, "val")
    pts = []
    for sid in dataset.scene_ids[:scenes]:
        p = dataset.scene(sid).points
        pts.append(subsample(p, rt.max_points) if p.shape[0] > rt.max_points else p)
    lat = measure_latency({"onnxruntime-fp32": rt}, pts, dataset.annotations[0].text)["onnxruntime-fp32"]
    return {**lat, "ratio": lat["sentence_ms"] / lat["full_ms"]}


def run(checkpoint: Path, data: Path, scenes: int, bundle: Path | None, threads: int | None,
        out_dir: Path | None = None, capacities: dict | None = None, all_sentences: bool = False) -> dict:
    from tsp3d.bundle import export_bundle
    from tsp3d.validate import validate

    with tempfile.TemporaryDirectory(prefix="tsp3d-parity-") as tmp:
        if bundle is None:
            bundle = Path(tmp) / "bundle"
            export_bundle(checkpoint, bundle, fp16=True, capacities=capacities)
        report = validate(checkpoint, bundle, data, split="val", scenes=scenes, threads=threads,
                          all_sentences=all_sentences)
        mq = multi_query(bundle, data, min(10, scenes), threads)
    runtimes = report["runtimes"]
    payload = {
        "name": "parity",
        "title": "Parity: ONNX Runtime vs PyTorch FP32 (issue 4 targets)",
        "machine": machine_info(),
        "checkpoint": str(checkpoint), "data": str(data), "scenes": report["scenes"], "samples": report["samples"],
        "reference_accuracy": report["reference_accuracy"],
        "runtimes": {label: {k: s.get(k) for k in ("precision", "top1_identical", "top1_same_site",
                                                  "kept_sets_identical", "counts_identical", "accuracy",
                                                  "accuracy_drop", "iou_vs_ref", "backbone_sets_identical",
                                                  "latency_ms")}
                     | {"max_scaled_rel": _value(s, ("max_scaled_rel",))}
                     for label, s in runtimes.items()},
        "multi_query": mq,
        "fp16_drop": drop_verdict(report["per_sample"], data),
        "hits_at_0.25": {label: [s["iou_gt"] > 0.25 for s in samples]
                         for label, samples in report["per_sample"].items()},
    }
    payload["targets"] = check_targets(runtimes, mq["ratio"], payload["fp16_drop"])
    payload["markdown"] = to_markdown(payload)
    write_result("parity", payload, out_dir)
    return payload


def to_markdown(p: dict) -> str:
    """The section docs/BENCHMARKS.md shows (bench/report.py uses a result's ``markdown`` field as is)."""
    sentences = f"{p['samples']} sentences" if p.get("samples") else "sentence count not recorded"
    lines = [f"_{p['machine']['date']}, {p['machine']['cpu']}; checkpoint `{p['checkpoint']}`, {p['scenes']} val "
             f"scenes of `{p['data']}` ({sentences}); reference Acc@0.25 "
             f"{p['reference_accuracy']['acc@0.25']:.3f}._",
             "", "| target | runtime | measured | bound | status |", "|---|---|---|---|---|"]
    for t in p["targets"]:
        v = "n/a" if t["value"] is None else f"{t['value']:.4g}"
        lines.append(f"| {t['target']} | {t['runtime']} | {v} | {'>=' if t['kind'] == 'min' else '<='} "
                     f"{t['bound']:g} | **{t['status']}** |")
    drop = next((t for t in p["targets"] if t.get("detail")), None)
    if drop:
        lines += ["", f"FP16 accuracy drop: {drop['detail']}."]
    lines += ["", "| runtime | top-1 identical (IoU >= 0.999) | same top-1 voxel | top-1 IoU vs reference (mean / "
              "min) | kept sets identical | counts identical | Acc@0.25 | Acc@0.5 |",
              "|---|---|---|---|---|---|---|---|"]
    fmt = lambda x: "-" if x is None else f"{x:.4f}"  # noqa: E731
    for label, r in p["runtimes"].items():
        iou = r.get("iou_vs_ref") or {}
        lines.append(f"| {label} | {fmt(r['top1_identical'])} | {fmt(r.get('top1_same_site'))} | "
                     f"{fmt(iou.get('mean'))} / {fmt(iou.get('min'))} | "
                     f"{fmt(r.get('kept_sets_identical'))} | {fmt(r['counts_identical'])} | "
                     f"{fmt(r['accuracy']['acc@0.25'])} | {fmt(r['accuracy']['acc@0.5'])} |")
    mq = p["multi_query"]
    lines += ["", f"Multi-query (ONNX Runtime FP32, split graphs, {mq['scenes']} scenes): full query "
              f"{mq['full_ms']:.1f} ms, each extra sentence {mq['sentence_ms']:.1f} ms ({100 * mq['ratio']:.0f} %)."]
    return "\n".join(lines) + "\n"


def rerender(out_dir: Path | None) -> int:
    import json

    from tsp3d.bench.common import RESULTS_DIR
    from tsp3d.utils.atomic import write_json

    path = Path(out_dir or RESULTS_DIR) / "parity.json"
    if not path.is_file():
        print(f"error: {path} does not exist (run the benchmark first)")
        return 1
    payload = json.loads(path.read_text())
    drop = payload.get("fp16_drop")
    if drop is None:  # a result of the earlier format: re-judge from its per-sample hits if it has them
        hits = payload.get("hits_at_0.25") or {}
        from tsp3d.bench.accuracy_drop import judge_drop

        drop = judge_drop(hits.get("onnxruntime-fp32", []), hits.get("onnxruntime-fp16", []), None,
                          DROP_TARGET[2]) if hits else {"status": "NOT JUDGED", "drop": None,
                                                        "reason": "the result has no per-sample hits"}
        payload["fp16_drop"] = drop
    payload["targets"] = check_targets(payload["runtimes"], payload["multi_query"]["ratio"], drop)
    payload["markdown"] = to_markdown(payload)
    write_json(path, payload, force=True)
    print(payload["markdown"])
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="tiny-synrefer", help="a checkpoint, or a pretrained model's name "
                    "(default: the reference trained checkpoint)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="a generated benchmark (default data/bench/synth-default: `tsp3d data synth` makes it)")
    ap.add_argument("--scenes", type=int, default=200)
    ap.add_argument("--all-sentences", action="store_true", help="every sentence of each scene (more samples)")
    ap.add_argument("--bundle", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--out-dir", type=Path, default=None, help="default: docs/bench")
    ap.add_argument("--capacity", action="append", default=[], help="NAME=VALUE capacity override for the export")
    ap.add_argument("--report-only", action="store_true",
                    help="recheck the targets and re-render the Markdown of an existing parity.json")
    args = ap.parse_args(argv)
    from tsp3d.export.bundle import parse_capacities

    if args.report_only:
        return rerender(args.out_dir)

    payload = run(args.checkpoint, args.data, args.scenes, args.bundle, args.threads or None, args.out_dir,
                  parse_capacities(args.capacity), args.all_sentences)
    for row in payload["targets"]:
        print(f"{row['status']:4s}  {row['target']}: {row['value']} ({row['kind']} {row['bound']})")
    print(f"median full query {payload['multi_query']['full_ms']:.1f} ms, extra sentence "
          f"{payload['multi_query']['sentence_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
