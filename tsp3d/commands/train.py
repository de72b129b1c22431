"""tsp3d train"""
from __future__ import annotations

from pathlib import Path

import typer


def command(
    config: str = typer.Option("tiny", help="Model config: tiny, base, or a JSON file."),
    data: Path = typer.Option(..., help="Dataset root (e.g. from `tsp3d data synth`)."),
    out: Path = typer.Option(..., help="Run directory (checkpoints, logs)."),
    epochs: int = typer.Option(400, help="Epochs (the official default)."),
    max_steps: int = typer.Option(0, help="Stop after this many steps (0 = no limit)."),
    time_budget: float = typer.Option(0.0, "--time-budget", "--time-budget-min",
                                      help="Stop after this many minutes of training in total (0 = no limit)."),
    budget_clock: str = typer.Option("wall", help="Clock of --time-budget: wall, or process (CPU time of the "
                                                  "training process; with --threads 1, CPU-minutes)."),
    batch_size: int = typer.Option(4, help="Samples per step and process."),
    sentences_per_scene: int = typer.Option(1, help="Sentences of one scene sharing a backbone pass (1 = official)."),
    lr: float = typer.Option(5e-4, help="AdamW learning rate."),
    weight_decay: float = typer.Option(5e-4, help="AdamW weight decay."),
    grad_clip: float = typer.Option(0.1, help="Global gradient-norm clip."),
    lr_schedule: str = typer.Option("step", help="step (x0.1 at --lr-milestones) or cosine (to 0 over the run)."),
    lr_milestones: str = typer.Option("50,75", help="Epochs at which the LR is multiplied by 0.1 (step schedule)."),
    warmup_steps: int = typer.Option(0, help="Linear LR warm-up steps."),
    augment: bool = typer.Option(True, help="Official augmentation."),
    detection_prompts: int = typer.Option(0, help="Detection prompts per training scene (official --joint_det: 10)."),
    points: int = typer.Option(0, help="Points per scene (0 = the config's max_points)."),
    seed: int = typer.Option(0),
    val_every: int = typer.Option(1, help="Epochs between validations (0 = never)."),
    val_every_steps: int = typer.Option(0, help="Also validate every this many steps (0 = never)."),
    val_samples: int = typer.Option(200, help="Validation annotations per check (0 = all)."),
    ckpt_every: int = typer.Option(50, help="Steps between checkpoints of last.pt."),
    text_cache: str = typer.Option("", help="Directory for the on-disk text-feature cache."),
    threads: int = typer.Option(0, help="torch threads per process (0 = default)."),
    sparse_backend: str = typer.Option("auto", help="auto (cpp when built), cpp, reference or spconv."),
    resume: bool = typer.Option(False, help="Continue the run in OUT from its last.pt."),
    force: bool = typer.Option(False, help="Start over in a non-empty OUT."),
) -> None:
    """Train TSP3D. Multi-process: `torchrun --nproc_per_node N -m tsp3d.cli train ...` (DDP)."""
    import logging

    from tsp3d.train import TrainOptions, train

    try:
        milestones = [int(m) for m in lr_milestones.split(",") if m.strip()]
    except ValueError:
        raise typer.BadParameter(f"--lr-milestones must be comma-separated integers, got {lr_milestones!r}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    opts = TrainOptions(config=config, data=str(data), out=str(out), epochs=epochs, max_steps=max_steps,
                        time_budget_min=time_budget, budget_clock=budget_clock, batch_size=batch_size,
                        sentences_per_scene=sentences_per_scene, lr=lr, weight_decay=weight_decay,
                        grad_clip=grad_clip, lr_schedule=lr_schedule, lr_milestones=milestones,
                        warmup_steps=warmup_steps, augment=augment, detection_prompts=detection_prompts,
                        points=points, seed=seed, val_every=val_every,
                        val_every_steps=val_every_steps, val_samples=val_samples, ckpt_every_steps=ckpt_every,
                        text_cache=text_cache, threads=threads, sparse_backend=sparse_backend)
    result = train(opts, resume=resume, force=force)
    typer.echo(f"stopped by {result.stopped_by} at epoch {result.epoch}, step {result.step}; "
               f"best val Acc@0.25 {result.best_acc25:.4f}; run in {result.out_dir}")
