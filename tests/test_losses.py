"""Losses, assigner, keep targets and TGP helpers against hand-computed values."""
from __future__ import annotations

import math

import pytest
import torch

from tsp3d.model.assigner import assign_nearest, keep_targets
from tsp3d.model.config import HeadConfig
from tsp3d.model.head_train import TrainOutputs
from tsp3d.model.losses import EPS, SampleTargets, compute_losses, diou_loss, sigmoid_focal_loss
from tsp3d.model.tgp import cba_sample_index, interpolate_at, topk_rows

LN2 = math.log(2.0)
POS_AT_0 = 0.25 * 0.25 * LN2  # logit 0, target 1: alpha * (1 - p)^2 * BCE
BG_AT_0 = 0.75 * 0.25 * LN2  # logit 0, target 0: (1 - alpha) * p^2 * BCE


def test_focal_loss_known_values():
    logits = torch.tensor([[0.0], [0.0], [2.0], [-3.0]])
    labels = torch.tensor([0, 1, 0, 1])  # mmdet: 0 = the class (sigmoid target 1), 1 = background
    p2, p3 = torch.sigmoid(torch.tensor(2.0)), torch.sigmoid(torch.tensor(-3.0))
    expected = torch.tensor([
        POS_AT_0,
        BG_AT_0,
        0.25 * (1 - p2) ** 2 * -torch.log(p2),
        0.75 * p3 ** 2 * -torch.log(1 - p3),
    ])
    assert torch.allclose(sigmoid_focal_loss(logits, labels)[:, 0], expected, rtol=1e-5)


def test_focal_label_convention_makes_keep_head_predict_pruning():
    # keep GT "inside" = 1 is the background label: the loss pushes the logit down for inside voxels.
    logit = torch.zeros(1, 1, requires_grad=True)
    sigmoid_focal_loss(logit, torch.tensor([1])).sum().backward()
    assert logit.grad.item() > 0  # gradient descent lowers sigmoid for an inside (keep) voxel


def test_diou_loss_known_values():
    a = torch.tensor([[0.0, 0.0, 0.0, 2.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 0.0, 0.0, 2.0, 2.0, 2.0]])
    # overlap 1*2*2 = 4, union 8+8-4 = 12; centre distance^2 = 1; enclosing box 3x2x2 -> diagonal^2 = 17
    assert diou_loss(a, b).item() == pytest.approx(1 - 4 / 12 + 1 / 17, rel=1e-6)
    assert diou_loss(a, a).item() == pytest.approx(0.0, abs=1e-7)
    far = torch.tensor([[10.0, 0.0, 0.0, 2.0, 2.0, 2.0]])
    assert diou_loss(a, far).item() == pytest.approx(1 + 100 / (12 ** 2 + 4 + 4), rel=1e-6)


def test_assigner_single_box_takes_32_nearest():
    pts = torch.stack([torch.arange(40.0), torch.zeros(40), torch.zeros(40)], dim=1)
    ids = assign_nearest(pts, torch.zeros(1, 3), topk=32)
    assert ids.tolist() == [0] * 32 + [-1] * 8
    # fewer voxels than topk + 1: all but the farthest
    assert assign_nearest(pts[:10], torch.zeros(1, 3)).tolist() == [0] * 9 + [-1]
    assert assign_nearest(pts, torch.zeros(0, 3)).tolist() == [-1] * 40


def _brute_force_assign(points, centers, topk):
    n, k = len(points), len(centers)
    d = [[float(((points[i] - centers[j]) ** 2).sum()) for j in range(k)] for i in range(n)]
    kth = [sorted(d[i][j] for i in range(n))[min(topk + 1, n) - 1] for j in range(k)]
    out = []
    for i in range(n):
        nearest = min(range(k), key=lambda j: d[i][j])
        cands = [j for j in range(k) if d[i][j] < kth[j]]
        best = min(cands, key=lambda j: d[i][j]) if cands else -1
        out.append(best if best == nearest else -1)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_assigner_matches_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    pts = torch.rand(90, 3, generator=g) * 4
    centers = torch.rand(3, 3, generator=g) * 4
    assert assign_nearest(pts, centers, topk=8).tolist() == _brute_force_assign(pts, centers, 8)


