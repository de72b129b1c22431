"""``generate(out_dir, ...)``: write the synthetic grounding benchmark (docs/data-format.md) atomically.

Scenes are made in worker processes (each from its own seed, so the output does not depend on the number of
workers) and written straight into a temporary directory that replaces ``out_dir`` only when everything is done.
"""
from __future__ import annotations

import json
import multiprocessing
import os
from collections import Counter
from typing import Callable

from tsp3d.data import format as fmt
from tsp3d.data.synth.catalog import CLASS_NAMES
from tsp3d.data.synth.defaults import DEFAULT_POINTS, DEFAULT_SEED, DEFAULT_TRAIN_SCENES, DEFAULT_VAL_SCENES
from tsp3d.data.synth.describe import check_mix
from tsp3d.data.synth.palette import COLOR_NAMES, SIZE_NAMES
from tsp3d.data.synth.relations import RELATIONS, SUPERLATIVES
from tsp3d.data.synth.scene import make_scene, scene_id
from tsp3d.errors import CapacityError, Tsp3dError
from tsp3d.utils.atomic import atomic_dir

GENERATOR_VERSION = 1  # bump when the same seed would give different data
MAX_SCENES = 100_000  # per split
POINTS_RANGE = (1_000, 1_000_000)
VIEWPOINT = (
    "observer on the -y side of the room looking towards +y, z up: left = smaller x, right = larger x"
)

Progress = Callable[[int, int], None]


def _check(name: str, value: int, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise CapacityError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")


def _make_and_write(task) -> tuple[str, list[str], dict]:
    """Worker: build one scene, write its .npz, return its annotation lines and statistics."""
    directory, seed, split, index, n_points, mix = task
    scene, annotations = make_scene(seed, split, index, n_points, mix)
    fmt.write_scene(fmt.scene_path(directory, scene.scene_id), scene)
    stats = {"objects": len(scene.labels), "classes": Counter(scene.labels)}
    return scene.scene_id, [fmt.annotation_line(a) for a in annotations], stats


def _split_stats(results, annotations) -> dict:
    tags = [a.tags for a in annotations]
    n = len(annotations)
    unique = sum(1 for a in annotations if a.unique)
    objects = Counter()
    for _, _, stats in results:
        objects.update(stats["classes"])
    return {
        "scenes": len(results),
        "annotations": n,
        "unique": unique,
        "multiple": n - unique,
        "multiple_share": round((n - unique) / n, 4) if n else 0.0,
        "objects_per_scene": round(sum(s["objects"] for _, _, s in results) / max(len(results), 1), 3),
        "object_classes": dict(sorted(objects.items())),
        "target_classes": dict(sorted(Counter(a.tags["program"]["target"]["cls"] for a in annotations).items())),
        "kinds": dict(sorted(Counter(t["kind"] for t in tags).items())),
        "relations": {r: sum(1 for t in tags if t["relation"] == r) for r in RELATIONS},
        "superlatives": {s: sum(1 for t in tags if t["superlative"] == s) for s in SUPERLATIVES},
        "attributes": {a: sum(1 for t in tags if a in t["attributes"]) for a in ("color", "size")},
        "view_dependent": sum(1 for t in tags if t["view_dependent"]),
    }


def generate(
    out_dir: str | os.PathLike,
    train_scenes: int = DEFAULT_TRAIN_SCENES,
    val_scenes: int = DEFAULT_VAL_SCENES,
    points: int = DEFAULT_POINTS,
    seed: int = DEFAULT_SEED,
    force: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    mix: dict[str, float] | None = None,
) -> dict:
    """Generate the benchmark into ``out_dir``; returns the written meta.json content.

    ``workers``: processes (default: all CPUs); the files are identical for any value. Workers are *spawned*
    (no inherited threads or state), so a script calling this with workers > 1 needs the usual
    ``if __name__ == "__main__":`` guard.
    ``progress(done, total)`` is called after each scene.
    ``mix``: weights of the description kinds (attribute / superlative / relation), default ``KIND_WEIGHTS``.
    """
    _check("train_scenes", train_scenes, 0, MAX_SCENES)
    _check("val_scenes", val_scenes, 0, MAX_SCENES)
    _check("points", points, *POINTS_RANGE)
    _check("seed", seed, 0, 2**63 - 1)
    if train_scenes + val_scenes == 0:
        raise CapacityError("nothing to generate: train_scenes and val_scenes are both 0")
    workers = workers or os.cpu_count() or 1
    _check("workers", workers, 1, 256)
    try:
        mix = check_mix(mix)
    except ValueError as e:
        raise Tsp3dError(str(e)) from None
    splits = {"train": train_scenes, "val": val_scenes}
    total = train_scenes + val_scenes
    with atomic_dir(out_dir, force=force) as tmp:
        (tmp / fmt.SCENE_DIR).mkdir()
        tasks = [(str(tmp), seed, split, i, points, mix) for split, n in splits.items() for i in range(n)]
        results = []
        if workers == 1 or total == 1:
            for task in tasks:
                results.append(_make_and_write(task))
                if progress:
                    progress(len(results), total)
        else:
            ctx = multiprocessing.get_context("spawn")  # no inherited state (torch threads, open files)
            with ctx.Pool(min(workers, total)) as pool:
                for res in pool.imap(_make_and_write, tasks, chunksize=4):
                    results.append(res)
                    if progress:
                        progress(len(results), total)
        meta_splits = {}
        start = 0
        for split, n in splits.items():
            part = results[start:start + n]
            start += n
            lines = [line for _, ls, _ in part for line in ls]
            (tmp / fmt.annotations_file(split)).write_text("".join(lines), encoding="utf-8")
            anns = [fmt.annotation_from_dict(json.loads(line), split) for line in lines]
            meta_splits[split] = _split_stats(part, anns)
        assert [r[0] for r in results] == [scene_id(s, i) for s, n in splits.items() for i in range(n)]
        meta = {
            "format": fmt.FORMAT_NAME,
            "format_version": fmt.FORMAT_VERSION,
            "generator": "tsp3d.data.synth",
            "generator_version": GENERATOR_VERSION,
            "seed": seed,
            "points_per_scene": points,
            "classes": list(CLASS_NAMES),
            "colors": list(COLOR_NAMES),
            "sizes": list(SIZE_NAMES),
            "relations": list(RELATIONS),
            "superlatives": list(SUPERLATIVES),
            "viewpoint": VIEWPOINT,
            "kind_weights": mix,
            "splits": meta_splits,
        }
        (tmp / fmt.META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return meta
