"""What each training step sees: the epoch's batches (a function of seed and epoch, so a resumed run continues the
same sequence) and the augmented ``TrainBatch`` of one step.

With ``sentences_per_scene = k > 1`` a batch is made of groups of up to k sentences about one scene: the group shares
one augmented copy of the scene and one backbone pass (``TrainBatch.scene_of``), so a step costs less per sentence,
and the sentences of a group contrast different targets on identical visual features. ``k = 1`` is the official
sampling (independent annotations).
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

from tsp3d.train.augment import augment, is_view_dependent


def epoch_order(n: int, seed: int, epoch: int, rank: int, world: int, batch_size: int) -> list[list[int]]:
    """This rank's batches of one epoch (a seeded permutation, sharded by rank, last partial batch dropped)."""
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    per_rank = n // world
    mine = perm[rank * per_rank:(rank + 1) * per_rank]
    return [mine[i:i + batch_size].tolist() for i in range(0, len(mine) - batch_size + 1, batch_size)]


def epoch_groups(scene_ids: list[str], seed: int, epoch: int, rank: int, world: int, batch_size: int,
                 per_scene: int) -> list[list[int]]:
    """Batches of annotation indices, consecutive indices of a batch grouped by scene (groups of <= ``per_scene``).

    Each scene's annotations are shuffled and cut into groups; the groups are shuffled, sharded by rank, and packed
    ``batch_size // per_scene`` (at least 1) groups per batch; the last partial batch is dropped.
    """
    if per_scene <= 1:
        return epoch_order(len(scene_ids), seed, epoch, rank, world, batch_size)
    rng = np.random.default_rng([seed, epoch])
    by_scene: dict[str, list[int]] = defaultdict(list)
    for i, sid in enumerate(scene_ids):
        by_scene[sid].append(i)
    groups = []
    for idxs in by_scene.values():
        idxs = rng.permutation(idxs).tolist()
        groups += [idxs[j:j + per_scene] for j in range(0, len(idxs), per_scene)]
    groups = [groups[g] for g in rng.permutation(len(groups))]
    per_rank = len(groups) // world
    mine = groups[rank * per_rank:(rank + 1) * per_rank]
    n = max(1, batch_size // per_scene)
    return [[i for g in mine[j:j + n] for i in g] for j in range(0, len(mine) - n + 1, n)]


def step_batch(scenes, idxs: list[int], texts, seed: int, epoch: int, augment_on: bool):
    """The ``TrainBatch`` of annotations ``idxs`` (``scenes``: PreparedScenes). Consecutive annotations of one scene
    share one augmented copy of it; the augmentation of a group is drawn from (seed, epoch, its first index) and
    keeps the room's orientation when any of its sentences is view-dependent."""
    from tsp3d.data.types import Scene
    from tsp3d.model.batch import make_train_batch

    groups: list[list[tuple]] = []
    for i in idxs:
        scene, ann = scenes[i]
        if groups and groups[-1][0][0].scene_id == scene.scene_id:
            groups[-1].append((scene, ann, i))
        else:
            groups.append([(scene, ann, i)])
    items, points, scene_of = [], [], []
    for g, members in enumerate(groups):
        scene = members[0][0]
        pts, boxes = scene.points, scene.boxes
        if augment_on:
            view = any(_view_dependent(ann) for _, ann, _ in members)
            pts, boxes = augment(pts, boxes, members[0][1].text, np.random.default_rng([seed, epoch, members[0][2]]),
                                 view, scene.point_objects)
        copy = Scene(scene.scene_id, pts, boxes, scene.labels, object_attributes=scene.object_attributes)
        points.append(torch.as_tensor(np.ascontiguousarray(pts, np.float32)))
        items += [(copy, ann) for _, ann, _ in members]
        scene_of += [g] * len(members)
    shared = len(groups) < len(items)
    return make_train_batch(items, texts, points=points, scene_of=scene_of if shared else None)


def _view_dependent(ann) -> bool:
    flag = ann.tags.get("view_dependent")
    return is_view_dependent(ann.text) if flag is None else bool(flag)
