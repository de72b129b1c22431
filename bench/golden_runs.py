"""Our runtimes on the official golden fixtures, and the report of how they compare (per stage, per runtime).

    python -m tsp3d.bench.golden_runs     # -> docs/bench/official_golden.json, Markdown table on stdout

Uses no official code: the fixture holds the official results (see tsp3d.bench.golden). Also measures what each
CBA sampling choice changes against the official evaluation protocol (its 2,400-cap random draw): our
deterministic rule (default), every V1 voxel, and the official draw fed through ``cba_coords``.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from tsp3d.bench.common import write_result
from tsp3d.bench.golden import CONVENTIONS, compare_head, compare_levels, failures, load_fixture, scene_points
from tsp3d.bench.official_weights import write_official_checkpoint

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "official"
STAGES = ("tgp64_kept", "up32", "tgp32_kept", "up16", "cba_sample", "cba_confident", "final")


def converted_model(manifest: dict, workdir: Path):
    """The fixture's checkpoint rebuilt from its recipe and converted (library path of ``convert-official``)."""
    from tsp3d.checkpoint import load_model
    from tsp3d.convert_official import convert_official

    digest = write_official_checkpoint(workdir / "official.pth", manifest["seed"], manifest["biases"])
    if digest != manifest["weights_sha256"]:
        raise RuntimeError("the seeded weight recipe no longer builds the fixture's checkpoint")
    convert_official(workdir / "official.pth", workdir / "ours.pt", force=True)
    return load_model(workdir / "ours.pt")[0]


def scene_inputs(fx: dict, scene: str):
    return scene_points(fx, scene), fx[f"{scene}/tokens"], fx[f"{scene}/mask"]


def run_torch(model, points, tokens, mask, cba: np.ndarray | None) -> tuple[dict, dict]:
    """-> (levels V0..V3 as numpy, head values: probes + v3 + center/size/score). ``cba`` None = our rule."""
    seen = {}
    hook = model.vision_backbone.register_forward_hook(lambda m, i, o: seen.update(v0=o[0]))
    try:
        with torch.no_grad():
            levels = model.encode_scene(torch.from_numpy(points))
            probes = {}
            sample = None if cba is None else torch.from_numpy(np.ascontiguousarray(cba, dtype=np.int32))
            center, size, score, _ = model.ground(*levels, torch.from_numpy(tokens), torch.from_numpy(mask), sample,
                                                  probes)
    finally:
        hook.remove()
    lv = {f"v{i}_{k}": t.numpy() for i in (1, 2, 3) for k, t in zip(("coords", "feats"), levels[2 * i - 2:2 * i])}
    lv.update(v0_coords=seen["v0"].coords.numpy(), v0_feats=seen["v0"].feats.numpy())
    head = {k: v.numpy() for k, v in probes.items()}
    head.update(v3=lv["v3_coords"], center=center.numpy(), size=size.numpy(), score=score.numpy())
    return lv, head


def ort_session(model):
    """An ONNX Runtime session of the folded model with ``cba_coords`` input and probe outputs -> (session, names)."""
    from tsp3d.export.graph import export_graphs
    from tsp3d.model.fold import fold_batchnorm
    from tsp3d.runtime.ort_session import make_session

    proto = export_graphs(fold_batchnorm(model), cba_input=True, probes=True).full
    return make_session(proto.SerializeToString(), threads=1), [o.name for o in proto.graph.output]


def run_ort(session, names, points, tokens, mask, cba: np.ndarray) -> tuple[dict, dict]:
    from tsp3d.export.graph import probe_output
    from tsp3d.model.head import PROBE_NAMES

    out = dict(zip(names, session.run(None, {"points": points, "text_feats": tokens, "text_mask": mask,
                                             "cba_coords": np.ascontiguousarray(cba, dtype=np.int32)})))
    levels = {k: out[k] for k in out if k[:1] == "v" and k[1].isdigit()}
    head = {n: out[probe_output(n)] for n in PROBE_NAMES}
    head.update(v3=out["v3_coords"], center=out["center"], size=out["size"], score=out["score"])
    return levels, head


def official_sample(fx: dict, scene: str, conv: str) -> np.ndarray:
    """The CBA sample of a convention: every V1 voxel, or the official draw recorded in the fixture."""
    return fx[f"{scene}/v1_coords"] if conv == "all" else fx[f"{scene}/{conv}/cba_sample"]


# ---------------------------------------------------------------- report


def _row(report: dict) -> dict:
    worst = max(report["logits"].values()) if report["logits"] else float("nan")
    return {"sets_identical": all(r["only_ours"] == 0 and r["only_official"] == 0 for r in report["sets"].values()),
            "max_logit_scaled_err": worst, "top1_same": report["top1_same"],
            "center_err_m": report["center_err_m"], "size_err_m": report["size_err_m"]}