def test_keep_targets_cube_is_strict_and_ignores_size():
    pts = torch.tensor([[1.03, 0, 0], [1.04, 0, 0], [1.05, 0, 0], [-1.03, 1.03, -1.03], [0, 0, 2.0]])
    inside = keep_targets(pts, torch.zeros(1, 3), 1.04)
    assert inside.tolist() == [True, False, False, True, False]
    assert keep_targets(pts, torch.zeros(0, 3), 1.04).tolist() == [False] * 5
    two = keep_targets(pts, torch.tensor([[0.0, 0, 0], [0, 0, 2.5]]), 0.52)
    assert two.tolist() == [False, False, False, False, True]


def test_interpolation_is_trilinear_without_renormalisation():
    coarse = torch.tensor([[0, 0, 0, 0], [0, 2, 0, 0]], dtype=torch.int32)
    values = torch.tensor([[1.0], [3.0]])
    query = torch.tensor([[0, 1, 0, 0], [0, 0, 0, 0], [0, 1, 1, 0], [0, -1, 0, 0], [1, 0, 0, 0]], dtype=torch.int32)
    out = interpolate_at(values, coarse, 2, query)[:, 0]
    assert out.tolist() == pytest.approx([2.0, 1.0, 1.0, 0.5, 0.0])  # last: another batch item, no site


def test_topk_rows_per_sample_and_cba_rule():
    scores = torch.tensor([0.1, 0.9, 0.5, 0.7, 0.2, 0.8])
    per_sample = [torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5])]
    assert topk_rows(scores, per_sample, 2).tolist() == [1, 2, 3, 5]
    assert topk_rows(scores, per_sample, 10).tolist() == [0, 1, 2, 3, 4, 5]
    assert cba_sample_index(4800, 2400).tolist() == list(range(0, 4800, 2))
    assert cba_sample_index(2400, 2400).tolist() == list(range(2400))
    assert cba_sample_index(7, 3).tolist() == [0, 2, 4]  # floor(i * 7 / 3)
    picked = cba_sample_index(4801, 2400)
    assert len(picked) == 2400 and len(set(picked.tolist())) == 2400 and int(picked.max()) < 4801
    assert cba_sample_index(1, 2400).tolist() == [0]


def _outputs(keep_logits, keep_points, cls, points, com, com_points):
    out = TrainOutputs()
    out.keep_logits, out.keep_points = keep_logits, keep_points
    out.cls_logits, out.points, out.reg = cls, points, [torch.zeros(len(p), 6) for p in points]
    out.com_logits, out.com_points = com, com_points
    return out


def test_compute_losses_normalisations():
    cfg = HeadConfig(assigner_topk=1, keep_gt_half_width=[1.04, 0.52])
    pts4 = torch.tensor([[0.0, 0, 0], [0.5, 0, 0], [3.0, 0, 0], [4.5, 0, 0]])
    zeros4 = torch.zeros(4)
    # target at the origin, a second scene object at x=3 (level-1: keep GT at 64 cm only), no auxiliary box
    tgt = SampleTargets(torch.tensor([[0.0, 0, 0, 1, 1, 1]]), torch.zeros(0, 6),
                        torch.tensor([[0.0, 0, 0, 1, 1, 1], [3.0, 0, 0, 1, 1, 1]]))
    out = _outputs([[zeros4], [zeros4]], [[pts4], [pts4]], [zeros4], [pts4], [zeros4], [pts4])
    losses = compute_losses(out, [tgt], cfg)
    # 64 cm: inside = points 0, 1, 2 (cubes at 0 and 3): 3 background-label terms + 1 positive term, / 3
    keep64 = (3 * BG_AT_0 + POS_AT_0) / (3 + EPS)
    # 32 cm: only the target cube: inside = points 0, 1
    keep32 = (2 * BG_AT_0 + 2 * POS_AT_0) / (2 + EPS)
    assert losses["keep_loss"].item() == pytest.approx((keep64 + keep32) / 3, rel=1e-6)
    # assigner with topk=1: the point at the centre is the only positive -> 1 positive, 3 negatives, / 1
    assert losses["cls_loss"].item() == pytest.approx(POS_AT_0 + 3 * BG_AT_0, rel=1e-6)
    assert losses["com_loss"].item() == pytest.approx(POS_AT_0 + 3 * BG_AT_0, rel=1e-6)
    # reg = 0: the box is (point, size 1) = the target exactly
    assert losses["bbox_loss"].item() == pytest.approx(0.0, abs=1e-6)
    total = sum(losses[k] for k in ("cls_loss", "bbox_loss", "keep_loss", "com_loss"))
    assert losses["loss"].item() == pytest.approx(total.item())


