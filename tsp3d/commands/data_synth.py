"""tsp3d data synth"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tsp3d.data.synth.defaults import DEFAULT_POINTS, DEFAULT_SEED, DEFAULT_TRAIN_SCENES, DEFAULT_VAL_SCENES


def _parse_mix(text: str) -> dict[str, float] | None:
    from tsp3d.errors import Tsp3dError

    if not text:
        return None
    try:
        return {k.strip(): float(v) for k, v in (item.split("=") for item in text.split(","))}
    except ValueError:
        raise Tsp3dError(f"--mix: expected kind=weight pairs separated by commas, got {text!r}",
                         hint="e.g. --mix attribute=0.55,superlative=0.2,relation=0.25") from None


def command(
    out: Annotated[Path, typer.Option("--out", help="Dataset directory to create (replaced atomically).")],
    train_scenes: Annotated[int, typer.Option("--train-scenes", help="Training scenes.")] = DEFAULT_TRAIN_SCENES,
    val_scenes: Annotated[int, typer.Option("--val-scenes", help="Validation scenes.")] = DEFAULT_VAL_SCENES,
    points: Annotated[int, typer.Option("--points", help="Points per scene.")] = DEFAULT_POINTS,
    seed: Annotated[int, typer.Option("--seed", help="Seed; the same seed gives identical files.")] = DEFAULT_SEED,
    workers: Annotated[int, typer.Option("--workers", help="Processes (0: all CPUs); never changes the output.")] = 0,
    mix: Annotated[str, typer.Option(
        "--mix", help="Description kind weights, default 'attribute=0.55,superlative=0.2,relation=0.25'."
    )] = "",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing dataset.")] = False,
) -> None:
    """Generate the synthetic grounding benchmark (rooms, furniture, verified referring expressions)."""
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tsp3d.data.synth import generate
    from tsp3d.utils.atomic import check_writable

    weights = _parse_mix(mix)
    check_writable(out, force)  # fail before any work
    start = time.perf_counter()
    columns = (TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("scenes", total=max(train_scenes + val_scenes, 0))
        meta = generate(
            out, train_scenes=train_scenes, val_scenes=val_scenes, points=points, seed=seed, force=force,
            workers=workers or None, progress=lambda done, total: bar.update(task, completed=done), mix=weights,
        )
    seconds = time.perf_counter() - start
    console = Console()
    for split, s in meta["splits"].items():
        if s["scenes"]:
            console.print(
                f"{split}: {s['scenes']} scenes, {s['annotations']} annotations "
                f"({s['multiple_share'] * 100:.1f} % multiple), kinds {s['kinds']}"
            )
    console.print(f"wrote {out} in {seconds:.1f} s")
