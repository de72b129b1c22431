"""The folded batch-1 inference path traces with torch.export (dynamic point, voxel and token counts)."""
from __future__ import annotations

import torch

from test_model_forward import text, tiny_model, toy_room
from tsp3d.model import FullStage, GroundingStage, SceneStage, fold_batchnorm
from tsp3d.model.stages import example_dynamic_shapes

CUSTOM_OPS = {"voxelize", "coords_down", "coords_up", "kernel_map", "sparse_conv", "sparse_max_pool", "lookup",
              "prune", "append_missing"}


def _ops(ep) -> set[str]:
    return {str(n.target) for n in ep.graph.nodes if n.op == "call_function"}


def _no_data_dependent_python(ep) -> None:
    names = _ops(ep)
    tsp3d_ops = {n.split(".")[1] for n in names if n.startswith("tsp3d.")}
    assert tsp3d_ops == CUSTOM_OPS, tsp3d_ops
    assert not any(k in n for n in names for k in ("nonzero", "_local_scalar_dense", "aten.item")), names


def test_full_graph_exports_and_matches_eager_on_another_scene():
    model = fold_batchnorm(tiny_model())
    stage = FullStage(model)
    points, _ = toy_room(5000, seed=1)
    feats, mask = text(6)
    ep = torch.export.export(stage, (points, feats, mask), dynamic_shapes=example_dynamic_shapes(stage))
    _no_data_dependent_python(ep)
    other_points, _ = toy_room(7000, seed=2)
    other_text = text(9, seed=1)
    with torch.no_grad():
        got, want = ep.module()(other_points, *other_text), stage(other_points, *other_text)
    assert torch.equal(got[3], want[3])
    for g, w in zip(got[:3], want[:3]):
        assert torch.allclose(g, w, atol=1e-5)


def test_split_stages_export():
    model = fold_batchnorm(tiny_model())
    points, _ = toy_room(5000, seed=1)
    scene = SceneStage(model)
    ep_scene = torch.export.export(scene, (points,), dynamic_shapes=example_dynamic_shapes(scene))
    with torch.no_grad():
        levels = ep_scene.module()(points)
        head = GroundingStage(model)
        ep_head = torch.export.export(head, (*levels, *text()), dynamic_shapes=example_dynamic_shapes(head))
        got, want = ep_head.module()(*levels, *text(8)), head(*levels, *text(8))
    assert "tsp3d.voxelize.default" in _ops(ep_scene) and "tsp3d.prune.default" in _ops(ep_head)
    assert torch.equal(got[3], want[3]) and torch.allclose(got[0], want[0], atol=1e-5)
