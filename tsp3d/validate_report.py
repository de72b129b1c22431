"""Tolerances and the Markdown/JSON report of ``tsp3d validate``.

Tolerance file (JSON; default ``tsp3d/configs/parity/tolerances.json``): one object per precision (``fp32``,
``fp16``), each mapping a metric to its bound. Metrics not measured for a runtime (e.g. kept sets for TensorRT) are
not checked. Keys:

``top1_identical_min``          share of samples whose top-1 box has IoU >= 0.999 with the reference box
``top1_same_site_min``          share of samples where the same voxel wins the top-1 (its box may differ by rounding)
``kept_sets_identical_min``     share of samples whose head voxel sets (TGP-kept, upsampled, final) all match
``backbone_sets_identical_min`` share of scenes whose V1/V2/V3 sets match (worst level)
``counts_identical_min``        share of samples whose nine voxel counts all match
``feature_scaled_rel_max``      max |a - b| / max |b| over the level features and box outputs (matching sets only)
``cosine_min``                  minimum cosine similarity of those outputs
``acc25_drop_max``, ``acc50_drop_max``   reference Acc@k minus the runtime's (fractions: 0.003 = 0.3 points)
"""
from __future__ import annotations

import json
from pathlib import Path

from tsp3d.errors import InputFileError

DEFAULT_TOLERANCES = Path(__file__).resolve().parent / "configs" / "parity" / "tolerances.json"
MIN_KEYS = ("top1_identical_min", "top1_same_site_min", "kept_sets_identical_min", "backbone_sets_identical_min",
            "counts_identical_min", "cosine_min")
MAX_KEYS = ("feature_scaled_rel_max", "acc25_drop_max", "acc50_drop_max")
PRECISIONS = ("fp32", "fp16", "int8")


def load_tolerances(source=None) -> dict:
    """A tolerance dict from ``source`` (path, dict, or None for the default file), checked key by key."""
    if isinstance(source, dict):
        data, where = source, "tolerances"
    else:
        path = Path(source) if source is not None else DEFAULT_TOLERANCES
        if not path.is_file():
            raise InputFileError(f"tolerance file {path} does not exist")
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputFileError(f"cannot read tolerance file {path}: {e}") from e
        where = str(path)
    out = {}
    for precision, bounds in data.items():
        if precision.startswith("_"):  # comments
            continue
        if precision not in PRECISIONS or not isinstance(bounds, dict):
            raise InputFileError(f"{where}: unknown section {precision!r} (sections: {', '.join(PRECISIONS)})")
        for key, value in bounds.items():
            if key.startswith("_"):
                continue
            if key not in MIN_KEYS + MAX_KEYS:
                raise InputFileError(f"{where}: {precision}.{key} is not a known tolerance",
                                     hint=f"known: {', '.join(MIN_KEYS + MAX_KEYS)}")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputFileError(f"{where}: {precision}.{key} must be a number, got {value!r}")
        out[precision] = {k: float(v) for k, v in bounds.items() if not k.startswith("_")}
    return out


def measured(summary: dict) -> dict:
    """The runtime's value of every tolerance key (None when not measured)."""
    outputs = summary.get("outputs", {})
    scaled = [o["scaled_rel"] for o in outputs.values() if "scaled_rel" in o]
    cosine = [o["min_cosine"] for o in outputs.values() if "min_cosine" in o]
    levels = summary.get("backbone_sets_identical") or {}
    return {
        "top1_identical_min": summary["top1_identical"],
        "top1_same_site_min": summary.get("top1_same_site"),
        "kept_sets_identical_min": summary.get("kept_sets_identical"),
        "backbone_sets_identical_min": min(levels.values()) if levels else None,
        "counts_identical_min": summary["counts_identical"],
        "cosine_min": min(cosine) if cosine else None,
        "feature_scaled_rel_max": max(scaled) if scaled else None,
        "acc25_drop_max": summary["accuracy_drop"]["acc@0.25"],
        "acc50_drop_max": summary["accuracy_drop"]["acc@0.5"],
    }