def cba_choices(model, manifest: dict, fx: dict) -> list[dict]:
    """Per scene, each CBA choice against the official protocol (random 2,400-cap draws, several recorded): the
    voxel counts, and the median distance of the top-1 centre to the official draws' top-1 centres, next to the
    median distance between two official draws (the protocol's own spread)."""
    out = []
    for entry in manifest["scenes"]:
        scene, ref = entry["name"], entry["conventions"]["cap2400"]
        official = np.array([ref["center"]] + [d["center"] for d in entry.get("cap2400_draws", [])])
        pairs = [np.linalg.norm(a - b) for i, a in enumerate(official) for b in official[i + 1:]]
        choices = {f"ours (deterministic, cap {model.cfg.head.cba_samples:,})": None,
                   "every V1 voxel": fx[f"{scene}/v1_coords"],
                   "official draw fed (cba_coords)": fx[f"{scene}/cap2400/cba_sample"]}
        for label, cba in choices.items():
            _, head = run_torch(model, *scene_inputs(fx, scene), cba)
            dist = np.linalg.norm(official - head["center"][None].astype(np.float64), axis=1)
            out.append({"scene": scene, "choice": label, "cba_sample": int(len(head["cba_sample"])),
                        "cba_confident": int(len(head["cba_confident"])), "final": int(len(head["final"])),
                        "official_final": ref["counts"]["final"], "official_draws": int(len(official)),
                        "top1_to_official_median_m": float(np.median(dist)),
                        "official_draw_to_draw_median_m": float(np.median(pairs)) if pairs else None})
    return out


def measure(fixture: Path = FIXTURE) -> dict:
    manifest, fx = load_fixture(fixture)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        model = converted_model(manifest, Path(tmp))
    session, names = ort_session(model)
    rows, problems = [], []
    for entry in manifest["scenes"]:
        scene, inputs = entry["name"], scene_inputs(fx, entry["name"])
        for conv in CONVENTIONS:
            cba = official_sample(fx, scene, conv)
            for runtime, (levels, head) in (("pytorch", run_torch(model, *inputs, cba)),
                                            ("onnxruntime", run_ort(session, names, *inputs, cba))):
                lv = compare_levels(levels, fx, scene)
                hd = compare_head(head, fx, scene, conv)
                problems += [f"{scene}/{conv}/{runtime}: {p}" for p in failures(lv, {}) + failures(hd, {})]
                rows.append({"scene": scene, "convention": conv, "runtime": runtime, **_row(hd),
                             "levels_feats_scaled_err": max(r.get("feats_scaled_err", np.nan) for r in lv.values()),
                             "counts_ours": {s: int(len(head[s])) for s in STAGES},
                             "counts_official": {s: entry["conventions"][conv]["counts"][s] for s in STAGES},
                             "margins": entry["conventions"][conv]["margins"]})
    return {"fixture": {k: manifest[k] for k in ("official_commit", "minkowskiengine", "seed", "cba_cap")},
            "rows": rows, "problems": problems, "cba_choices": cba_choices(model, manifest, fx)}


def markdown(result: dict) -> str:
    lines = ["| scene | CBA | runtime | " + " | ".join(STAGES) + " | sets | max logit err | top-1 | centre err (m) |",
             "|" + "---|" * (len(STAGES) + 7)]
    for r in result["rows"]:
        counts = " | ".join(f"{r['counts_official'][s]:,}" if r["counts_ours"][s] == r["counts_official"][s]
                            else f"**{r['counts_ours'][s]:,} vs {r['counts_official'][s]:,}**" for s in STAGES)
        lines.append(f"| {r['scene']} | {r['convention']} | {r['runtime']} | {counts} | "
                     f"{'identical' if r['sets_identical'] else 'DIFFER'} | {r['max_logit_scaled_err']:.1e} | "
                     f"{'same' if r['top1_same'] else 'DIFFERENT'} | {r['center_err_m']:.1e} |")
    return "\n".join(lines)


def choices_markdown(result: dict) -> str:
    lines = ["| scene | CBA choice | sample | confident | final (official) | top-1 to official draws, median (m) | "
             "official draw to draw, median (m) |", "|---|---|---|---|---|---|---|"]
    for r in result["cba_choices"]:
        spread = r["official_draw_to_draw_median_m"]
        lines.append(f"| {r['scene']} | {r['choice']} | {r['cba_sample']:,} | {r['cba_confident']:,} | "
                     f"{r['final']:,} ({r['official_final']:,}) | {r['top1_to_official_median_m']:.3f} | "
                     f"{'n/a' if spread is None else f'{spread:.3f}'} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="our runtimes against the official golden fixtures")
    ap.add_argument("--out-dir", type=Path, default=None, help="where official_golden.json goes (docs/bench)")
    args = ap.parse_args(argv)
    result = measure()
    write_result("official_golden", result, args.out_dir)
    print(markdown(result) + "\n\n" + choices_markdown(result))
    print("problems:", result["problems"] or "none")
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
