"""The training loop: AdamW, global-norm clipping, step LR per iteration (spec §7), checkpoints, resume, DDP.

Run directory layout: ``last.pt`` (written atomically every ``ckpt_every_steps`` steps and at each epoch's end;
``--resume`` continues from it at the exact step), ``best.pt`` (best validation Acc@0.25), ``train_log.csv``,
``val_log.csv``, ``options.json``. Multi-process training goes through ``torchrun`` (DDP; gloo on CPU, nccl on
GPU); rank 0 writes every file. The data order is a function of (seed, epoch) and the model's own training-time
randomness is reseeded from (seed, step), so a resumed run continues the same sequence.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from tsp3d.errors import CheckpointError, InputFileError, OutputExistsError
from tsp3d.train.batches import epoch_groups, epoch_order, step_batch  # noqa: F401 (re-export)
from tsp3d.train.logs import CsvLog
from tsp3d.train.options import TrainOptions
from tsp3d.train.prompts import with_detection_prompts
from tsp3d.train.scenes import PreparedScenes
from tsp3d.train.schedule import LrSchedule
from tsp3d.utils.atomic import write_text

logger = logging.getLogger("tsp3d.train")
BACKEND_ENV = "TSP3D_SPARSE_BACKEND"  # read by tsp3d.sparse.backend too

# Options a resumed run takes from the new invocation; all others (config, lr, batch size, seed, augmentation, ...)
# come from the run's checkpoint so that the run continues the same trajectory.
RESUME_OVERRIDABLE = ("epochs", "max_steps", "time_budget_min", "out", "data", "val_every", "val_samples",
                      "ckpt_every_steps", "log_every_steps", "text_cache", "threads", "sparse_backend",
                      "val_every_steps", "pre_encode_text")


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
    for tmp in out.glob(".*.tmp"):  # half-written checkpoints of a killed run (atomic writes never rename them)
        tmp.unlink(missing_ok=True)
    if force and not resume:
        for name in ("last.pt", "best.pt", "train_log.csv", "val_log.csv"):
            (out / name).unlink(missing_ok=True)


def select_sparse_backend(requested: str) -> str:
    """Set and return the sparse backend for training (see ``TrainOptions.sparse_backend``)."""
    from tsp3d.sparse import backend, set_backend

    name = requested
    if requested == "auto":
        name = os.environ.get(BACKEND_ENV, "") or ("cpp" if backend.cpp_available() else "reference")
        if name == "reference" and not os.environ.get(BACKEND_ENV):
            logger.warning("libtsp3d_cpu.so is not built: training runs on the reference sparse backend, several times "
                        "slower on CPU (build it with scripts/build_plugins.sh)")
    set_backend(name)
    return name


def train(opts: TrainOptions, resume: bool = False, force: bool = False, progress: bool = True) -> TrainResult:
    """Train (or resume) a run; the sparse backend and thread count chosen for it are the caller's again after."""
    from tsp3d.sparse import get_backend, set_backend

    previous, threads = get_backend(), torch.get_num_threads()
    try:
        return _train(opts, resume, force, progress)
    finally:
        set_backend(previous)
        torch.set_num_threads(threads)


