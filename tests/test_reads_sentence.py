"""Issue 12's learning terms: the bilinear text x voxel score (inference + export), the per-voxel label losses and
the inside assigner (training only), and what the official configuration keeps off."""
from __future__ import annotations

import math

import pytest
import torch

from test_model_forward import text, tiny_model, toy_room
from tsp3d.model import TSP3D, load_config
from tsp3d.model.assigner import assign, assign_inside, assign_nearest
from tsp3d.model.text_score import TextVoxelScore, sentence_vector
from tsp3d.model.voxel_labels import (balanced_cross_entropy, object_values, smallest_box_containing,
                                      voxel_targets)

ADDITIONS = ("text_score", "voxel_probes")


def test_sentence_vector_is_the_mean_of_the_unpadded_tokens():
    t = torch.arange(24.0).reshape(2, 3, 4)
    mask = torch.tensor([[False, False, True], [False, False, False]])
    s = sentence_vector(t, mask)
    assert torch.equal(s[0], t[0, :2].mean(0)) and torch.equal(s[1], t[1].mean(0))


def test_text_voxel_score_is_the_scaled_bilinear_form():
    torch.manual_seed(0)
    score = TextVoxelScore(8)
    feats, sentence = torch.randn(5, 8), torch.randn(2, 8)
    batch = torch.tensor([0, 0, 1, 1, 1])
    got = score(feats, batch, sentence)
    q, k = score.query(feats), score.key(sentence)
    want = torch.stack([q[i] @ k[batch[i]] for i in range(5)]) / math.sqrt(8)
    assert torch.allclose(got, want, atol=1e-6)


def test_the_score_reaches_the_chosen_voxel_and_depends_on_the_sentence():
    model = tiny_model()
    assert model.head.text_score is not None
    points, _ = toy_room(4000, seed=0)
    feats, mask = text(seed=1)
    with torch.no_grad():
        before = model.predict(points, feats, mask)
        model.head.text_score.key.bias.add_(torch.randn(model.cfg.head.channels) * 50)
        after = model.predict(points, feats, mask)
    assert not torch.equal(before.box, after.box) or not torch.equal(before.score, after.score)


def test_training_only_probes_do_not_change_inference():
    model = tiny_model()
    points, _ = toy_room(4000, seed=0)
    feats, mask = text()
    with torch.no_grad():
        before = model.predict(points, feats, mask)
        for p in model.head.voxel_probes.parameters():
            p.normal_()
        after = model.predict(points, feats, mask)
    assert torch.equal(before.box, after.box) and torch.equal(before.score, after.score)


def test_base_config_has_none_of_the_additions():
    """base is what `tsp3d convert-official` builds on: official checkpoints keep giving the official answers."""
    h = load_config("base").head
    assert not h.text_voxel_score and h.voxel_labels == {} and h.voxel_label_weights == {}
    assert h.assigner_mode == "nearest" and not h.bbox_loss_all_objects and h.cls_rank_weight == 0
    model = TSP3D(load_config("base"))
    assert all(getattr(model.head, name) is None for name in ADDITIONS)
    assert not any(k.split(".")[1] in ADDITIONS for k in model.state_dict() if k.startswith("head."))


def test_smallest_containing_box_and_voxel_targets():
    boxes = torch.tensor([[0.0, 0, 0, 4, 4, 4], [0.5, 0, 0, 1, 1, 1], [10, 10, 10, 1, 1, 1]])
    pts = torch.tensor([[0.5, 0, 0], [1.5, 0, 0], [5.0, 5, 5], [0.0, 2.0, 0]])  # the last on box 0's face
    owner = smallest_box_containing(pts, boxes)
    assert owner.tolist() == [1, 0, -1, 0]
    values = object_values(["chair", "lamp", "sofa"], ["lamp", "chair"])
    assert values.tolist() == [1, 0, -1]
    assert voxel_targets(owner, values, 2, background=True).tolist() == [0, 1, 2, 1]
    assert voxel_targets(owner, values, 2, background=False).tolist() == [0, 1, -1, 1]
    assert voxel_targets(owner, object_values(None, ["x"]), 1, background=True).tolist() == [-1, -1, -1, -1]


