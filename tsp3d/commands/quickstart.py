"""tsp3d quickstart"""
from __future__ import annotations

from pathlib import Path

import typer


def command(
    out: Path = typer.Option(Path("runs/quickstart"), help="Working directory (finished steps in it are reused)."),
    minutes: float = typer.Option(8.0, help="Training time budget in minutes."),
    budget_clock: str = typer.Option("wall", help="Clock of --minutes: wall, or process (CPU time of training)."),
    max_steps: int = typer.Option(0, help="Stop training after this many steps (0 = time budget only)."),
    train_scenes: int = typer.Option(300, help="Synthetic training scenes to generate."),
    val_scenes: int = typer.Option(50, help="Synthetic validation scenes (validated one sentence each)."),
    bench_scenes: int = typer.Option(5, help="Scenes timed per runtime."),
    threads: int = typer.Option(0, help="Threads for torch / ONNX Runtime (0 = defaults)."),
    force: bool = typer.Option(False, help="Start over: regenerate, retrain and re-export in OUT."),
) -> None:
    """The main job on the CPU default: synthetic data -> train tiny -> export -> validate -> latency -> summary."""
    from rich.console import Console
    from rich.table import Table

    from tsp3d.errors import ToleranceError
    from tsp3d.quickstart import QuickstartOptions, accuracy_rows, run_quickstart, summary_rows

    console = Console(width=max(Console().width, 120))  # the table needs room; pipes default to 80
    opts = QuickstartOptions(out=str(out), minutes=minutes, budget_clock=budget_clock, max_steps=max_steps,
                             train_scenes=train_scenes,
                             val_scenes=val_scenes, bench_scenes=bench_scenes, threads=threads, force=force)
    summary = run_quickstart(opts, say=lambda m: console.print(f"[bold]>[/bold] {m}"))
    acc = Table(title=f"accuracy on all {summary['accuracy']['sentences']} val sentences (PyTorch)")
    for col in ("model", "Acc@0.25", "Acc@0.5", "multiple Acc@0.25"):
        acc.add_column(col, justify="left" if col == "model" else "right")
    for row in accuracy_rows(summary):
        acc.add_row(*row)
    console.print(acc)
    table = Table(title=f"tsp3d quickstart ({summary['train']['step']} training steps; {opts.val_scenes} val scenes)")
    for col in ("runtime", "Acc@0.25", "Acc@0.5", "top-1 = PyTorch", "query ms", "extra sentence ms"):
        table.add_column(col, justify="left" if col == "runtime" else "right")
    for row in summary_rows(summary):
        table.add_row(*row)
    console.print(table)
    trt = summary["tensorrt"]
    console.print(f"TensorRT: {trt['status']} ({trt['reason']})")
    console.print(f"done in {summary['seconds']:.0f} s; details in {out}/summary.json, {out}/validate.md")
    if summary["violations"]:
        raise ToleranceError(f"parity tolerance violated: {summary['violations'][0]}",
                             hint=f"see {out}/validate.md")