def test_compute_losses_batch_mean_and_no_positive_guard():
    cfg = HeadConfig(assigner_topk=1)
    pts = torch.tensor([[0.0, 0, 0], [9.0, 9, 9]])
    tgt = SampleTargets(torch.tensor([[0.0, 0, 0, 1, 1, 1]]), torch.zeros(0, 6), torch.zeros(0, 6))
    empty = SampleTargets(torch.zeros(0, 6), torch.zeros(0, 6), torch.zeros(0, 6))
    z = torch.zeros(2)
    out = _outputs([[z, z], [z, z]], [[pts, pts], [pts, pts]], [z, z], [pts, pts], [z, z], [pts, pts])
    losses = compute_losses(out, [tgt, empty], cfg)
    # keep: sample 0 has 1 inside voxel per level, sample 1 none (avg factor = N = 2); mean over the batch
    per_level_0 = (BG_AT_0 + POS_AT_0) / (1 + EPS)
    per_level_1 = (2 * POS_AT_0) / (2 + EPS)
    assert losses["keep_loss"].item() == pytest.approx((2 * per_level_0 / 3 + 2 * per_level_1 / 3) / 2, rel=1e-6)
    # cls: all four terms summed over the batch, divided by the single positive
    assert losses["cls_loss"].item() == pytest.approx(POS_AT_0 + 3 * BG_AT_0, rel=1e-6)
    no_pos = compute_losses(out, [empty, empty], cfg)
    assert torch.isfinite(no_pos["loss"]) and no_pos["bbox_loss"].item() == 0.0


def test_bbox_loss_on_all_scene_objects_when_configured():
    """Official: only the target's voxels regress; with bbox_loss_all_objects every object's nearest voxels regress
    their own object's box (the classifier still has the target as its only positive)."""
    pts = torch.tensor([[0.0, 0, 0], [3.0, 0, 0], [9.0, 0, 0]])
    tgt = SampleTargets(torch.tensor([[0.0, 0, 0, 1, 1, 1]]), torch.zeros(0, 6),
                        torch.tensor([[0.0, 0, 0, 1, 1, 1], [3.5, 0, 0, 1, 1, 1]]))
    z = torch.zeros(3)
    out = _outputs([[z], [z]], [[pts], [pts]], [z], [pts], [z], [pts])  # reg = 0: box (point, size 1)
    official = compute_losses(out, [tgt], HeadConfig(assigner_topk=1))
    assert official["bbox_loss"].item() == pytest.approx(0.0, abs=1e-6)  # the target's voxel fits exactly
    scene = compute_losses(out, [tgt], HeadConfig(assigner_topk=1, bbox_loss_all_objects=True))
    # + the voxel at x=3 for the object at 3.5: IoU 1/3, centre term 0.25 / 1.5^2+1+1 -> mean of (0, that)
    other = diou_loss(torch.tensor([[3.0, 0, 0, 1, 1, 1]]), torch.tensor([[3.5, 0, 0, 1, 1, 1]])).item()
    assert other > 0.5 and scene["bbox_loss"].item() == pytest.approx(other / 2, rel=1e-6)
    assert scene["cls_loss"].item() == pytest.approx(official["cls_loss"].item())


def test_rank_term_is_the_softmax_mass_of_the_positives():
    pts = torch.tensor([[0.0, 0, 0], [3.0, 0, 0], [9.0, 0, 0]])
    tgt = SampleTargets(torch.tensor([[0.0, 0, 0, 1, 1, 1]]), torch.zeros(0, 6), torch.zeros(0, 6))
    cls = torch.tensor([1.0, 2.0, -1.0])
    z = torch.zeros(3)
    out = _outputs([[z], [z]], [[pts], [pts]], [cls], [pts], [z], [pts])
    plain = compute_losses(out, [tgt], HeadConfig(assigner_topk=1))["cls_loss"].item()
    ranked = compute_losses(out, [tgt], HeadConfig(assigner_topk=1, cls_rank_weight=0.5))["cls_loss"].item()
    # the only positive is voxel 0: -log softmax(cls)[0]
    assert ranked - plain == pytest.approx(0.5 * -torch.log_softmax(cls, 0)[0].item(), rel=1e-6)
