"""The two records every dataset yields: a scene (points + object boxes) and a referring expression on it.

All loaders (the synthetic benchmark, ScanRefer/NR3D/SR3D, plain point-cloud files) produce these; the model,
training and evaluation only consume these.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Scene:
    scene_id: str
    points: np.ndarray  # float32 [N, 6]: x, y, z in metres (z up, axis-aligned), r, g, b in [0, 1]
    boxes: np.ndarray  # float32 [M, 6]: centre (3) and size (3) of every object, axis-aligned, metres
    labels: list[str] = field(default_factory=list)  # class name per object (len M)
    # Optional extras (added after the contract; both may be absent):
    point_objects: np.ndarray | None = None  # int32 [N]: object index of each point, -1 = wall/floor/unlabelled
    object_attributes: dict = field(default_factory=dict)  # per-object lists of len M, e.g. {"color": [...]}

    def __post_init__(self) -> None:
        if self.boxes.ndim != 2 or self.boxes.shape[1] != 6:
            raise ValueError(f"scene {self.scene_id}: boxes must be [M, 6], got {self.boxes.shape}")
        if self.labels and len(self.labels) != self.boxes.shape[0]:
            raise ValueError(f"scene {self.scene_id}: {len(self.labels)} labels for {self.boxes.shape[0]} boxes")
        if self.point_objects is not None and self.point_objects.shape != (self.points.shape[0],):
            raise ValueError(
                f"scene {self.scene_id}: point_objects must be [{self.points.shape[0]}], got {self.point_objects.shape}"
            )


@dataclass
class Annotation:
    scene_id: str
    ann_id: str
    text: str
    target: int  # index into Scene.boxes
    anchors: list[int] = field(default_factory=list)  # objects the sentence relates the target to (may be empty)
    unique: bool = False  # no other object of the target's class in the scene (ScanRefer's "unique" split)
    tags: dict = field(default_factory=dict)  # free-form: relation kind, attributes used, view-dependence, ...
    # Further objects the text names, positives like the target (training only: a detection prompt such as
    # "chair . lamp" names every chair and lamp of the scene; see tsp3d/train/prompts.py). Not part of the file format.
    extra_targets: list[int] = field(default_factory=list)
