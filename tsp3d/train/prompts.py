"""Detection prompts: the official ``--joint_det`` training samples (spec §7, §6.1), made for any dataset.

The official training adds, for every ScanNet scene, 10 copies of a "detection prompt": the names of 1-10 random
classes present in the scene joined by " . ", whose positives are *all* objects of those classes. They teach the
model which words name which shapes without needing a referring expression, the first thing grounding needs.

Ours differ in one point: each (scene, copy) prompt is drawn once from ``(seed, scene, copy)`` instead of anew
whenever the sample is loaded, so its text features can be encoded before training and cached like any sentence.
Scenes without class labels get no prompts.
"""
from __future__ import annotations

import copy as copy_module

import numpy as np

from tsp3d.data.types import Annotation

MAX_PROMPT_CLASSES = 10  # official: 1-10 class names per prompt
PROMPT_KIND = "detection_prompt"


def scene_prompts(scene_id: str, labels: list[str], copies: int, seed: int, scene_index: int) -> list[Annotation]:
    """``copies`` prompts about one scene (deterministic in seed and scene index)."""
    present = sorted(set(labels))
    out: list[Annotation] = []
    if not present:
        return out
    for c in range(copies):
        rng = np.random.default_rng([seed, scene_index, c, 0x70])
        k = int(rng.integers(1, min(MAX_PROMPT_CLASSES, len(present)) + 1))
        names = [present[i] for i in rng.permutation(len(present))[:k]]
        targets = [i for i, lab in enumerate(labels) if lab in names]
        out.append(Annotation(scene_id, f"{scene_id}_prompt{c}", " . ".join(names), targets[0], [], unique=False,
                              tags={"kind": PROMPT_KIND, "view_dependent": False}, extra_targets=targets[1:]))
    return out


def with_detection_prompts(dataset, scenes, copies: int, seed: int):
    """A shallow copy of ``dataset`` whose annotations are its own plus ``copies`` prompts per scene.

    ``scenes``: PreparedScenes over ``dataset`` (reads each scene's labels; the prepared scenes stay cached for
    training). ``copies`` = 0 returns ``dataset`` itself.
    """
    if copies <= 0:
        return dataset
    prompts: list[Annotation] = []
    first_index = {}
    for i, ann in enumerate(dataset.annotations):
        first_index.setdefault(ann.scene_id, i)
    for n, (scene_id, i) in enumerate(first_index.items()):
        scene = scenes[i][0]
        prompts += scene_prompts(scene_id, list(scene.labels), copies, seed, n)
    out = copy_module.copy(dataset)
    out.annotations = list(dataset.annotations) + prompts
    return out
