"""Memorisation benchmark (issue 3): can ``tiny`` learn *which* object a sentence names, given enough passes?

The 15-minute accuracy benchmark sees each training sentence about once. This one trains the same recipe on the
sentences of the first ``--scenes`` training scenes only (no augmentation, so the scenes are fixed) and evaluates on
exactly those sentences every ``--curve-every`` steps. A model whose text path works ends up picking a different
object per sentence (``objects_per_scene`` close to ``targets_per_scene``); a text-blind one stays at one object per
scene, whatever the steps.

    python -m tsp3d.bench.memorize --data /tmp/synth_default          # 2 scenes, 750 steps, 1 thread

JSON (``benchmark: memorize``): ``results`` (``curve``: Acc@0.25/0.5 per evaluation step; ``final``: accuracy and
``errors`` (evaluation.error_breakdown) of the last step; ``sentences``, ``passes_per_sentence``, ``training``),
``command``, ``machine``.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from tsp3d.bench.accuracy import DEFAULT_DATA, DEFAULT_TEXT_CACHE, RECIPE


def make_subset(data: Path, scenes: int, out: Path) -> int:
    """A dataset at ``out`` with the first ``scenes`` training scenes, whose annotations are both its splits."""
    meta = json.loads((data / "meta.json").read_text())
    lines = (data / "annotations_train.jsonl").read_text().splitlines()
    order = list(dict.fromkeys(json.loads(line)["scene_id"] for line in lines if line.strip()))
    keep_ids = set(order[:scenes])
    keep = [line for line in lines if line.strip() and json.loads(line)["scene_id"] in keep_ids]
    (out / "scenes").mkdir(parents=True)
    for sid in keep_ids:
        (out / "scenes" / f"{sid}.npz").symlink_to((data / "scenes" / f"{sid}.npz").resolve())
    for split in ("train", "val"):
        (out / f"annotations_{split}.jsonl").write_text("\n".join(keep) + "\n")
    split = {"scenes": len(keep_ids), "annotations": len(keep)}
    (out / "meta.json").write_text(json.dumps({**meta, "splits": {"train": split, "val": split}}))
    return len(keep)


def run(data: Path = DEFAULT_DATA, scenes: int = 2, steps: int = 750, curve_every: int = 250, threads: int = 1,
        text_cache: Path = DEFAULT_TEXT_CACHE, out_dir: Path | None = None, command: str | None = None,
        recipe: dict | None = None) -> dict:
    from tsp3d.bench.common import machine_info, write_result
    from tsp3d.checkpoint import load_model
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.evaluation import error_breakdown, evaluate
    from tsp3d.sparse import get_backend, set_backend
    from tsp3d.text import TextFeatureCache, load_text_encoder
    from tsp3d.train import TrainOptions, train
    from tsp3d.train.logs import read_csv
    from tsp3d.train.loop import select_sparse_backend

    import torch

    machine = machine_info()
    with tempfile.TemporaryDirectory(prefix="tsp3d-memorize-") as tmp:
        subset, run_dir = Path(tmp) / "data", Path(tmp) / "run"
        n = make_subset(Path(data), scenes, subset)
        recipe = {**RECIPE, "augment": False, **(recipe or {})}
        opts = TrainOptions(data=str(subset), out=str(run_dir), max_steps=steps, threads=threads, val_every=0,
                            val_every_steps=curve_every, val_samples=0, text_cache=str(text_cache), **recipe)
        t0 = time.perf_counter()
        result = train(opts, progress=sys.stderr.isatty())
        wall = time.perf_counter() - t0
        curve = [{k: r[k] for k in ("step", "train_s", "overall_acc@0.25", "overall_acc@0.5")}
                 for r in read_csv(run_dir / "val_log.csv")]
        model, ckpt = load_model(run_dir / "last.pt")
        val = GroundingDataset(subset, "val")
        texts = TextFeatureCache(load_text_encoder(ckpt.config.text_encoder), text_cache)
        previous, previous_threads = get_backend(), torch.get_num_threads()
        try:
            select_sparse_backend("auto")
            torch.set_num_threads(threads)
            report = evaluate(model, val, texts, points=ckpt.meta["points"])
        finally:
            set_backend(previous)
            torch.set_num_threads(previous_threads)
        errors = error_breakdown(report["predictions"], val)
        train_s = float(ckpt.meta.get("train_seconds", 0.0))
    payload = {
        "name": "memorize",
        "title": f"tiny trained {steps} steps on the {n} sentences of {scenes} training scenes, evaluated on them",
        "command": command,
        "results": {
            "sentences": n, "scenes": scenes,
            "passes_per_sentence": round(result.step * opts.batch_size / n, 1),
            "curve": curve,
            "final": {"accuracy": report["accuracy"]["overall"], "errors": errors},
            "training": {"steps": result.step, "train_seconds": round(train_s, 1), "wall_seconds": round(wall, 1),
                         "s_per_step": round(train_s / max(result.step, 1), 3), "threads": threads,
                         "recipe": recipe, "sparse_backend": ckpt.meta.get("sparse_backend")},
        },
        "machine_before": machine,
    }
    payload["markdown"] = _markdown(payload)
    write_result("memorize", payload, out_dir)
    return payload


def _markdown(p: dict) -> str:
    r = p["results"]
    e = r["final"]["errors"]
    rows = "\n".join(f"| {c['step']} | {c['train_s']:.0f} | {100 * c['overall_acc@0.25']:.1f} % | "
                     f"{100 * c['overall_acc@0.5']:.1f} % |" for c in r["curve"])
    return (f"`{p['command']}`: {r['sentences']} sentences of {r['scenes']} training scenes, each seen "
            f"{r['passes_per_sentence']} times by the end ({r['training']['steps']} steps).\n\n"
            "| step | training s | Acc@0.25 | Acc@0.5 |\n|---|---|---|---|\n" + rows + "\n\n"
            f"At the end the predictions match {e['objects_per_scene']:.1f} distinct objects per scene for "
            f"{e['targets_per_scene']:.1f} distinct targets (a text-blind model: 1); misses: another object of the "
            f"target's class {100 * e['other_same_class']:.1f} %, another class {100 * e['other_class']:.1f} %, "
            f"no object {100 * e['no_object']:.1f} %.")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a generated benchmark (its train split)")
    p.add_argument("--scenes", type=int, default=2, help="training scenes whose sentences are memorised")
    p.add_argument("--steps", type=int, default=750)
    p.add_argument("--curve-every", type=int, default=250, help="steps between evaluations")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--text-cache", type=Path, default=DEFAULT_TEXT_CACHE)
    p.add_argument("--out-dir", type=Path, default=None, help="where memorize.json goes (default docs/bench)")
    a = p.parse_args(argv)
    from tsp3d.errors import Tsp3dError

    if a.scenes < 1 or a.steps < 1 or a.curve_every < 1:
        print("error: --scenes, --steps and --curve-every must be >= 1", file=sys.stderr)
        return 2
    if not (a.data / "annotations_train.jsonl").is_file():
        print(f"error: {a.data} has no train split (generate one with `tsp3d data synth`)", file=sys.stderr)
        return 1
    try:
        r = run(a.data, a.scenes, a.steps, a.curve_every, a.threads, a.text_cache, a.out_dir,
                command="python -m tsp3d.bench.memorize " + " ".join(argv if argv is not None else sys.argv[1:]))
    except Tsp3dError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(r["markdown"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