def test_balanced_cross_entropy_weighs_each_label_equally():
    logits = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 0, 0, 0, 2, -1])  # four of label 0, one of label 2, one ignored
    ce = torch.nn.functional.cross_entropy(logits[:5], labels[:5], reduction="none")
    want = (ce[:4].mean() + ce[4]) / 2
    assert torch.allclose(balanced_cross_entropy(logits, labels), want)
    assert balanced_cross_entropy(logits, torch.full((6,), -1)) is None


def test_inside_assigner_puts_the_positives_on_the_box():
    # voxels at x = 0.05, 0.15, ...; the box spans x in [1.04, 1.60] (centre 1.32): voxels 10..15 lie inside
    pts = torch.stack([(torch.arange(40.0) + 0.5) * 0.1, torch.zeros(40), torch.zeros(40)], dim=1)
    box = torch.tensor([[1.32, 0.0, 0.0, 0.56, 1.0, 1.0]])
    ids = assign_inside(pts, box, topk=32)
    assert [i for i in range(40) if ids[i] == 0] == list(range(10, 16))
    # topk caps the positives to the nearest ones, strictly (official tie rule)
    near = assign_inside(pts, box, topk=3)
    assert [i for i in range(40) if near[i] == 0] == [12, 13, 14]
    # the official rule takes the 32 nearest, most of them off the box
    assert int((assign_nearest(pts, box[:, :3], 32) == 0).sum()) == 32
    # a box containing no voxel centre falls back to the official rule
    empty = torch.tensor([[1.35, 5.0, 0.0, 0.01, 0.01, 0.01]])
    assert torch.equal(assign_inside(pts, empty, 4), assign_nearest(pts, empty[:, :3], 4))
    assert torch.equal(assign(pts, box, 8, "nearest"), assign_nearest(pts, box[:, :3], 8))


def test_inside_assigner_gives_a_voxel_in_two_boxes_to_the_nearest_centre():
    pts = torch.tensor([[0.0, 0, 0], [0.9, 0, 0], [2.0, 0, 0]])
    boxes = torch.tensor([[0.0, 0, 0, 4, 1, 1], [1.0, 0, 0, 0.5, 1, 1]])
    assert assign_inside(pts, boxes, topk=8).tolist() == [0, 1, 0]


def test_voxel_label_losses_train_the_probes_and_need_labels():
    from test_model_train import _batch

    cfg = load_config("tiny").replace(text_encoder="tiny", text_dim=32)
    cfg.head.voxel_labels = {"class": ["chair", "lamp"], "color": ["red", "blue", "green"], "size": ["small", "large"]}
    cfg.head.voxel_label_weights = {"class": 1.0, "color": 0.5, "size": 0.5}
    torch.manual_seed(0)
    model = TSP3D(cfg).train()
    torch.manual_seed(1)
    batch = _batch(3000)
    batch.object_labels = [{k: [v[i % len(v)] for i in range(len(b))] for k, v in cfg.head.voxel_labels.items()}
                           for b in batch.scene_boxes]
    losses = model.forward_train(batch)
    assert all(losses[f"voxel_{n}_loss"] > 0 for n in ("class", "color", "size"))
    losses["loss"].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.head.voxel_probes.parameters())
    batch.object_labels = None  # data without labels: the terms are zero, not an error
    torch.manual_seed(1)
    assert model.forward_train(batch)["voxel_class_loss"].item() == 0.0


@pytest.mark.parametrize("edit, words", [
    (lambda h: h.update(voxel_labels={"class": ["a"]}, voxel_label_weights={}), "keys of head.voxel_labels"),
    (lambda h: h.update(voxel_labels={"class": ["a", "a"]}, voxel_label_weights={"class": 1.0}), "distinct"),
    (lambda h: h.update(assigner_mode="volume"), "assigner_mode"),
])
def test_bad_options_are_refused(edit, words):
    from tsp3d.errors import InputFileError
    from tsp3d.model.config import ModelConfig

    data = load_config("tiny").to_dict()
    edit(data["head"])
    with pytest.raises(InputFileError, match=words):
        ModelConfig.from_dict(data)
