"""Training: options, augmentation, the loop (checkpoints, resume, DDP through torchrun), logs."""
from tsp3d.train.loop import TrainResult, train
from tsp3d.train.options import TrainOptions

__all__ = ["TrainOptions", "TrainResult", "train"]
