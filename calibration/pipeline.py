"""INT8 end to end: FP32 graphs + a dataset -> calibrated Q/DQ graphs, cache and metadata.

    from tsp3d.calibration import calibrate_bundle
    info = calibrate_bundle("bundle/", "data/synth", method="entropy")   # writes bundle/model.int8.onnx, ...

Steps: calibration samples (``data``) -> activation ranges (``collect`` + ``observers``, or the ``cache``) ->
optional sensitivity sweep on the evaluation split (``sensitivity``) -> the units kept in float
(``sensitivity.exclusions``) -> the Q/DQ rewrite of each graph (``qdq``) -> an accuracy check of the final INT8
graphs against FP32 on the same evaluation samples.

Files (next to the FP32 graphs): ``model.int8.onnx``, ``backbone.int8.onnx``, ``head.int8.onnx`` (the same rewrite
on the bundle's three graphs, so the split form still equals the single graph), ``calibration_cache.json``,
``int8.json`` (method, data, ranges summary, sweep table, kept units and why, accuracy).
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from tsp3d.errors import InputFileError, ModelFormatError

from tsp3d.calibration import cache as cache_mod
from tsp3d.calibration.data import DEFAULT_SCENES, EVAL_SPLITS
from tsp3d.calibration.observers import DEFAULT_PERCENTILE, METHODS
from tsp3d.calibration.sensitivity import DEFAULT_KEEP, DEFAULT_MAX_DROP, DEFAULT_MIN_SAME_OBJECT

INT8_FILES = {"single": "model.int8.onnx", "backbone": "backbone.int8.onnx", "head": "head.int8.onnx"}
META_FILE = "int8.json"
DEFAULT_METHOD = "entropy"
DEFAULT_SWEEP_SAMPLES = 32


@dataclass
class Options:
    method: str = DEFAULT_METHOD
    percentile: float = DEFAULT_PERCENTILE
    scenes: int = DEFAULT_SCENES
    split: str | None = None  # calibration split (default: train, else val)
    sweep_samples: int = DEFAULT_SWEEP_SAMPLES  # evaluation samples of the sweep and the final check; 0 = none
    eval_split: str | None = None  # default: val, else test, else train
    max_drop: float = DEFAULT_MAX_DROP
    min_same_object: float = DEFAULT_MIN_SAME_OBJECT
    keep: tuple = DEFAULT_KEEP
    threads: int | None = None

    def check(self) -> None:
        if self.method not in METHODS:
            raise InputFileError(f"unknown calibration method {self.method!r}", hint=f"one of {', '.join(METHODS)}")
        if self.sweep_samples < 0:
            raise InputFileError(f"sweep samples must be >= 0, got {self.sweep_samples}")


@dataclass
class Int8Result:
    graphs: dict  # kind -> ModelProto
    cache: object  # CalibrationCache
    info: dict = field(default_factory=dict)


def model_sha256(proto) -> str:
    """sha256 of the serialized FP32 graph (= the sha256 of its file as ``onnx.save`` writes it)."""
    return hashlib.sha256(proto.SerializeToString()).hexdigest()


def _max_points(proto) -> int:
    from tsp3d.export.metadata import read_graph_metadata

    caps = read_graph_metadata(proto).get("capacities")
    if not isinstance(caps, dict) or "max_points" not in caps:
        raise ModelFormatError("the graph has no tsp3d.capacities metadata: not a tsp3d export")
    return int(caps["max_points"])


def _ranges(single, layers, samples, opts: Options, cache_path, force, say):
    from tsp3d.calibration.collect import collect_stats
    from tsp3d.calibration.data import fingerprint

    key = cache_mod.make_key(model_sha256(single), opts.method, opts.percentile, fingerprint(samples))
    tensors = [layer.input for layer in layers]
    if cache_path is not None:
        hit = cache_mod.reusable(cache_path, key, force)
        if hit is not None and all(t in hit.amax for t in tensors):  # (an older release may have found fewer)
            say(f"reusing the calibration cache {cache_path}")
            return hit, True
    say(f"calibrating {len(set(tensors))} activations on {len(samples)} scenes ({opts.method})")
    stats = collect_stats(single, tensors, (s.feeds() for s in samples), threads=opts.threads)
    amax = {t: s.amax(opts.method, opts.percentile) for t, s in stats.items()}
    data = {"scenes": len(samples), "samples": [[s.scene_id, s.ann_id] for s in samples]}
    return cache_mod.from_stats(key, stats, amax, data), False


def calibrate_graphs(graphs: dict, data: str | Path, text, opts: Options | None = None, *,
                     cache_path: str | Path | None = None, force: bool = False, progress=None) -> Int8Result:
    """``graphs``: kind -> FP32 ModelProto (``single`` required; ``backbone`` + ``head`` for the sweep and the
    split INT8 graphs). ``text``: sentence -> (feats, mask) (``calibration.data``)."""
    from tsp3d.calibration.data import calibration_samples
    from tsp3d.calibration.layers import find_layers
    from tsp3d.calibration.sensitivity import exclusions

    opts = opts or Options()
    opts.check()
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    single = graphs["single"]
    layers = find_layers(single)
    if not layers:
        raise ModelFormatError("the graph has no quantizable layer (no SparseConv/MatMul/Conv with constant weights)")
    max_points = _max_points(single)
    split, samples = calibration_samples(data, text, max_points, scenes=opts.scenes, split=opts.split)
    cache, reused = _ranges(single, layers, samples, opts, cache_path, force, say)
    amax = cache.amax
    cache.data.update({"data": str(data), "split": split})

    sweep = None
    if opts.sweep_samples and "backbone" in graphs and "head" in graphs:
        sweep = _sensitivity_sweep(graphs, layers, amax, data, text, max_points, opts, say)
    kept = exclusions(layers, sweep.rows if sweep else None, opts.keep, opts.max_drop, opts.min_same_object)
    chosen = [layer for layer in layers if layer.unit not in kept]
    info = {
        "method": opts.method, "percentile": opts.percentile if opts.method == "percentile" else None,
        "calibration": {"data": str(data), "split": split, "scenes": len(samples), "cache_reused": reused,
                        "data_fingerprint": cache.key["data_fingerprint"], "model_sha256": cache.key["model_sha256"]},
        "rule": {"keep_rules": list(opts.keep), "max_drop_points": opts.max_drop,
                 "min_same_object": opts.min_same_object},
        "kept_float": kept,
        "layers": {"total": len(layers), "quantized": len(chosen),
                   "sparse_convs_quantized": sum(layer.kind == "sparse_conv" for layer in chosen)},
    }
    out, info["graphs"] = _quantize_graphs(graphs, chosen, amax, {k: info[k] for k in ("method", "kept_float")})
    if sweep is not None:
        info.update(_check_int8(out, sweep, opts, say))
    info["seconds"] = round(time.perf_counter() - t0, 1)
    return Int8Result(out, cache, info)


@dataclass
class _Sweep:
    split: str  # the evaluation split
    groups: list  # its samples grouped by scene
    reference: object  # FP32 EvalResult on them
    rows: list  # the sensitivity table


def _sensitivity_sweep(graphs: dict, layers, amax: dict, data, text, max_points: int, opts: Options, say) -> _Sweep:
    """The FP32 reference on the evaluation samples, then each unit quantized alone against it."""
    from tsp3d.calibration.data import group_by_scene, load_samples, pick_split
    from tsp3d.calibration.evaluate import GraphPair, evaluate
    from tsp3d.calibration.sensitivity import sweep

    eval_split = opts.eval_split or pick_split(data, EVAL_SPLITS)
    evals = load_samples(data, eval_split, text, max_points, limit=opts.sweep_samples, per_scene=0)
    groups = group_by_scene(evals)
    say(f"FP32 reference on {len(evals)} {eval_split} samples")
    reference, ref_levels = evaluate(GraphPair(graphs["backbone"], graphs["head"], opts.threads), groups, "fp32")
    say(f"sensitivity sweep over {len(set(layer.unit for layer in layers))} units")
    rows = sweep(graphs["backbone"], graphs["head"], layers, amax, groups, reference, ref_levels,
                 threads=opts.threads,
                 progress=lambda k, n, r: say(f"  [{k}/{n}] {r.unit}: Acc@0.25 drop {r.drop25:.2f}, "
                                              f"same object {100 * r.same_object:.0f} %"))
    return _Sweep(eval_split, groups, reference, rows)


def _quantize_graphs(graphs: dict, chosen: list, amax: dict, meta: dict) -> tuple[dict, dict]:
    """The same Q/DQ rewrite on every graph -> (kind -> INT8 proto, kind -> its report)."""
    from tsp3d.calibration.qdq import int8_nodes, quantize_graph

    out, reports = {}, {}
    for kind, proto in graphs.items():
        out[kind], report = quantize_graph(proto, chosen, amax, meta)
        reports[kind] = {**report.to_dict(), "nodes": int8_nodes(out[kind])}
        reports[kind].pop("quantized")
    return out, reports


def _check_int8(out: dict, sweep: _Sweep, opts: Options, say) -> dict:
    """The final split INT8 graphs against FP32 on the sweep's samples; the sensitivity table."""
    from tsp3d.calibration.evaluate import GraphPair, evaluate
    from tsp3d.calibration.sensitivity import format_table

    say("checking the INT8 graphs against FP32")
    reference = sweep.reference
    result, _ = evaluate(GraphPair(out["backbone"], out["head"], opts.threads), sweep.groups, "int8")
    acc, ref = result.accuracy, reference.accuracy
    return {
        "evaluation": {
            "split": sweep.split, "samples": len(result.ious), "fp32": ref, "int8": acc,
            "drop_points": {k: 100.0 * (ref[k] - acc[k]) for k in acc}, "agreement": result.agreement(reference),
            "latency_ms": {"fp32": reference.latency(), "int8": result.latency()},
        },
        "sensitivity": {"table": [r.to_dict() for r in sweep.rows], "text": format_table(sweep.rows, reference)},
    }


