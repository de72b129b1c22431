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
    # Stop (and checkpoint) once the run has trained this many minutes in total (validation excluded; a resumed run
    # counts the time of its earlier sessions, kept in the checkpoint); 0 = no limit.
    time_budget_min: float = 0.0
    # The clock of time_budget_min and of the logged training seconds: "wall" (elapsed time) or "process" (CPU time
    # of this process, all its threads: with threads=1 the budget then means CPU-minutes, unaffected by other jobs
    # on a shared machine).
    budget_clock: str = "wall"
    batch_size: int = 4  # per process (official: 7 per GPU)
    # Sentences about one scene per group: a group shares one augmented scene and one backbone pass (1 = official
    # independent samples); a batch holds batch_size // sentences_per_scene groups (train/batches.py).
    sentences_per_scene: int = 1
    lr: float = 5e-4  # AdamW (official)
    weight_decay: float = 5e-4
    grad_clip: float = 0.1  # global-norm clip (official default)
    lr_milestones: list[int] = field(default_factory=lambda: [50, 75])  # epochs; x0.1 each, stepped per iteration
    lr_gamma: float = 0.1
    lr_schedule: str = "step"  # "step" (official: lr_milestones) or "cosine" (to 0 over the run; train/schedule.py)
    warmup_steps: int = 0  # linear LR warm-up iterations
    augment: bool = True  # official augmentation (tsp3d/train/augment.py)
    # Detection prompts per training scene ("chair . lamp" -> every chair and lamp; tsp3d/train/prompts.py): the
    # official --joint_det adds 10 per ScanNet scene; 0 = none (the default, as without --joint_det).
    detection_prompts: int = 0
    points: int = 0  # points per scene fed to the model (0 = the config's capacities.max_points)
    seed: int = 0
    val_every: int = 1  # epochs between validations (0 = never)
    val_every_steps: int = 0  # also validate every this many steps (0 = never), and at the end of the run
    pre_encode_text: bool = True  # encode every training sentence before the training clock starts
    val_samples: int = 200  # validation annotations per check (0 = the whole split)
    ckpt_every_steps: int = 50  # checkpoint (last.pt) every this many steps, and at the end of each epoch
    log_every_steps: int = 10
    text_cache: str = ""  # directory of the on-disk text-feature cache ("" = memory only)
    threads: int = 0  # torch intra-op threads per process (0 = leave torch's default)
    # Sparse backend while training: "auto" = $TSP3D_SPARSE_BACKEND if set, else "cpp" (libtsp3d_cpu.so, several
    # times faster on CPU) when it is built, else "reference" (with a logged note); or one of tsp3d.sparse.BACKENDS.
    sparse_backend: str = "auto"

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "sentences_per_scene"):
            if getattr(self, name) < 1:
                raise InputFileError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_steps", "detection_prompts", "points", "val_every", "val_every_steps", "val_samples", "threads", "warmup_steps"):
            if getattr(self, name) < 0:
                raise InputFileError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.ckpt_every_steps < 1 or self.log_every_steps < 1:
            raise InputFileError("ckpt_every_steps and log_every_steps must be >= 1")
        if self.budget_clock not in ("wall", "process"):
            raise InputFileError(f"budget_clock must be wall or process, got {self.budget_clock!r}")
        if self.lr_schedule not in ("step", "cosine"):
            raise InputFileError(f"lr_schedule must be step or cosine, got {self.lr_schedule!r}")
        if self.sparse_backend not in ("auto", "reference", "spconv", "cpp"):
            raise InputFileError(f"sparse_backend must be auto, reference, spconv or cpp, got {self.sparse_backend!r}")
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
