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
    from tsp3d.model.config import load_config

    rank, world = _dist_info()
    if opts.threads:
        torch.set_num_threads(opts.threads)
    out = Path(opts.out)
    _prepare_out_dir(out, resume, force, rank)
    ckpt = _resume_checkpoint(out / "last.pt") if resume else None
    opts = _resumed_options(opts, ckpt)
    backend = select_sparse_backend(opts.sparse_backend)
    cfg = ckpt.config if ckpt else load_config(opts.config)
    model = _build_model(cfg, opts.seed, ckpt)
    data = _load_train_data(opts, cfg, world)
    run = _Run(opts, out, rank, world, model, data, backend, ckpt)
    run.write_options()
    if opts.pre_encode_text:  # the frozen encoder's work is data preparation: done before the training clock
        _pre_encode_texts(data)
    return run.run(progress)


def _resume_checkpoint(last: Path):
    from tsp3d.checkpoint import load_checkpoint

    if not last.is_file():
        raise CheckpointError(f"nothing to resume: {last} does not exist")
    return load_checkpoint(last)


def _resumed_options(opts: TrainOptions, ckpt) -> TrainOptions:
    """What defines the training trajectory comes from the run; limits and logging from this call."""
    saved = ckpt.meta.get("options") if ckpt else None
    if not saved:
        return opts
    now = {k: getattr(opts, k) for k in RESUME_OVERRIDABLE}
    return TrainOptions.from_dict({**saved, **now})


def _build_model(cfg, seed: int, ckpt):
    from tsp3d.model import TSP3D

    torch.manual_seed(seed)
    model = TSP3D(cfg)
    if ckpt:
        model.load_state_dict(ckpt.state)
    model.train()
    return model


@dataclass
class _TrainData:
    train_set: object  # GroundingDataset (with detection prompts when asked)
    val_set: object | None  # None when the run never validates
    texts: object  # TextFeatureCache
    scenes: PreparedScenes
    points: int  # points per scene fed to the model


def _load_train_data(opts: TrainOptions, cfg, world: int) -> _TrainData:
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.text.cache import TextFeatureCache
    from tsp3d.text.registry import load_text_encoder

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
    return _TrainData(train_set, val_set, texts, scenes, points)


def _pre_encode_texts(data: _TrainData) -> None:
    t0 = time.perf_counter()
    for ann in data.train_set.annotations:
        data.texts.features(ann.text)
    logger.info("text features of %d annotations ready in %.1f s", len(data.train_set), time.perf_counter() - t0)


