"""Tiled against whole-scene grounding on multi-room floors: accuracy of both, how often they agree, and time.

    python -m tsp3d.bench.tiling_accuracy [--checkpoint tiny-synrefer] [--floors 80] [--tile 8 --overlap 2] [--force]

Floors: ``--floors`` apartments of ``--width`` x ``--depth`` m (``tsp3d.data.synth.multiroom``, the val split,
indices 0..), at ``--density`` points per square metre (default: the density the model's training scenes had,
``max_points`` over a default room's ~42 m^2), every verified sentence of each. The model runs in PyTorch with its
capacities raised to hold a floor (capacities are bounds, they do not change the computation). For every sentence:
the whole-floor box and the tiled one (``tsp3d.tiling``, same backbone run), Acc@0.25 / 0.5 of both against the
target, their agreement (IoU >= 0.5 between the two boxes) and the accuracy difference with a paired-bootstrap
95 % CI; the class-only and random baselines on the same samples say what the accuracies mean. Writes
``docs/bench/tiling.json`` (with its own Markdown section).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from tsp3d.bench.common import RESULTS_DIR, machine_info, write_result

DEFAULT_FLOORS, DEFAULT_SIDE = 80, (10.0, 8.0)
TRAIN_ROOM_AREA = 42.0  # m^2: mean area of a default benchmark room (sides uniform in [4, 9] m)


def _runtime(checkpoint: Path, density: float | None, area: float):
    """PyTorch runtime of ``checkpoint`` with capacities raised to hold a floor of ``area`` m^2, and the density
    (``density``, else the training density: ``max_points`` over a default room)."""
    import dataclasses

    from tsp3d.checkpoint import load_model
    from tsp3d.export.bundle import apply_capacities
    from tsp3d.runtime.torch_runtime import TorchRuntime

    model, _ = load_model(checkpoint)
    caps = model.cfg.capacities
    density = density or caps.max_points / TRAIN_ROOM_AREA
    need = int(density * area * 1.1)
    model.cfg = apply_capacities(model.cfg, {f.name: max(getattr(caps, f.name), 4 * need)
                                             for f in dataclasses.fields(caps)})
    model.head.cfg = model.cfg
    return TorchRuntime(model=model), density


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    from tsp3d.parity import box_iou

    return float(box_iou(a, b))


def run(checkpoint: Path, floors: int, width: float, depth: float, density: float | None, tile: float,
        overlap: float, threads: int, say=print) -> dict:
    import torch

    from tsp3d.data.baselines import expected_hits
    from tsp3d.data.synth.multiroom import make_floor_scene
    from tsp3d.tiling import ground_tiled

    torch.set_num_threads(threads)
    rt, density = _runtime(checkpoint, density, width * depth)
    samples, t_whole, t_tiled = [], [], []
    for index in range(floors):
        scene, anns = make_floor_scene(0, "val", index, width, depth, "apartment", density)
        handle = rt.encode_scene(scene.points)
        for ann in anns:
            text = rt.encode_text(ann.text)
            t0 = time.perf_counter()
            whole = rt.ground(handle, text.feats, text.mask)
            t1 = time.perf_counter()
            tiled, tiles = ground_tiled(rt, handle, text.feats, text.mask, size=tile, overlap=overlap)
            t_whole.append(t1 - t0)
            t_tiled.append(time.perf_counter() - t1)
            gt = scene.boxes[ann.target]
            base = expected_hits(scene, ann)
            samples.append({"floor": index, "ann_id": ann.ann_id, "whole_iou": _iou(whole.box, gt),
                            "tiled_iou": _iou(tiled.box, gt), "agree_iou": _iou(whole.box, tiled.box),
                            "tiles": len(tiles), "class_only": float(base["class_only"][0]),
                            "random": float(base["random"][0])})
        say(f"  floor {index + 1}/{floors}: {len(samples)} sentences")
    return summarize(samples, t_whole, t_tiled) | {
        "checkpoint": str(checkpoint), "floors": floors, "floor_m": [width, depth], "density": density,
        "points_per_floor": int(round(density * width * depth)), "tile_m": tile, "overlap_m": overlap,
        "threads": threads, "samples": samples}


def summarize(samples: list[dict], t_whole: list[float], t_tiled: list[float]) -> dict:
    from tsp3d.bench.accuracy_drop import paired_bootstrap_ci

    out = {"sentences": len(samples)}
    for k in (0.25, 0.5):
        w = [s["whole_iou"] > k for s in samples]
        t = [s["tiled_iou"] > k for s in samples]
        out[f"acc@{k}"] = {"whole": float(np.mean(w)), "tiled": float(np.mean(t)),
                           "whole_minus_tiled": float(np.mean(w) - np.mean(t)),
                           "ci95": list(paired_bootstrap_ci(w, t))}
    out["agreement_iou_0.5"] = float(np.mean([s["agree_iou"] >= 0.5 for s in samples]))
    out["baselines_acc@0.25"] = {"class_only": float(np.mean([s["class_only"] for s in samples])),
                                 "random": float(np.mean([s["random"] for s in samples]))}
    out["median_s"] = {"whole": float(np.median(t_whole)), "tiled": float(np.median(t_tiled))}
    out["tiles_mean"] = float(np.mean([s["tiles"] for s in samples]))
    return out


def markdown(r: dict) -> str:
    a25, a50, b = r["acc@0.25"], r["acc@0.5"], r["baselines_acc@0.25"]
    ci = lambda a: f"{100 * a['ci95'][0]:+.1f} to {100 * a['ci95'][1]:+.1f}"  # noqa: E731
    return "\n".join([
        f"_{r['machine']['date']}, {r['machine']['cpu']}; `{r['checkpoint']}`, PyTorch, {r['threads']} thread(s)._",
        "", f"{r['floors']} apartment floors of {r['floor_m'][0]:g} x {r['floor_m'][1]:g} m "
        f"({r['points_per_floor']} points, {r['density']:.0f} points/m^2), {r['sentences']} sentences; tiles of "
        f"{r['tile_m']:g} m with {r['overlap_m']:g} m overlap ({r['tiles_mean']:.1f} per floor).", "",
        "| | whole floor | tiled | whole - tiled (95 % CI, points) |", "|---|---|---|---|",
        f"| Acc@0.25 | {100 * a25['whole']:.1f} % | {100 * a25['tiled']:.1f} % | {100 * a25['whole_minus_tiled']:+.1f} "
        f"({ci(a25)}) |",
        f"| Acc@0.5 | {100 * a50['whole']:.1f} % | {100 * a50['tiled']:.1f} % | {100 * a50['whole_minus_tiled']:+.1f} "
        f"({ci(a50)}) |",
        f"| median time per sentence (head) | {1e3 * r['median_s']['whole']:.0f} ms | "
        f"{1e3 * r['median_s']['tiled']:.0f} ms | |", "",
        f"The two boxes agree (IoU >= 0.5) on {100 * r['agreement_iou_0.5']:.1f} % of the sentences. Baselines on "
        f"the same sentences: class-only oracle {100 * b['class_only']:.1f} %, random object {100 * b['random']:.1f} "
        "% (Acc@0.25)."])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default="tiny-synrefer", help="a checkpoint or a pretrained model's name")
    p.add_argument("--floors", type=int, default=DEFAULT_FLOORS)
    p.add_argument("--width", type=float, default=DEFAULT_SIDE[0])
    p.add_argument("--depth", type=float, default=DEFAULT_SIDE[1])
    p.add_argument("--density", type=float, default=None, help="points per m^2 (default: the training density)")
    p.add_argument("--tile", type=float, default=8.0)
    p.add_argument("--overlap", type=float, default=2.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--force", action="store_true")
    a = p.parse_args(argv)
    from tsp3d.tiling import check_tiling
    from tsp3d.utils.atomic import check_writable

    check_tiling(a.tile, a.overlap)
    check_writable(a.out / "tiling.json", a.force)
    r = run(a.checkpoint, a.floors, a.width, a.depth, a.density, a.tile, a.overlap, a.threads)
    r = {"title": "Tiled vs whole-floor grounding (multi-room floors)", "machine": machine_info(), **r}
    r["markdown"] = markdown(r)
    write_result("tiling", r, a.out)
    print(r["markdown"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