def write_int8(out_dir: str | Path, result: Int8Result, force: bool = False) -> dict:
    """Write the INT8 graphs, ``int8.json`` and the cache into ``out_dir``; returns ``{kind: file}``."""
    import onnx

    from tsp3d.utils.atomic import atomic_path, write_json

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = [out_dir / INT8_FILES[k] for k in result.graphs] + [out_dir / META_FILE]
    if not force:
        from tsp3d.utils.atomic import check_writable

        for path in targets:
            check_writable(path, False)  # refuse before writing anything
    files = {}
    for kind, proto in result.graphs.items():
        onnx.checker.check_model(proto, full_check=True)
        with atomic_path(out_dir / INT8_FILES[kind], force) as tmp:
            onnx.save(proto, str(tmp))
        files[kind] = INT8_FILES[kind]
    cache_mod.save(out_dir / cache_mod.FILE_NAME, result.cache, force=True)  # reused or refreshed by key
    write_json(out_dir / META_FILE, {**result.info, "files": files, "cache": cache_mod.FILE_NAME}, force=force)
    return files


def _bundle_graphs(root: Path) -> dict:
    import onnx

    from tsp3d.runtime.manifest import Bundle

    bundle = Bundle(root)
    bundle.verify()  # calibrate exactly the graphs the manifest describes
    return {kind: onnx.load(str(bundle.graph("fp32", kind))) for kind in ("single", "backbone", "head")}