def check_tolerances(report: dict, tolerances: dict) -> list[str]:
    """One line per violated bound."""
    violations = []
    for label, summary in report["runtimes"].items():
        bounds = tolerances.get(summary["precision"], {})
        values = measured(summary)
        for key, bound in bounds.items():
            value = values.get(key)
            if value is None:
                continue
            bad = value < bound if key in MIN_KEYS else value > bound
            if bad or value != value:  # NaN fails
                op = ">=" if key in MIN_KEYS else "<="
                violations.append(f"{label}: {key.rsplit('_', 1)[0]} = {value:.6g}, needs {op} {bound:g}")
    return violations


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e-2 or abs(v) >= 1e4 else f"{v:.4f}"
    return str(v)


def to_markdown(report: dict) -> str:
    lines = [f"# tsp3d validate: {report['bundle']}", "",
             f"Reference: {report['reference']} ({report['checkpoint']}); data: {report['data']} "
             f"split {report['split']}, {report['scenes']} scenes, {report['samples']} samples.", "",
             "Reference accuracy: " + ", ".join(f"{k} {_fmt(v)}" for k, v in report["reference_accuracy"].items()),
             ""]
    if report.get("text_encoder_max_abs") is not None:
        lines += [f"Bundle text encoder vs PyTorch: max abs {_fmt(report['text_encoder_max_abs'])} "
                  f"(all runtimes are fed the reference's text features).", ""]
    labels = list(report["runtimes"])
    rows = [("top-1 identical (IoU >= 0.999)", lambda s: s["top1_identical"]),
            ("same top-1 voxel", lambda s: s.get("top1_same_site")),
            ("IoU vs reference, min / mean", lambda s: f"{_fmt(s['iou_vs_ref']['min'])} / "
                                                        f"{_fmt(s['iou_vs_ref']['mean'])}"),
            ("voxel counts identical", lambda s: s["counts_identical"]),
            ("head voxel sets identical", lambda s: s.get("kept_sets_identical")),
            ("backbone sets identical (worst level)", lambda s: measured(s)["backbone_sets_identical_min"]),
            ("features/box scaled rel err, max", lambda s: measured(s)["feature_scaled_rel_max"]),
            ("cosine, min", lambda s: measured(s)["cosine_min"]),
            ("Acc@0.25", lambda s: s["accuracy"]["acc@0.25"]),
            ("Acc@0.5", lambda s: s["accuracy"]["acc@0.5"]),
            ("Acc@0.25 drop", lambda s: s["accuracy_drop"]["acc@0.25"]),
            ("scene latency, median ms", lambda s: s["latency_ms"]["scene_median"]),
            ("sentence latency, median ms", lambda s: s["latency_ms"]["sentence_median"])]
    lines += ["| metric | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for name, get in rows:
        lines.append(f"| {name} | " + " | ".join(_fmt(get(report["runtimes"][k])) for k in labels) + " |")
    lines += ["", "Per output (Polygraphy `CompareFunc.simple` / cosine; only where the voxel sets agree):", ""]
    lines += ["| runtime | output | max abs | max rel | scaled rel | min cosine | compared | skipped |",
              "|---|---|---|---|---|---|---|---|"]
    for label in labels:
        for name, o in report["runtimes"][label]["outputs"].items():
            lines.append(f"| {label} | {name} | {_fmt(o.get('max_abs'))} | {_fmt(o.get('max_rel'))} | "
                         f"{_fmt(o.get('scaled_rel'))} | {_fmt(o.get('min_cosine'))} | {o.get('iterations', 0)} | "
                         f"{o.get('skipped', 0)} |")
    lines += ["", "## Tolerances", ""]
    if report["violations"]:
        lines += [f"- FAIL {v}" for v in report["violations"]]
    else:
        lines.append("All tolerances hold.")
    return "\n".join(lines) + "\n"


def write_report(report: dict, json_path, force: bool = False) -> tuple[Path, Path]:
    """``json_path`` and the Markdown next to it (same name, ``.md``), each written atomically."""
    from tsp3d.utils.atomic import check_writable, write_json, write_text

    json_path = Path(json_path)
    md_path = json_path.with_suffix(".md")
    check_writable(json_path, force)
    check_writable(md_path, force)
    write_json(json_path, report, force=force)
    write_text(md_path, to_markdown(report), force=force)
    return json_path, md_path
