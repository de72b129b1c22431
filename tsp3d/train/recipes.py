"""Training recipes (TrainOptions fields) shared by the accuracy benchmark, the reference checkpoint and the
quickstart; every other option is the TrainOptions default (the official recipe). Why each number: docs/model.md,
"Training tiny in minutes" and "Learning that reads the sentence"."""
from __future__ import annotations

# tiny on a CPU budget: 8 sentences per step (2 scenes x 4 sentences sharing a backbone pass), AdamW 4e-3 with
# cosine decay over the budget after 30 warm-up steps, clip 1.0. The budget counts the training process's CPU time
# (budget_clock "process"), so a number of minutes means the same on a loaded shared machine.
TINY_CPU = {"config": "tiny", "batch_size": 8, "sentences_per_scene": 4, "lr": 4e-3, "lr_schedule": "cosine",
            "warmup_steps": 30, "grad_clip": 1.0, "weight_decay": 5e-4, "augment": True, "budget_clock": "process"}