def _bundle_text(root: Path, proto, threads):
    from tsp3d.calibration.data import bundle_text, named_text
    from tsp3d.export.metadata import read_graph_metadata
    from tsp3d.runtime.manifest import Bundle

    if "file" in Bundle(root).text_encoder:
        return bundle_text(root, threads)
    name = (read_graph_metadata(proto).get("text_encoder") or {}).get("name")
    if not name:
        raise ModelFormatError(f"{root} has no text encoder and its graph does not name one")
    return named_text(name)  # the bundle was exported without its encoder: load it by name (offline)


def update_manifest(root: Path, files: dict, info: dict) -> None:
    """Add the INT8 graphs to the bundle's ``manifest.json`` (``graphs.int8``, ``int8``, file hashes)."""
    import onnx

    from tsp3d.export import metadata as md
    from tsp3d.utils.atomic import write_json

    path = root / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["graphs"]["int8"] = {k: {"file": f, **md.io_spec(onnx.load(str(root / f), load_external_data=False))}
                                  for k, f in files.items()}
    manifest["int8"] = summary(info)
    manifest["files"] = md.file_entries(root)
    write_json(path, manifest, force=True)


def summary(info: dict) -> dict:
    """The part of ``int8.json`` that goes into the bundle manifest (no sweep table)."""
    keep = ("method", "percentile", "calibration", "rule", "kept_float", "layers", "evaluation")
    return {**{k: info[k] for k in keep if k in info}, "metadata": META_FILE, "cache": cache_mod.FILE_NAME}