class _Run:
    """One training session: the optimizer, schedule and logs, and where the run stands (epoch, step, best
    validation Acc@0.25, training seconds), restored from the checkpoint when resuming."""

    def __init__(self, opts: TrainOptions, out: Path, rank: int, world: int, model, data: _TrainData, backend: str,
                 ckpt) -> None:
        self.opts, self.out, self.rank, self.world = opts, out, rank, world
        self.model, self.data, self.backend = model, data, backend
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=opts.lr, weight_decay=opts.weight_decay)
        self.scene_ids = [a.scene_id for a in data.train_set.annotations]
        self.steps_per_epoch = len(self.batches_of(0))
        if self.steps_per_epoch == 0:
            raise InputFileError(f"the train split's {len(data.train_set)} annotations make no full batch of "
                                 f"{opts.batch_size} ({opts.sentences_per_scene} per scene) x {world} processes")
        self.budget_s = opts.time_budget_min * 60.0
        self.clock = time.process_time if opts.budget_clock == "process" else time.perf_counter  # what train_s counts
        self.schedule = LrSchedule(self.optimizer, opts.lr_schedule, opts.lr,
                                   milestones_steps=[m * self.steps_per_epoch for m in opts.lr_milestones],
                                   gamma=opts.lr_gamma, warmup_steps=opts.warmup_steps, max_steps=opts.max_steps,
                                   budget_s=self.budget_s, epoch_steps=opts.epochs * self.steps_per_epoch)
        self.epoch, self.step, self.best, self.train_s = 0, 0, -1.0, 0.0
        code = ckpt.meta.get("code") if ckpt else None
        self.code = code or code_version()  # the code the run started with (a resumed run keeps its first session's)
        if ckpt:
            self._restore(ckpt)
        self.net = _Step(model)
        if world > 1:
            self.net = torch.nn.parallel.DistributedDataParallel(self.net, find_unused_parameters=True)
        self.log = CsvLog(out / "train_log.csv", enabled=rank == 0)
        self.val_log = CsvLog(out / "val_log.csv", enabled=rank == 0)

    def _restore(self, ckpt) -> None:
        if ckpt.optimizer:
            self.optimizer.load_state_dict(ckpt.optimizer)
        self.epoch, self.step, self.best = ckpt.epoch, ckpt.step, float(ckpt.meta.get("best_acc25", -1.0))
        self.train_s = float(ckpt.meta.get("train_seconds", 0.0))

    def batches_of(self, ep: int) -> list[list[int]]:
        o = self.opts
        return epoch_groups(self.scene_ids, o.seed, ep, self.rank, self.world, o.batch_size, o.sentences_per_scene)

    def write_options(self) -> None:
        if self.rank == 0:
            write_text(self.out / "options.json", json.dumps(self.opts.to_dict(), indent=2) + "\n", force=True)

    def save(self, path: Path) -> None:
        from tsp3d.checkpoint import save_checkpoint

        if self.rank == 0:
            save_checkpoint(path, self.model, optimizer=self.optimizer, epoch=self.epoch, step=self.step,
                            meta={"options": self.opts.to_dict(), "best_acc25": self.best,
                                  "steps_per_epoch": self.steps_per_epoch, "points": self.data.points,
                                  "sparse_backend": self.backend, "train_seconds": self.train_s,
                                  "budget_clock": self.opts.budget_clock, "code": self.code},
                            force=True)

    def validate(self) -> None:
        """Evaluate on the val split, log it, and keep best.pt at the best overall Acc@0.25."""
        from tsp3d.evaluation import curve_metrics, evaluate

        val_set, t0 = self.data.val_set, self.clock()
        res = evaluate(self.model, val_set, self.data.texts, limit=self.opts.val_samples, points=self.data.points)
        acc, curve = res["accuracy"], curve_metrics(res, val_set)
        self.val_log.write({"step": self.step, "epoch": self.epoch, "train_s": round(self.train_s, 2),
                            "val_s": round(self.clock() - t0, 2),
                            **{f"{s}_{k}": v for s in ("overall", "unique", "multiple") for k, v in acc[s].items()},
                            **{k: round(curve[k], 4) for k in ("right_class", "target_in_right_class",
                                                               "objects_per_scene", "targets_per_scene")}})
        if acc["overall"]["acc@0.25"] > self.best:
            self.best = acc["overall"]["acc@0.25"]
            self.save(self.out / "best.pt")

    def run(self, progress: bool) -> TrainResult:
        """Train epoch after epoch until the epochs, max_steps or the time budget end the run."""
        bar = _progress(progress and self.rank == 0)
        total = self.opts.epochs * self.steps_per_epoch
        task = bar.add_task("train", total=total, completed=self.step) if bar else None
        stopped_by = "epochs"
        try:
            while self.epoch < self.opts.epochs and stopped_by == "epochs":
                stopped_by = self._run_epoch(bar, task)
                self._end_epoch(at_end=stopped_by != "epochs")
        finally:
            if bar:
                bar.stop()
        return TrainResult(self.out, self.epoch, self.step, self.best, stopped_by)

    def _run_epoch(self, bar, task) -> str:
        """Train the rest of the current epoch (a resumed run starts mid-epoch); "epochs" when it completed (the
        epoch counter then advances), else what stopped the run."""
        batches = self.batches_of(self.epoch)
        for b_idx in range(self.step - self.epoch * self.steps_per_epoch, len(batches)):
            lr, losses, grad_norm, step_s = self._optimizer_step(batches[b_idx])
            if bar:
                bar.update(task, advance=1, description=f"epoch {self.epoch} loss {losses['loss'].item():.3f}")
            self._record_step(lr, losses, grad_norm, step_s)
            stopped_by = self._stop_reason()
            if stopped_by:
                return stopped_by
            every = self.opts.val_every_steps
            if self.data.val_set is not None and every and self.step % every == 0 and self.rank == 0:
                self.validate()
        self.epoch += 1
        return "epochs"

    def _optimizer_step(self, batch_ids: list[int]):
        o, t0 = self.opts, self.clock()
        torch.manual_seed(o.seed * 1_000_003 + self.step * self.world + self.rank)  # the model's sampling
        lr = self.schedule.apply(self.step, self.train_s)
        losses = self.net(step_batch(self.data.scenes, batch_ids, self.data.texts, o.seed, self.epoch, o.augment))
        self.optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, o.grad_clip)
        self.optimizer.step()
        self.step += 1
        step_s = self.clock() - t0
        self.train_s += step_s
        return lr, losses, grad_norm, step_s

    def _record_step(self, lr: float, losses: dict, grad_norm, step_s: float) -> None:
        """The step's log row (every log_every_steps, and the first) and the last.pt cadence."""
        if self.step % self.opts.log_every_steps == 0 or self.step == 1:
            self.log.write({"step": self.step, "epoch": self.epoch, "lr": lr, "train_s": round(self.train_s, 2),
                            "step_s": round(step_s, 3), "grad_norm": float(grad_norm),
                            **{k: v.item() for k, v in losses.items()}})
        if self.step % self.opts.ckpt_every_steps == 0:
            self.save(self.out / "last.pt")

    def _stop_reason(self) -> str | None:
        if _should_stop(self.opts.max_steps and self.step >= self.opts.max_steps, self.world):
            return "max_steps"
        if _should_stop(self.budget_s and self.train_s >= self.budget_s, self.world):
            return "time_budget"
        return None

    def _end_epoch(self, at_end: bool) -> None:
        """Validate when due (every val_every epochs; at the run's end), checkpoint, and keep the ranks together."""
        o = self.opts
        due = (o.val_every and (at_end or self.epoch % o.val_every == 0)) or (o.val_every_steps and at_end)
        if self.data.val_set is not None and self.rank == 0 and due:
            self.validate()
        self.save(self.out / "last.pt")
        if self.world > 1:
            dist.barrier()


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
