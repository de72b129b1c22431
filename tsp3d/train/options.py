"""Training options (the official recipe's numbers as defaults; spec §7), saved in every checkpoint's meta."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from tsp3d.errors import InputFileError


@dataclass
class TrainOptions:
    config: str = "tiny"  # model config name or JSON path
    data: str = ""  # dataset root (tsp3d data format)
    out: str = ""  # run directory: checkpoints, logs
    epochs: int = 400  # the official default; the time budget usually ends a CPU run first
    max_steps: int = 0  # 0 = no step limit
    time_budget_min: float = 0.0  # stop (and checkpoint) after this many minutes of training; 0 = no limit
    batch_size: int = 4  # per process (official: 7 per GPU)
    lr: float = 5e-4  # AdamW (official)
    weight_decay: float = 5e-4
    grad_clip: float = 0.1  # global-norm clip (official default)
    lr_milestones: list[int] = field(default_factory=lambda: [50, 75])  # epochs; x0.1 each, stepped per iteration
    lr_gamma: float = 0.1
    augment: bool = True  # official augmentation (tsp3d/train/augment.py)
    points: int = 0  # points per scene fed to the model (0 = the config's capacities.max_points)
    seed: int = 0
    val_every: int = 1  # epochs between validations (0 = never)
    val_samples: int = 200  # validation annotations per check (0 = the whole split)
    ckpt_every_steps: int = 50  # checkpoint (last.pt) every this many steps, and at the end of each epoch
    log_every_steps: int = 10
    text_cache: str = ""  # directory of the on-disk text-feature cache ("" = memory only)
    threads: int = 0  # torch intra-op threads per process (0 = leave torch's default)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise InputFileError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_steps", "points", "val_every", "val_samples", "threads"):
            if getattr(self, name) < 0:
                raise InputFileError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.ckpt_every_steps < 1 or self.log_every_steps < 1:
            raise InputFileError("ckpt_every_steps and log_every_steps must be >= 1")
        if not (self.lr > 0 and self.grad_clip > 0 and self.weight_decay >= 0 and self.time_budget_min >= 0):
            raise InputFileError("lr and grad_clip must be > 0; weight_decay and time_budget_min >= 0")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainOptions":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputFileError(f"unknown training options: {', '.join(unknown)}")
        return cls(**data)
