"""The bundle's files: graph file names, capacity overrides, and writing the ONNX graphs of every precision.

``tsp3d.bundle.export_bundle`` assembles a whole bundle from these (with the runtime checks, the INT8 calibration
and the text encoder, which live in higher layers). The directory:

    bundle/
      manifest.json                     format, versions, model facts, interface, file sha256s
      model.onnx                        points + text -> box (single graph)
      backbone.onnx, head.onnx          the same nodes split at the backbone levels (scan once, ask many times)
      model_fp16.onnx, backbone_fp16.onnx, head_fp16.onnx     with fp16=True
      text_encoder.onnx, tokenizer/     sentence -> text features (unless text_encoder=False)
      text_features.npz                 pre-encoded sentences (with texts=[...])

"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from tsp3d.errors import CapacityError, InputFileError
from tsp3d.export import metadata as md
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


def write_graphs(tmp: Path, graphs, precisions, keep, model_info: dict, ckpt_info: dict, enc_info: dict,
                 say=lambda msg: None) -> tuple[dict, dict]:
    """Write ``graphs`` (``export_graphs``) into ``tmp`` as single/backbone/head files per precision, each checked
    and carrying the bundle metadata -> ``(graphs section of the manifest, fp16 conversion reports)``."""
    import onnx

    written, reports = {}, {}
    for precision in precisions:
        say(f"writing the {precision} graphs")
        pg, report = _graphs_for(graphs, precision, keep)
        if report is not None:
            reports[precision] = report.to_dict()
        written[precision] = {}
        for kind, proto in (("single", pg.single()), ("backbone", pg.backbone()), ("head", pg.head())):
            md.set_graph_metadata(proto, graph=kind, precision=precision, model=model_info, checkpoint=ckpt_info,
                                  text_encoder=enc_info)
            onnx.checker.check_model(proto, full_check=True)
            name = GRAPH_FILES[precision][kind]
            onnx.save(proto, str(tmp / name))
            written[precision][kind] = {"file": name, **md.io_spec(proto)}
    return written, reports
