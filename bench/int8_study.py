"""The INT8 accuracy study: FP32 vs INT8 Q/DQ graphs in ONNX Runtime on a dataset's val split.

    python -m tsp3d.bench.int8_study --checkpoint runs/tiny/best.pt --data data/synth --json docs/bench/int8.json

One export of the checkpoint (FP32 graphs, into a temporary directory unless ``--bundle`` is given), one
calibration pass (every method's ranges come from the same statistics), the FP32 reference on ``--eval-samples``
val samples, the per-unit sensitivity sweep (default method) on the first ``--sweep-samples`` of them, then for
each method the default INT8 graph (units kept in float by the rule of ``calibration.sensitivity``) and, for the
default method, the graph with every layer quantized. Writes a self-describing JSON (targets with PASS/MISS) that
the benchmark report includes.

The accuracy drop of the default INT8 graph is judged by ``tsp3d.bench.accuracy_drop.judge_drop``: on at least 500
samples, with a 95 % confidence interval from a paired bootstrap over the samples, and only when the FP32 reference
scores at least the class-only oracle on the same samples (``tsp3d.data.baselines``); otherwise "NOT JUDGED" with
the reason (``accuracy_drop_verdict`` in the JSON).
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

TARGET_DROP = 1.0  # points of Acc@0.25 (INT8 Q/DQ vs FP32, ONNX Runtime, synthetic val)
NAME = "int8"
EVAL_SAMPLES = 500  # the fewest samples an accuracy-drop verdict is judged on (tsp3d.bench.accuracy_drop.MIN_SAMPLES)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _graphs(checkpoint: Path, state_hash: str, bundle: Path | None, tmp: Path, capacities: dict) -> tuple[dict, Path]:
    from tsp3d.calibration.pipeline import _bundle_graphs
    from tsp3d.errors import ModelFormatError
    from tsp3d.bundle import export_bundle
    from tsp3d.runtime.manifest import Bundle

    if bundle is not None and Bundle(bundle).manifest["checkpoint"].get("state_hash") != state_hash:
        raise ModelFormatError(f"{bundle} was exported from another checkpoint than {checkpoint}")
    if bundle is None:
        bundle = tmp / "bundle"
        _say(f"exporting {checkpoint} (FP32 graphs) to {bundle}")
        export_bundle(checkpoint, bundle, text_encoder=False, self_check=False, capacities=capacities)
    graphs = _bundle_graphs(bundle)
    return graphs, bundle


def _method_row(name, graphs, layers, amax, kept, groups, reference, threads) -> dict:
    from tsp3d.calibration.evaluate import GraphPair, evaluate
    from tsp3d.calibration.qdq import int8_nodes, quantize_graph

    chosen = [layer for layer in layers if layer.unit not in kept]
    bb = quantize_graph(graphs["backbone"], chosen, amax)[0]
    hd = quantize_graph(graphs["head"], chosen, amax)[0]
    result, _ = evaluate(GraphPair(bb, hd, threads), groups, name)
    acc, ref = result.accuracy, reference.accuracy
    single = quantize_graph(graphs["single"], chosen, amax)[0]
    return {"variant": name, "layers_quantized": len(chosen), "layers_total": len(layers),
            "nodes": int8_nodes(single), "accuracy": acc,
            "drop_points": {k: 100.0 * (ref[k] - acc[k]) for k in acc},
            "agreement": result.agreement(reference), "latency_ms": result.latency()}, result


def class_only_oracle(data, split: str, samples: list) -> float:
    """Acc@0.25 of the class-only oracle (pick an object of the target's class at random), in expectation, on
    exactly ``samples``."""
    from tsp3d.data.baselines import expected_hits
    from tsp3d.data.dataset import GroundingDataset

    ds = GroundingDataset(data, split)
    anns = {(a.scene_id, a.ann_id): a for a in ds.annotations}
    hits = [expected_hits(ds.scene(s.scene_id), anns[(s.scene_id, s.ann_id)], (0.25,))["class_only"][0]
            for s in samples]
    return float(sum(hits) / len(hits))


def drop_verdict(reference, int8, oracle: float) -> dict:
    """``judge_drop`` on the per-sample Acc@0.25 hits of the FP32 and INT8 runs (same samples, same order)."""
    from tsp3d.bench.accuracy_drop import judge_drop
    from tsp3d.data.boxes import hit

    return judge_drop(hit(reference.ious, 0.25), hit(int8.ious, 0.25), oracle, TARGET_DROP / 100.0)


def scene_latency(fp32, int8, sample, runs: int = 10, threads: int | None = None) -> dict:
    """Median ms of the single FP32 and INT8 graphs on one (scene, sentence), runs interleaved so that load from
    other processes hits both alike."""
    import statistics

    from tsp3d.runtime.ort_session import make_session, run

    sessions = {"fp32": make_session(fp32, threads=threads), "int8": make_session(int8, threads=threads)}
    times = {k: [] for k in sessions}
    for i in range(runs + 1):
        for name, sess in sessions.items():
            t0 = time.perf_counter()
            run(sess, sample.feeds())
            if i:  # the first round warms up
                times[name].append(1e3 * (time.perf_counter() - t0))
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"scene": sample.scene_id, "points": int(sample.points.shape[0]), "runs": runs, "threads": threads,
            "median_ms": med, "int8_speedup": med["fp32"] / med["int8"]}


def run_study(checkpoint, data, *, bundle=None, scenes: int = 32, eval_samples: int = EVAL_SAMPLES,
              sweep_samples: int = 48, methods=("minmax", "entropy", "percentile"), default_method: str = "entropy",
              threads: int | None = None, capacities: dict | None = None) -> dict:
    from tsp3d.calibration.data import encoder_text
    from tsp3d.checkpoint import load_checkpoint
    from tsp3d.pretrained import resolve_checkpoint
    from tsp3d.text import load_text_encoder

    t0 = time.perf_counter()
    checkpoint = resolve_checkpoint(checkpoint)  # a path, or a pretrained model's name (tiny-synrefer)
    ckpt = load_checkpoint(checkpoint)
    text = encoder_text(load_text_encoder(ckpt.text_encoder))
    with tempfile.TemporaryDirectory(prefix="tsp3d-int8-study-") as tmp:
        graphs, _ = _graphs(checkpoint, ckpt.hash, Path(bundle) if bundle else None, Path(tmp), capacities or {})
        study = _measure(graphs, data, text, scenes=scenes, eval_samples=eval_samples, sweep_samples=sweep_samples,
                         methods=methods, default_method=default_method, threads=threads)
    return _report(checkpoint, ckpt, data, study, default_method, threads, t0)


def _measure(graphs: dict, data, text, *, scenes, eval_samples, sweep_samples, methods, default_method,
             threads) -> dict:
    """Every number of the study, in order: calibration, FP32 reference, sensitivity sweep, each method's INT8
    graph, the oracle and verdict, one scene's latency."""
    from tsp3d.calibration.evaluate import GraphPair, evaluate
    from tsp3d.calibration.layers import find_layers
    from tsp3d.calibration.pipeline import _max_points, model_sha256

    layers = find_layers(graphs["single"])
    max_points = _max_points(graphs["single"])
    split, calib, amax = _calibrate(graphs["single"], layers, data, text, max_points, scenes, methods, threads)
    eval_split, evals, groups = _eval_samples(data, text, max_points, eval_samples)
    _say(f"FP32 reference on {len(evals)} {eval_split} samples")
    pair = GraphPair(graphs["backbone"], graphs["head"], threads)
    reference, _ = evaluate(pair, groups, "fp32")
    sweep_ref, rows, kept = _sensitivity(graphs, pair, layers, amax[default_method], evals, sweep_samples,
                                         default_method, threads)

    def quantized(name: str, method: str, kept_units) -> tuple[dict, object]:
        return _method_row(name, graphs, layers, amax[method], kept_units, groups, reference, threads)

    results, runs = _int8_results(quantized, kept, methods, default_method, len(evals))
    oracle = class_only_oracle(data, eval_split, evals)
    verdict = drop_verdict(reference, runs[default_method], oracle)
    latency = _int8_scene_latency(graphs["single"], layers, kept, amax[default_method], evals[0], threads)
    return {"split": split, "calib": calib, "eval_split": eval_split, "evals": evals, "reference": reference,
            "sweep_ref": sweep_ref, "rows": rows, "kept": kept, "results": results, "oracle": oracle,
            "verdict": verdict, "latency": latency, "sha": model_sha256(graphs["single"])}


def _calibrate(single, layers, data, text, max_points: int, scenes: int, methods, threads):
    """One calibration pass: every method's ranges come from the same statistics -> (split, samples, amax)."""
    from tsp3d.calibration.collect import collect_stats
    from tsp3d.calibration.data import calibration_samples

    split, calib = calibration_samples(data, text, max_points, scenes=scenes)
    _say(f"collecting statistics on {len(calib)} {split} scenes")
    stats = collect_stats(single, [layer.input for layer in layers], (s.feeds() for s in calib), threads=threads)
    amax = {m: {t: s.amax(m) for t, s in stats.items()} for m in methods}
    return split, calib, amax


def _eval_samples(data, text, max_points: int, eval_samples: int):
    from tsp3d.calibration.data import EVAL_SPLITS, group_by_scene, load_samples, pick_split

    eval_split = pick_split(data, EVAL_SPLITS)
    evals = load_samples(data, eval_split, text, max_points, limit=eval_samples, per_scene=0)
    return eval_split, evals, group_by_scene(evals)


def _sensitivity(graphs, pair, layers, amax, evals, sweep_samples: int, default_method: str, threads):
    """The per-unit sweep on the first ``sweep_samples`` -> (its FP32 reference, its rows, the units kept float)."""
    from tsp3d.calibration.data import group_by_scene
    from tsp3d.calibration.evaluate import evaluate
    from tsp3d.calibration.layers import units
    from tsp3d.calibration.sensitivity import exclusions, sweep

    sweep_groups = group_by_scene(evals[:sweep_samples])
    sweep_ref, sweep_levels = evaluate(pair, sweep_groups, "fp32")
    _say(f"sensitivity sweep ({default_method}) over {len(units(layers))} units on {sweep_samples} samples")
    rows = sweep(graphs["backbone"], graphs["head"], layers, amax, sweep_groups, sweep_ref, sweep_levels,
                 threads=threads, progress=lambda k, n, r: _say(f"  [{k}/{n}] {r.unit}: drop {r.drop25:.2f}, same "
                                                                f"{100 * r.same_object:.0f} %"))
    return sweep_ref, rows, exclusions(layers, rows)


def _int8_results(quantized, kept, methods, default_method: str, samples: int) -> tuple[list, dict]:
    """Each method's default INT8 graph, then the default method with every layer quantized -> (rows, runs)."""
    results, runs = [], {}
    for m in methods:
        _say(f"INT8 ({m}, default rule) on {samples} samples")
        row, runs[m] = quantized(f"int8-{m}", m, kept)
        results.append({"method": m, "kept_float": "default", **row})
    _say(f"INT8 ({default_method}, every layer quantized)")
    row, _ = quantized(f"int8-{default_method}-all", default_method, {})
    results.append({"method": default_method, "kept_float": "none", **row})
    return results, runs


def _int8_scene_latency(single, layers, kept, amax, sample, threads) -> dict:
    from tsp3d.calibration.qdq import quantize_graph

    _say("latency of the single FP32 and INT8 graphs on one scene")
    int8_single = quantize_graph(single, [x for x in layers if x.unit not in kept], amax)[0]
    return scene_latency(single, int8_single, sample, threads=threads)


def _report(checkpoint, ckpt, data, s: dict, default_method: str, threads, t0: float) -> dict:
    """The self-describing JSON: machine, inputs, the drop target and its verdict, every result, the rule."""
    import onnxruntime

    import tsp3d
    from tsp3d.calibration.layers import KEEP_RULES
    from tsp3d.calibration.sensitivity import DEFAULT_MAX_DROP, DEFAULT_MIN_SAME_OBJECT, format_table
    from tsp3d.export.metadata import sha256_file

    reference, sweep_ref, verdict, oracle = s["reference"], s["sweep_ref"], s["verdict"], s["oracle"]
    ref_acc, evals, eval_split = reference.accuracy, s["evals"], s["eval_split"]
    main = next(r for r in s["results"] if r["method"] == default_method and r["kept_float"] == "default")
    drop = main["drop_points"]["acc@0.25"]
    return {
        "name": NAME,
        "title": "INT8 Q/DQ graph vs FP32 (ONNX Runtime with libtsp3d_ort.so, CPU)",
        "command": "python -m tsp3d.bench.int8_study " + " ".join(sys.argv[1:]) if sys.argv[1:] else None,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "onnxruntime": onnxruntime.__version__, "tsp3d": tsp3d.__version__, "threads": threads},
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "checkpoint": {"file": str(checkpoint), "sha256": sha256_file(checkpoint), "epoch": ckpt.epoch,
                       "step": ckpt.step, "config": ckpt.config.name, "text_encoder": ckpt.text_encoder},
        "model_sha256": s["sha"],
        "data": {"path": str(data), "calibration_split": s["split"], "calibration_scenes": len(s["calib"]),
                 "eval_split": eval_split, "eval_samples": len(evals), "sweep_samples": len(sweep_ref.ious)},
        "targets": [{
            "name": f"Acc@0.25 drop <= {TARGET_DROP} point (INT8 {default_method}, default rule, vs FP32)",
            "value": round(drop, 3), "limit": TARGET_DROP, "unit": "points", "status": verdict["status"],
            "reason": verdict.get("reason", "")}],
        "accuracy_drop_verdict": verdict,
        "class_only_oracle": {"acc@0.25": oracle},
        "fp32": {"accuracy": ref_acc, "latency_ms": reference.latency()},
        "scene_latency": s["latency"],
        "results": s["results"],
        "rule": {"keep_rules": {k: v for k, v in KEEP_RULES.items()}, "max_drop_points": DEFAULT_MAX_DROP,
                 "min_same_object": DEFAULT_MIN_SAME_OBJECT},
        "kept_float": s["kept"],
        "sensitivity": {"method": default_method, "reference": sweep_ref.accuracy,
                        "table": [r.to_dict() for r in s["rows"]], "text": format_table(s["rows"], sweep_ref)},
        "notes": [f"FP32 Acc@0.25 of this checkpoint on {len(evals)} {eval_split} samples: "
                  f"{100 * ref_acc['acc@0.25']:.1f} %, class-only oracle on the same samples "
                  f"{100 * oracle:.1f} %",
                  "latency_ms of each result: medians over its evaluation run (backbone per scene, head per "
                  "sentence); scene_latency: single graphs on one scene, FP32 and INT8 runs interleaved; other "
                  "processes may share the CPU"],
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tsp3d.bench.int8_study", description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, help="a checkpoint file or a pretrained model's name")
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--bundle", type=Path, help="an export bundle of this checkpoint (skips the export)")
    p.add_argument("--json", type=Path, help="write the result here (atomic)")
    p.add_argument("--scenes", type=int, default=32, help="calibration scenes")
    p.add_argument("--eval-samples", type=int, default=EVAL_SAMPLES)
    p.add_argument("--sweep-samples", type=int, default=48)
    p.add_argument("--methods", default="minmax,entropy,percentile")
    p.add_argument("--default-method", default="entropy")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--capacity", action="append", default=[], help="NAME=VALUE capacity override for the export")
    p.add_argument("--force", action="store_true", help="overwrite --json")
    a = p.parse_args(argv)
    from tsp3d.errors import Tsp3dError
    from tsp3d.utils.atomic import check_writable, write_json

    try:
        from tsp3d.export.bundle import parse_capacities

        if a.json:
            check_writable(a.json, a.force)
        out = run_study(a.checkpoint, a.data, bundle=a.bundle, scenes=a.scenes, eval_samples=a.eval_samples,
                        sweep_samples=a.sweep_samples, methods=tuple(a.methods.split(",")),
                        default_method=a.default_method, threads=a.threads,
                        capacities=parse_capacities(a.capacity))
    except Tsp3dError as e:
        _say(f"error: {e}" + (f"\nhint: {e.hint}" if e.hint else ""))
        return e.exit_code
    print(out["sensitivity"]["text"])
    for r in out["results"]:
        print(f"{r['variant']:<24} Acc@0.25 {100 * r['accuracy']['acc@0.25']:6.2f}  drop "
              f"{r['drop_points']['acc@0.25']:6.2f}  same object {100 * r['agreement']['same_object']:5.1f} %")
    lat = out["scene_latency"]
    print(f"one scene ({lat['points']} points): FP32 {lat['median_ms']['fp32']:.1f} ms, INT8 "
          f"{lat['median_ms']['int8']:.1f} ms (x{lat['int8_speedup']:.2f})")
    from tsp3d.bench.accuracy_drop import describe

    for t in out["targets"]:
        print(f"{t['status']}: {t['name']}: {describe(out['accuracy_drop_verdict'])}")
    if a.json:
        write_json(a.json, out, force=a.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