def _train(opts: TrainOptions, resume: bool, force: bool, progress: bool) -> TrainResult:
    from tsp3d.checkpoint import load_checkpoint, save_checkpoint
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.evaluation import curve_metrics, evaluate
    from tsp3d.model import TSP3D
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
    backend = select_sparse_backend(opts.sparse_backend)
    cfg = ckpt.config if ckpt else load_config(opts.config)
    torch.manual_seed(opts.seed)
    model = TSP3D(cfg)
    if ckpt:
        model.load_state_dict(ckpt.state)
    model.train()

    train_set = GroundingDataset(opts.data, "train")
    val_set = GroundingDataset(opts.data, "val") if opts.val_every or opts.val_every_steps else None
    if len(train_set) < opts.batch_size * world:
        raise InputFileError(f"the train split has {len(train_set)} annotations, fewer than one batch "
                             f"({opts.batch_size} x {world} processes)")
    encoder = load_text_encoder(cfg.text_encoder)
    if encoder.dim != cfg.text_dim:
        raise InputFileError(f"text encoder {encoder.name} has dim {encoder.dim}, the config expects {cfg.text_dim}")
    texts = TextFeatureCache(encoder, opts.text_cache or None)
    points = opts.points or cfg.capacities.max_points
    scenes = PreparedScenes(train_set, points)
    if opts.detection_prompts:
        train_set = with_detection_prompts(train_set, scenes, opts.detection_prompts, opts.seed)
        scenes.dataset = train_set

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=opts.lr, weight_decay=opts.weight_decay)
    scene_ids = [a.scene_id for a in train_set.annotations]

    def batches_of(ep: int) -> list[list[int]]:
        return epoch_groups(scene_ids, opts.seed, ep, rank, world, opts.batch_size, opts.sentences_per_scene)

    steps_per_epoch = len(batches_of(0))
    if steps_per_epoch == 0:
        raise InputFileError(f"the train split's {len(train_set)} annotations make no full batch of "
                             f"{opts.batch_size} ({opts.sentences_per_scene} per scene) x {world} processes")
    budget_s = opts.time_budget_min * 60.0
    clock = time.process_time if opts.budget_clock == "process" else time.perf_counter  # what train_s counts
    schedule = LrSchedule(optimizer, opts.lr_schedule, opts.lr,
                          milestones_steps=[m * steps_per_epoch for m in opts.lr_milestones], gamma=opts.lr_gamma,
                          warmup_steps=opts.warmup_steps, max_steps=opts.max_steps, budget_s=budget_s,
                          epoch_steps=opts.epochs * steps_per_epoch)
    epoch, step, best, train_s = 0, 0, -1.0, 0.0
    code = ckpt.meta.get("code") if ckpt else None
    code = code or code_version()  # the code the run started with (a resumed run keeps its first session's)
    if ckpt:
        if ckpt.optimizer:
            optimizer.load_state_dict(ckpt.optimizer)
        epoch, step, best = ckpt.epoch, ckpt.step, float(ckpt.meta.get("best_acc25", -1.0))
        train_s = float(ckpt.meta.get("train_seconds", 0.0))
    net = _Step(model)
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(net, find_unused_parameters=True)

    log = CsvLog(out / "train_log.csv", enabled=rank == 0)
    val_log = CsvLog(out / "val_log.csv", enabled=rank == 0)
    if rank == 0:
        write_text(out / "options.json", json.dumps(opts.to_dict(), indent=2) + "\n", force=True)
    if opts.pre_encode_text:  # the frozen encoder's work is data preparation: done before the training clock
        t0 = time.perf_counter()
        for ann in train_set.annotations:
            texts.features(ann.text)
        logger.info("text features of %d annotations ready in %.1f s", len(train_set), time.perf_counter() - t0)

    def save(path: Path, ep: int, st: int) -> None:
        if rank == 0:
            save_checkpoint(path, model, optimizer=optimizer, epoch=ep, step=st,
                            meta={"options": opts.to_dict(), "best_acc25": best, "steps_per_epoch": steps_per_epoch,
                                  "points": points, "sparse_backend": backend, "train_seconds": train_s,
                                  "budget_clock": opts.budget_clock, "code": code},
                            force=True)

    def validate(ep: int, st: int) -> None:
        nonlocal best
        t0 = clock()
        res = evaluate(model, val_set, texts, limit=opts.val_samples, points=points)
        acc, curve = res["accuracy"], curve_metrics(res, val_set)
        val_log.write({"step": st, "epoch": ep, "train_s": round(train_s, 2), "val_s": round(clock() - t0, 2),
                       **{f"{s}_{k}": v for s in ("overall", "unique", "multiple") for k, v in acc[s].items()},
                       **{k: round(curve[k], 4) for k in ("right_class", "target_in_right_class",
                                                          "objects_per_scene", "targets_per_scene")}})
        if acc["overall"]["acc@0.25"] > best:
            best = acc["overall"]["acc@0.25"]
            save(out / "best.pt", ep, st)

    bar = _progress(progress and rank == 0)
    task = bar.add_task("train", total=opts.epochs * steps_per_epoch, completed=step) if bar else None
    stopped_by = "epochs"
    try:
        while epoch < opts.epochs and stopped_by == "epochs":
            batches = batches_of(epoch)
            for b_idx in range(step - epoch * steps_per_epoch, len(batches)):
                t0 = clock()
                torch.manual_seed(opts.seed * 1_000_003 + step * world + rank)  # the model's sampling
                lr = schedule.apply(step, train_s)
                losses = net(step_batch(scenes, batches[b_idx], texts, opts.seed, epoch, opts.augment))
                optimizer.zero_grad(set_to_none=True)
                losses["loss"].backward()
                grad_norm = torch.nn.utils.clip_grad_norm_(params, opts.grad_clip)
                optimizer.step()
                step += 1
                step_s = clock() - t0
                train_s += step_s
                if bar:
                    bar.update(task, advance=1, description=f"epoch {epoch} loss {losses['loss'].item():.3f}")
                if step % opts.log_every_steps == 0 or step == 1:
                    log.write({"step": step, "epoch": epoch, "lr": lr, "train_s": round(train_s, 2),
                               "step_s": round(step_s, 3), "grad_norm": float(grad_norm),
                               **{k: v.item() for k, v in losses.items()}})
                if step % opts.ckpt_every_steps == 0:
                    save(last, epoch, step)
                if _should_stop(opts.max_steps and step >= opts.max_steps, world):
                    stopped_by = "max_steps"
                    break
                if _should_stop(budget_s and train_s >= budget_s, world):
                    stopped_by = "time_budget"
                    break
                if val_set is not None and opts.val_every_steps and step % opts.val_every_steps == 0 and rank == 0:
                    validate(epoch, step)
            else:
                epoch += 1
            at_end = stopped_by != "epochs"
            if val_set is not None and rank == 0 and ((opts.val_every and (at_end or epoch % opts.val_every == 0))
                                                      or (opts.val_every_steps and at_end)):
                validate(epoch, step)
            save(last, epoch, step)
            if world > 1:
                dist.barrier()
    finally:
        if bar:
            bar.stop()
    return TrainResult(out, epoch, step, best, stopped_by)


def code_version() -> dict:
    """The git commit of the tsp3d checkout and whether tracked files differ from it (None outside a checkout)."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": bool(dirty) if commit else None}


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
