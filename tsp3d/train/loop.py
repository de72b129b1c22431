"""The training loop: AdamW, global-norm clipping, step LR per iteration (spec §7), checkpoints, resume, DDP.

Run directory layout: ``last.pt`` (written atomically every ``ckpt_every_steps`` steps and at each epoch's end;
``--resume`` continues from it at the exact step), ``best.pt`` (best validation Acc@0.25), ``train_log.csv``,
``val_log.csv``, ``options.json``. Multi-process training goes through ``torchrun`` (DDP; gloo on CPU, nccl on
GPU); rank 0 writes every file. The data order is a function of (seed, epoch) and the model's own training-time
randomness is reseeded from (seed, step), so a resumed run continues the same sequence.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from tsp3d.errors import CheckpointError, InputFileError, OutputExistsError
from tsp3d.train.augment import augment
from tsp3d.train.logs import CsvLog
from tsp3d.train.options import TrainOptions


# Options a resumed run takes from the new invocation; all others (config, lr, batch size, seed, augmentation, ...)
# come from the run's checkpoint so that the run continues the same trajectory.
RESUME_OVERRIDABLE = ("epochs", "max_steps", "time_budget_min", "out", "data", "val_every", "val_samples",
                      "ckpt_every_steps", "log_every_steps", "text_cache", "threads")


@dataclass
class TrainResult:
    out_dir: Path
    epoch: int
    step: int
    best_acc25: float
    stopped_by: str  # "epochs" | "max_steps" | "time_budget"


class _Step(torch.nn.Module):
    """DDP calls ``forward``: route it to the model's training forward."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, batch):
        return self.model.forward_train(batch)


def _dist_info() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def _prepare_out_dir(out: Path, resume: bool, force: bool, rank: int) -> None:
    if rank != 0:
        return
    if out.exists() and any(out.iterdir()) and not resume and not force:
        raise OutputExistsError(f"run directory {out} is not empty",
                                hint="pass --resume to continue that run, or --force to start over in it")
    out.mkdir(parents=True, exist_ok=True)
    if force and not resume:
        for name in ("last.pt", "best.pt", "train_log.csv", "val_log.csv"):
            (out / name).unlink(missing_ok=True)


def epoch_order(n: int, seed: int, epoch: int, rank: int, world: int, batch_size: int) -> list[list[int]]:
    """This rank's batches of one epoch (a seeded permutation, sharded by rank, last partial batch dropped)."""
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    per_rank = n // world
    mine = perm[rank * per_rank:(rank + 1) * per_rank]
    return [mine[i:i + batch_size].tolist() for i in range(0, len(mine) - batch_size + 1, batch_size)]


def _sample(dataset, i: int, points: int, opts: TrainOptions, epoch: int):
    from tsp3d.data.points import subsample_indices
    from tsp3d.data.types import Scene

    scene, ann = dataset[i]
    pts, boxes, owners = scene.points, scene.boxes, scene.point_objects
    if pts.shape[0] > points:  # the fixed per-scene subsample of the official pipeline
        keep = subsample_indices(pts.shape[0], points)
        pts, owners = pts[keep], (owners[keep] if owners is not None else None)
    if opts.augment:
        pts, boxes = augment(pts, boxes, ann.text, np.random.default_rng([opts.seed, epoch, i]),
                             ann.tags.get("view_dependent"), owners)
    return Scene(scene.scene_id, pts, boxes, scene.labels), ann


