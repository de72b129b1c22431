"""Learning-rate schedules, applied per iteration.

- ``step`` (the official recipe): x ``gamma`` at each milestone (given in epochs, converted to iterations).
- ``cosine``: from the base LR down to 0 along half a cosine over the run's length. The length is whichever limit
  ends the run first: ``max_steps``, the time budget, or ``epochs``. Under a time budget the progress is measured
  in training seconds (kept in the checkpoint, so a resumed run continues the curve), because the number of steps
  a budget allows is not known in advance; this is what lets a 15-minute CPU run end at a low LR instead of being
  cut off at full LR (the official milestones, 50 and 75 epochs, are never reached in minutes).
Both start with ``warmup_steps`` of linear warm-up from LR/warmup_steps.
"""
from __future__ import annotations

import bisect
import math

SCHEDULES = ("step", "cosine")


class LrSchedule:
    def __init__(self, optimizer, kind: str, base_lr: float, *, milestones_steps: list[int] = (),
                 gamma: float = 0.1, warmup_steps: int = 0, max_steps: int = 0, budget_s: float = 0.0,
                 epoch_steps: int = 0):
        if kind not in SCHEDULES:
            raise ValueError(f"unknown lr schedule {kind!r}; choose one of {', '.join(SCHEDULES)}")
        self.optimizer, self.kind, self.base_lr = optimizer, kind, base_lr
        self.milestones, self.gamma, self.warmup = sorted(milestones_steps), gamma, warmup_steps
        self.max_steps, self.budget_s, self.epoch_steps = max_steps, budget_s, epoch_steps
        self.last_lr = base_lr

    def progress(self, step: int, train_seconds: float) -> float:
        """Fraction of the run done, by the limit that ends it first (0 when the run has no limit)."""
        parts = []
        if self.max_steps:
            parts.append(step / self.max_steps)
        if self.budget_s:
            parts.append(train_seconds / self.budget_s)
        if not parts and self.epoch_steps:
            parts.append(step / self.epoch_steps)
        return min(max(parts, default=0.0), 1.0)

    def lr(self, step: int, train_seconds: float) -> float:
        """LR for the iteration that follows ``step`` completed iterations."""
        if self.kind == "step":
            factor = self.gamma ** bisect.bisect_right(self.milestones, step)
        else:
            factor = 0.5 * (1.0 + math.cos(math.pi * self.progress(step, train_seconds)))
        if self.warmup and step < self.warmup:
            factor *= (step + 1) / self.warmup
        return self.base_lr * factor

    def apply(self, step: int, train_seconds: float) -> float:
        self.last_lr = self.lr(step, train_seconds)
        for group in self.optimizer.param_groups:
            group["lr"] = self.last_lr
        return self.last_lr