def calibrate_bundle(model: str | Path, data: str | Path, *, out: str | Path | None = None, force: bool = False,
                     cache: str | Path | None = None, progress=None, **options) -> dict:
    """Calibrate a bundle's FP32 graphs (``model``: the bundle directory or its ``model.onnx``) on ``data``.

    Writes into ``out`` (default: the bundle itself, whose manifest then lists the INT8 graphs). ``cache``: a
    calibration cache to reuse or write (default: ``out/calibration_cache.json``). Returns ``int8.json``'s content.
    """
    from tsp3d.utils.atomic import check_writable

    model = Path(model)
    root = model if model.is_dir() else model.parent
    if not model.exists():
        raise InputFileError(f"{model} does not exist")
    if not (root / "manifest.json").is_file():
        raise InputFileError(f"{root} is not an export bundle (no manifest.json)",
                             hint="calibrate a bundle written by tsp3d export")
    if model.is_file() and model.name != "model.onnx":
        raise InputFileError(f"calibrate the bundle's FP32 graph model.onnx, not {model.name}")
    out_dir = Path(out) if out is not None else root
    if not force:
        for name in [*INT8_FILES.values(), META_FILE]:
            check_writable(out_dir / name, False)
    opts = Options(**options)
    graphs = _bundle_graphs(root)
    text = _bundle_text(root, graphs["single"], opts.threads)
    cache_path = Path(cache) if cache is not None else out_dir / cache_mod.FILE_NAME
    result = calibrate_graphs(graphs, data, text, opts, cache_path=cache_path, force=force, progress=progress)
    files = write_int8(out_dir, result, force)
    if cache is not None and Path(cache) != out_dir / cache_mod.FILE_NAME:
        cache_mod.save(cache, result.cache, force=True)
    if out_dir.resolve() == root.resolve():
        update_manifest(root, files, result.info)
    return {**result.info, "files": files, "out": str(out_dir)}


def add_to_export(bundle_tmp: str | Path, data: str | Path, encoder, *, progress=None, **options) -> tuple[dict, dict]:
    """The ``tsp3d export --int8 --calibration DIR`` hook: calibrate the FP32 graphs just written into the bundle
    being built (``bundle_tmp``) with the checkpoint's text ``encoder``, and write the INT8 files next to them.
    Returns ``(graphs entry for manifest["graphs"]["int8"], manifest["int8"] section)``."""
    import onnx

    from tsp3d.calibration.data import encoder_text
    from tsp3d.export import metadata as md

    root = Path(bundle_tmp)
    from tsp3d.export.bundle import GRAPH_FILES

    graphs = {kind: onnx.load(str(root / name)) for kind, name in GRAPH_FILES["fp32"].items()}
    result = calibrate_graphs(graphs, data, encoder_text(encoder), Options(**options),
                              cache_path=root / cache_mod.FILE_NAME, progress=progress)
    files = write_int8(root, result, force=True)
    entry = {k: {"file": f, **md.io_spec(result.graphs[k])} for k, f in files.items()}
    return entry, summary(result.info)
