"""``export_bundle``: a checkpoint -> a deployable directory (what ``tsp3d export`` writes).

    bundle/
      manifest.json                     format, versions, model facts, interface, file sha256s
      model.onnx                        points + text -> box (single graph)
      backbone.onnx, head.onnx          the same nodes split at the backbone levels (scan once, ask many times)
      model_fp16.onnx, ...              with fp16=True;  model.int8.onnx, ... with int8_data
      text_encoder.onnx, tokenizer/     sentence -> text features (unless text_encoder=False)
      text_features.npz                 pre-encoded sentences (with texts=[...])

The steps come from their layers: the graphs from ``tsp3d.export``, the self-check and the typical row counts from
ONNX Runtime (``tsp3d.runtime``), the INT8 graphs from ``tsp3d.calibration``. The whole directory is built in a
temporary sibling and renamed into place (never half-written), and an existing bundle is only replaced with
``force``.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from tsp3d.errors import CheckpointError, InputFileError
from tsp3d.export import metadata as md
from tsp3d.export.bundle import GRAPH_FILES, apply_capacities, write_graphs


@dataclass
class _Source:
    """What the bundle is made from: the folded model with the export's config, and its provenance."""

    folded: object
    cfg: object
    ckpt: object
    encoder: object
    model_info: dict
    ckpt_info: dict


def _load(checkpoint, capacities, want_encoder: bool) -> _Source:
    from tsp3d.checkpoint import load_model, resolve_checkpoint
    from tsp3d.model.fold import fold_batchnorm
    from tsp3d.text import load_text_encoder

    checkpoint = resolve_checkpoint(checkpoint)  # a pretrained model's name -> its packaged file (hashed below)
    model, ckpt = load_model(checkpoint)
    cfg = apply_capacities(model.cfg, capacities or {})
    folded = fold_batchnorm(model)
    folded.cfg = cfg  # the head and the backbone read capacities from this one config object
    folded.head.cfg = cfg
    encoder = load_text_encoder(ckpt.text_encoder) if want_encoder else None
    if encoder is not None and encoder.dim != cfg.text_dim:
        raise CheckpointError(f"the checkpoint's text encoder {encoder.name!r} has dim {encoder.dim}, the model "
                              f"expects text_dim={cfg.text_dim}")
    ckpt_info = {"file": Path(checkpoint).name, "sha256": md.sha256_file(checkpoint), "state_hash": ckpt.hash,
                 "epoch": ckpt.epoch, "step": ckpt.step}
    return _Source(folded, cfg, ckpt, encoder, md.model_section(cfg), ckpt_info)


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


def _runtime_checks(src: _Source, tmp: Path, example, enabled: bool, say) -> tuple[dict, dict]:
    """-> (self-check, typical row counts per data-dependent node: TensorRT's auto-tuning values)."""
    from tsp3d.runtime import typical_rows

    if not enabled:
        return {"ran": False}, {"measured": False, "reason": "export without the self-check"}
    single = tmp / GRAPH_FILES["fp32"]["single"]
    check = _self_check(src.folded, single, example)
    say("measuring typical row counts")
    return check, typical_rows.measure(src.folded, single, src.model_info["count_names"])


def _text(src: _Source, tmp: Path, texts, export_encoder: bool, say) -> dict:
    """The text encoder graph + tokenizer and the pre-encoded sentences -> the manifest's text_encoder section."""
    from tsp3d.export.text_encoder import FEATURES_FILE, encode_features, export_text_encoder, write_features

    info = {"name": src.ckpt.text_encoder, "dim": src.cfg.text_dim}
    if src.encoder is not None and export_encoder:
        say("exporting the text encoder")
        info = export_text_encoder(src.encoder, tmp)
    if texts:
        say(f"encoding {len(texts)} sentences")
        write_features(tmp / FEATURES_FILE, encode_features(src.encoder, texts))
        info = {**info, "features": {"file": FEATURES_FILE, "count": len(texts)}}
    return info


def _int8(src: _Source, tmp: Path, data, options, say) -> tuple[dict, dict]:
    """INT8 Q/DQ graphs calibrated on the FP32 graphs just written -> (graphs section, int8 section)."""
    from tsp3d.calibration.pipeline import add_to_export
    from tsp3d.text import load_text_encoder

    say("calibrating the INT8 graphs")
    encoder = src.encoder or load_text_encoder(src.ckpt.text_encoder)
    return add_to_export(tmp, data, encoder, progress=say, **(options or {}))


def _share(directory: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(directory, 0o777 & ~umask)  # mkdtemp makes it 0700; a bundle is meant to be shared


def export_bundle(checkpoint: str | Path, out_dir: str | Path, *, fp16: bool = False, capacities=None,
                  texts: list[str] | None = None, text_encoder: bool = True, force: bool = False,
                  fp16_keep=None, self_check: bool = True, progress=None, int8_data: str | Path | None = None,
                  int8_options: dict | None = None) -> dict:
    """Export ``checkpoint`` into the bundle directory ``out_dir``; returns the manifest.

    ``int8_data``: a dataset to calibrate INT8 Q/DQ graphs on (``tsp3d.calibration``; ``int8_options`` are its
    ``pipeline.Options``); they are written as ``model.int8.onnx`` etc. and listed under ``graphs.int8``."""
    import tsp3d
    from tsp3d.export import fp16 as fp16_mod
    from tsp3d.export.graph import example_inputs, export_graphs
    from tsp3d.utils.atomic import atomic_dir, check_writable

    say = progress or (lambda msg: None)
    check_writable(out_dir, force)  # fail before minutes of work
    if int8_data is not None and not Path(int8_data).is_dir():
        raise InputFileError(f"--calibration {int8_data} is not a dataset directory")
    keep = tuple(fp16_mod.DEFAULT_KEEP if fp16_keep is None else fp16_keep)
    src = _load(checkpoint, capacities, bool(text_encoder or texts))
    manifest = {"format": md.FORMAT, "format_version": md.FORMAT_VERSION}
    t0 = time.perf_counter()
    with atomic_dir(out_dir, force) as tmp:
        _share(tmp)
        say("tracing and translating the model to ONNX")
        example = example_inputs(src.folded)
        written, reports = write_graphs(tmp, export_graphs(src.folded, example), ("fp32", "fp16") if fp16 else
                                        ("fp32",), keep, src.model_info, src.ckpt_info,
                                        {"name": src.ckpt.text_encoder, "dim": src.cfg.text_dim}, say)
        check, typical = _runtime_checks(src, tmp, example, self_check, say)
        int8_info = None
        if int8_data is not None:
            written["int8"], int8_info = _int8(src, tmp, int8_data, int8_options, say)
        manifest.update({
            "tsp3d_version": tsp3d.__version__, "created_unix": int(time.time()), "opset": md.opset_section(),
            "model": src.model_info, "checkpoint": src.ckpt_info,
            "text_encoder": _text(src, tmp, texts, text_encoder, say), "graphs": written,
            "fp16": {"keep_fp32": list(keep), "rules": {k: fp16_mod.RULES[k] for k in keep},
                     "report": reports.get("fp16")} if fp16 else None,
            "self_check": check, "typical_rows": typical,
            "export_seconds": round(time.perf_counter() - t0, 1), "files": md.file_entries(tmp),
        })
        if int8_info is not None:
            manifest["int8"] = int8_info
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