def train(opts: TrainOptions, resume: bool = False, force: bool = False, progress: bool = True) -> TrainResult:
    from tsp3d.checkpoint import load_checkpoint, save_checkpoint
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.evaluation import evaluate
    from tsp3d.model import TSP3D
    from tsp3d.model.batch import make_train_batch
    from tsp3d.model.config import load_config
    from tsp3d.text.cache import TextFeatureCache
    from tsp3d.text.registry import load_text_encoder

    rank, world = _dist_info()
    if opts.threads:
        torch.set_num_threads(opts.threads)
    out = Path(opts.out)
    _prepare_out_dir(out, resume, force, rank)
    last = out / "last.pt"
    ckpt = None
    if resume:
        if not last.is_file():
            raise CheckpointError(f"nothing to resume: {last} does not exist")
        ckpt = load_checkpoint(last)
        saved = ckpt.meta.get("options")
        if saved:  # what defines the training trajectory comes from the run; limits and logging from this call
            now = {k: getattr(opts, k) for k in RESUME_OVERRIDABLE}
            opts = TrainOptions.from_dict({**saved, **now})
    cfg = ckpt.config if ckpt else load_config(opts.config)
    torch.manual_seed(opts.seed)
    model = TSP3D(cfg)
    if ckpt:
        model.load_state_dict(ckpt.state)
    model.train()

    train_set = GroundingDataset(opts.data, "train")
    val_set = GroundingDataset(opts.data, "val") if opts.val_every else None
    if len(train_set) < opts.batch_size * world:
        raise InputFileError(f"the train split has {len(train_set)} annotations, fewer than one batch "
                             f"({opts.batch_size} x {world} processes)")
    encoder = load_text_encoder(cfg.text_encoder)
    if encoder.dim != cfg.text_dim:
        raise InputFileError(f"text encoder {encoder.name} has dim {encoder.dim}, the config expects {cfg.text_dim}")
    texts = TextFeatureCache(encoder, opts.text_cache or None)
    points = opts.points or cfg.capacities.max_points

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=opts.lr, weight_decay=opts.weight_decay)
    steps_per_epoch = len(epoch_order(len(train_set), opts.seed, 0, rank, world, opts.batch_size))
    milestones = [m * steps_per_epoch for m in opts.lr_milestones]
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=opts.lr_gamma)
    epoch, step, best = 0, 0, -1.0
    if ckpt:
        if ckpt.optimizer:
            optimizer.load_state_dict(ckpt.optimizer)
        if ckpt.scheduler:
            scheduler.load_state_dict(ckpt.scheduler)
        epoch, step, best = ckpt.epoch, ckpt.step, float(ckpt.meta.get("best_acc25", -1.0))
    net = _Step(model)
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(net, find_unused_parameters=True)

    log = CsvLog(out / "train_log.csv", enabled=rank == 0)
    val_log = CsvLog(out / "val_log.csv", enabled=rank == 0)
    if rank == 0:
        (out / "options.json").write_text(json.dumps(opts.to_dict(), indent=2) + "\n")

    def save(path: Path, ep: int, st: int) -> None:
        if rank == 0:
            save_checkpoint(path, model, optimizer=optimizer, scheduler=scheduler, epoch=ep, step=st,
                            meta={"options": opts.to_dict(), "best_acc25": best, "steps_per_epoch": steps_per_epoch},
                            force=True)

    bar = _progress(progress and rank == 0)
    task = bar.add_task("train", total=opts.epochs * steps_per_epoch, completed=step) if bar else None
    t_start, stopped_by = time.perf_counter(), "epochs"
    budget_s = opts.time_budget_min * 60.0
    try:
        while epoch < opts.epochs and stopped_by == "epochs":
            batches = epoch_order(len(train_set), opts.seed, epoch, rank, world, opts.batch_size)
            for b_idx in range(step - epoch * steps_per_epoch, len(batches)):
                torch.manual_seed(opts.seed * 1_000_003 + step * world + rank)  # the model's sampling
                items = [_sample(train_set, i, points, opts, epoch) for i in batches[b_idx]]
                t0 = time.perf_counter()
                losses = net(make_train_batch(items, texts))
                optimizer.zero_grad(set_to_none=True)
                losses["loss"].backward()
                grad_norm = torch.nn.utils.clip_grad_norm_(params, opts.grad_clip)
                optimizer.step()
                scheduler.step()
                step += 1
                if bar:
                    bar.update(task, advance=1, description=f"epoch {epoch} loss {losses['loss'].item():.3f}")
                if step % opts.log_every_steps == 0 or step == 1:
                    log.write({"step": step, "epoch": epoch, "lr": scheduler.get_last_lr()[0],
                               "elapsed_s": round(time.perf_counter() - t_start, 2),
                               "step_s": round(time.perf_counter() - t0, 3), "grad_norm": float(grad_norm),
                               **{k: v.item() for k, v in losses.items()}})
                if step % opts.ckpt_every_steps == 0:
                    save(last, epoch, step)
                if _should_stop(opts.max_steps and step >= opts.max_steps, world):
                    stopped_by = "max_steps"
                    break
                if _should_stop(budget_s and time.perf_counter() - t_start >= budget_s, world):
                    stopped_by = "time_budget"
                    break
            else:
                epoch += 1
            if val_set is not None and rank == 0 and (stopped_by != "epochs" or epoch % opts.val_every == 0):
                res = evaluate(model, val_set, texts, limit=opts.val_samples)
                acc = res["accuracy"]
                val_log.write({"step": step, "epoch": epoch, "elapsed_s": round(time.perf_counter() - t_start, 2),
                               **{f"{s}_{k}": v for s in ("overall", "unique", "multiple")
                                  for k, v in acc[s].items()}})
                if acc["overall"]["acc@0.25"] > best:
                    best = acc["overall"]["acc@0.25"]
                    save(out / "best.pt", epoch, step)
            save(last, epoch, step)
            if world > 1:
                dist.barrier()
    finally:
        if bar:
            bar.stop()
    return TrainResult(out, epoch, step, best, stopped_by)


def _should_stop(local: bool, world: int) -> bool:
    """Every rank stops at the same step: stop when any rank wants to."""
    if world == 1:
        return bool(local)
    flag = torch.tensor([1 if local else 0])
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


def _progress(enabled: bool):
    if not enabled:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    bar.start()
    return bar
