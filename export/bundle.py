"""``export_bundle``: a checkpoint -> a deployable directory (what ``tsp3d export`` writes).

    bundle/
      manifest.json                     format, versions, model facts, interface, file sha256s
      model.onnx                        points + text -> box (single graph)
      backbone.onnx, head.onnx          the same nodes split at the backbone levels (scan once, ask many times)
      model_fp16.onnx, backbone_fp16.onnx, head_fp16.onnx     with fp16=True
      text_encoder.onnx, tokenizer/     sentence -> text features (unless text_encoder=False)
      text_features.npz                 pre-encoded sentences (with texts=[...])

The whole directory is built in a temporary sibling and renamed into place (never half-written), and an
existing bundle is only replaced with ``force``.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

from tsp3d.errors import CapacityError, CheckpointError, InputFileError
from tsp3d.export import metadata as md
from tsp3d.export import typical_rows
from tsp3d.export.opset_spec import INT32_MAX

GRAPH_FILES = {"fp32": {"single": "model.onnx", "backbone": "backbone.onnx", "head": "head.onnx"},
               "fp16": {"single": "model_fp16.onnx", "backbone": "backbone_fp16.onnx", "head": "head_fp16.onnx"}}


def parse_capacities(items: list[str] | None) -> dict[str, int]:
    """``["up_s16=70000", ...]`` -> ``{"up_s16": 70000}`` (names are checked against the config later)."""
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InputFileError(f"--capacity expects NAME=VALUE, got {item!r}")
        try:
            out[name.strip()] = int(value)
        except ValueError:
            raise InputFileError(f"--capacity {name.strip()}: {value!r} is not an integer") from None
    return out


def apply_capacities(cfg, overrides: dict[str, int]):
    """A copy of ``cfg`` with capacities replaced; every capacity must end up in ``[1, 2^31 - 1]``."""
    from tsp3d.model.config import validate

    fields = {f.name for f in dataclasses.fields(cfg.capacities)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise InputFileError(f"unknown capacity {unknown[0]!r}", hint=f"capacities: {', '.join(sorted(fields))}")
    caps = dataclasses.replace(cfg.capacities, **overrides)
    for name in sorted(fields):
        value = getattr(caps, name)
        if not 1 <= value <= INT32_MAX:
            raise CapacityError(f"capacity {name}={value} is outside [1, 2^31-1] (TensorRT reads int32)")
    new = dataclasses.replace(cfg, capacities=caps)
    validate(new)
    return new


def _graphs_for(graphs, precision: str, fp16_keep):
    from tsp3d.export import fp16 as fp16_mod
    from tsp3d.export.graph import Graphs

    if precision == "fp32":
        return graphs, None
    proto, report = fp16_mod.convert(graphs.full, fp16_keep)
    return Graphs(proto), report


def _self_check(folded, single_path: Path, example) -> dict:
    """Run the single graph in ONNX Runtime on the trace input and compare with the folded PyTorch model."""
    import numpy as np
    import torch

    from tsp3d.runtime.ort_session import make_session
    from tsp3d.utils.libraries import find_library

    if find_library("ort") is None:
        return {"ran": False, "reason": "libtsp3d_ort.so not built"}
    sess = make_session(str(single_path), threads=None)
    names = [i.name for i in sess.get_inputs()]
    got = sess.run(None, dict(zip(names, [t.numpy() for t in example])))
    with torch.no_grad():
        want = [t.numpy() for t in folded.ground(*folded.encode_scene(example[0]), example[1], example[2])]
    return {"ran": True, "counts_equal": bool(np.array_equal(got[3], want[3])),
            "max_abs": {n: float(np.abs(g.astype(np.float64) - w).max())
                        for n, g, w in zip(("center", "size", "score"), got[:3], want[:3])}}


def export_bundle(checkpoint: str | Path, out_dir: str | Path, *, fp16: bool = False, capacities=None,
                  texts: list[str] | None = None, text_encoder: bool = True, force: bool = False,
                  fp16_keep=None, self_check: bool = True, progress=None, int8_data: str | Path | None = None,
                  int8_options: dict | None = None) -> dict:
    """Export ``checkpoint`` into the bundle directory ``out_dir``; returns the manifest.

    ``int8_data``: a dataset to calibrate INT8 Q/DQ graphs on (``tsp3d.calibration``; ``int8_options`` are its
    ``pipeline.Options``); they are written as ``model.int8.onnx`` etc. and listed under ``graphs.int8``."""
    import onnx

    from tsp3d.checkpoint import load_model
    from tsp3d.export import fp16 as fp16_mod
    from tsp3d.export.graph import example_inputs, export_graphs
    from tsp3d.export.text_encoder import FEATURES_FILE, encode_features, export_text_encoder, write_features
    from tsp3d.model.fold import fold_batchnorm
    from tsp3d.text import load_text_encoder
    from tsp3d.utils.atomic import atomic_dir, check_writable

    say = progress or (lambda msg: None)
    check_writable(out_dir, force)  # fail before minutes of work
    if int8_data is not None and not Path(int8_data).is_dir():
        raise InputFileError(f"--calibration {int8_data} is not a dataset directory")
    keep = tuple(fp16_mod.DEFAULT_KEEP if fp16_keep is None else fp16_keep)
    model, ckpt = load_model(checkpoint)
    cfg = apply_capacities(model.cfg, capacities or {})
    folded = fold_batchnorm(model)
    folded.cfg = cfg  # the head and the backbone read capacities from this one config object
    folded.head.cfg = cfg
    encoder = load_text_encoder(ckpt.text_encoder) if (text_encoder or texts) else None
    if encoder is not None and encoder.dim != cfg.text_dim:
        raise CheckpointError(f"the checkpoint's text encoder {encoder.name!r} has dim {encoder.dim}, the model "
                              f"expects text_dim={cfg.text_dim}")
    model_info = md.model_section(cfg)
    ckpt_info = {"file": Path(checkpoint).name, "sha256": md.sha256_file(checkpoint), "state_hash": ckpt.hash,
                 "epoch": ckpt.epoch, "step": ckpt.step}
    enc_info = {"name": ckpt.text_encoder, "dim": cfg.text_dim}
    manifest = {"format": md.FORMAT, "format_version": md.FORMAT_VERSION}
    t0 = time.perf_counter()
    with atomic_dir(out_dir, force) as tmp:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it 0700; a bundle is meant to be shared
        say("tracing and translating the model to ONNX")
        example = example_inputs(folded)
        graphs = export_graphs(folded, example)
        written, reports = {}, {}
        for precision in ("fp32", "fp16") if fp16 else ("fp32",):
            say(f"writing the {precision} graphs")
            pg, report = _graphs_for(graphs, precision, keep)
            if report is not None:
                reports[precision] = report.to_dict()
            written[precision] = {}
            for kind, proto in (("single", pg.single()), ("backbone", pg.backbone()), ("head", pg.head())):
                md.set_graph_metadata(proto, graph=kind, precision=precision, model=model_info,
                                      checkpoint=ckpt_info, text_encoder=enc_info)
                onnx.checker.check_model(proto, full_check=True)
                name = GRAPH_FILES[precision][kind]
                onnx.save(proto, str(tmp / name))
                written[precision][kind] = {"file": name, **md.io_spec(proto)}
        check = _self_check(folded, tmp / GRAPH_FILES["fp32"]["single"], example) if self_check else {"ran": False}
        if self_check:  # typical row counts per data-dependent node: TensorRT's auto-tuning values (typical_rows.py)
            say("measuring typical row counts")
            typical = typical_rows.measure(folded, tmp / GRAPH_FILES["fp32"]["single"], model_info["count_names"])
        else:
            typical = {"measured": False, "reason": "export without the self-check"}
        int8_info = None
        if int8_data is not None:  # INT8 Q/DQ graphs calibrated on the FP32 graphs just written
            from tsp3d.calibration.pipeline import add_to_export

            say("calibrating the INT8 graphs")
            int8_encoder = encoder or load_text_encoder(ckpt.text_encoder)
            written["int8"], int8_info = add_to_export(tmp, int8_data, int8_encoder, progress=say,
                                                       **(int8_options or {}))
        if encoder is not None and text_encoder:
            say("exporting the text encoder")
            enc_info = export_text_encoder(encoder, tmp)
        if texts:
            say(f"encoding {len(texts)} sentences")
            write_features(tmp / FEATURES_FILE, encode_features(encoder, texts))
            enc_info = {**enc_info, "features": {"file": FEATURES_FILE, "count": len(texts)}}
        import tsp3d

        manifest.update({
            "tsp3d_version": tsp3d.__version__,
            "created_unix": int(time.time()),
            "opset": md.opset_section(),
            "model": model_info,
            "checkpoint": ckpt_info,
            "text_encoder": enc_info,
            "graphs": written,
            "fp16": {"keep_fp32": list(keep), "rules": {k: fp16_mod.RULES[k] for k in keep},
                     "report": reports.get("fp16")} if fp16 else None,
            "self_check": check,
            "typical_rows": typical,
            "export_seconds": round(time.perf_counter() - t0, 1),
            "files": md.file_entries(tmp),
        })
        if int8_info is not None:
            manifest["int8"] = int8_info
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
