"""Detection prompts (official --joint_det): what a prompt names, which objects it makes positive, and that a run
with prompts trains."""
from __future__ import annotations

import numpy as np
import pytest

from tsp3d.train.prompts import MAX_PROMPT_CLASSES, PROMPT_KIND, scene_prompts, with_detection_prompts

LABELS = ["chair", "table", "chair", "lamp", "sofa", "chair", "lamp", "box", "bed", "desk", "plant", "monitor",
          "cabinet", "bookshelf"]


def test_a_prompt_names_present_classes_and_targets_all_their_objects():
    prompts = scene_prompts("s", LABELS, copies=50, seed=3, scene_index=7)
    assert len(prompts) == 50 and len({p.ann_id for p in prompts}) == 50
    sizes = set()
    for p in prompts:
        names = p.text.split(" . ")
        sizes.add(len(names))
        assert 1 <= len(names) <= MAX_PROMPT_CLASSES and len(set(names)) == len(names)
        assert set(names) <= set(LABELS)
        targets = [p.target, *p.extra_targets]
        assert targets == sorted(targets)
        assert targets == [i for i, lab in enumerate(LABELS) if lab in names]
        assert p.anchors == [] and p.tags == {"kind": PROMPT_KIND, "view_dependent": False}
    assert max(sizes) == MAX_PROMPT_CLASSES and min(sizes) == 1  # 12 classes present: the cap of 10 binds


def test_prompts_are_deterministic_in_seed_and_scene():
    a = scene_prompts("s", LABELS, 5, seed=1, scene_index=0)
    assert [p.text for p in a] == [p.text for p in scene_prompts("s", LABELS, 5, seed=1, scene_index=0)]
    others = [p.text for p in scene_prompts("s", LABELS, 5, seed=2, scene_index=0)]
    others += [p.text for p in scene_prompts("s", LABELS, 5, seed=1, scene_index=1)]
    assert others != [p.text for p in a] * 2
    assert scene_prompts("s", [], 5, 0, 0) == []  # a scene without labels has nothing to name


def test_dataset_with_prompts_and_their_batch(micro):
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.model.batch import make_train_batch
    from tsp3d.text.registry import load_text_encoder
    from tsp3d.train.scenes import PreparedScenes

    data, _ = micro
    train_set = GroundingDataset(data, "train")
    n = len(train_set)
    scenes = PreparedScenes(train_set, 3000)
    assert with_detection_prompts(train_set, scenes, 0, 0) is train_set
    extended = with_detection_prompts(train_set, scenes, 2, 0)
    assert len(train_set) == n  # the original is untouched
    added = extended.annotations[n:]
    assert len(added) == 2 * len(train_set.scene_ids) and all(a.tags["kind"] == PROMPT_KIND for a in added)
    scenes.dataset = extended
    items = [scenes[i] for i in range(n, len(extended))]
    batch = make_train_batch(items, load_text_encoder("tiny"))
    for (scene, ann), boxes in zip(items, batch.target_boxes):
        want = np.asarray(scene.boxes, np.float32)[[ann.target, *ann.extra_targets]]
        assert boxes.shape == (1 + len(ann.extra_targets), 6) and np.array_equal(boxes.numpy(), want)


def test_a_run_with_detection_prompts_trains(micro, tmp_path):
    from tsp3d.train import TrainOptions, train

    data, cfg = micro
    opts = TrainOptions(config=str(cfg), data=str(data), out=str(tmp_path / "run"), batch_size=4,
                        sentences_per_scene=2, detection_prompts=3, max_steps=3, val_every=0, threads=1)
    assert train(opts, progress=False).step == 3
    with pytest.raises(Exception, match="detection_prompts must be >= 0"):
        TrainOptions(detection_prompts=-1)
