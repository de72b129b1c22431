"""Dense and sparse building blocks: attention, BiEncoder masking, backbone levels, BatchNorm folding."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from test_model_forward import text, tiny_model, toy_room
from tsp3d.model import TSP3D, fold_batchnorm, load_config
from tsp3d.model.attention import MultiheadAttention
from tsp3d.model.biencoder import BiEncoder


def test_attention_equals_torch_multihead_attention():
    torch.manual_seed(0)
    ours, ref = MultiheadAttention(32, 4).eval(), nn.MultiheadAttention(32, 4).eval()
    ref.load_state_dict(ours.state_dict())  # same parameter names and shapes as the official modules
    q, kv = torch.randn(2, 5, 32), torch.randn(2, 7, 32)
    mask = torch.zeros(2, 7, dtype=torch.bool)
    mask[1, 4:] = True
    expected = ref(q.transpose(0, 1), kv.transpose(0, 1), kv.transpose(0, 1), key_padding_mask=mask)[0]
    assert torch.allclose(ours(q, kv, kv, mask), expected.transpose(0, 1), atol=1e-5)


def test_fused_attention_equals_the_traced_plain_ops(monkeypatch):
    """Eager runs without dropout use scaled_dot_product_attention; traced graphs the plain ops: same values and
    gradients (training mode, dropout 0, padding masked)."""
    torch.manual_seed(0)
    attn = MultiheadAttention(32, 4, dropout=0.0).train()
    q, kv = torch.randn(3, 6, 32, requires_grad=True), torch.randn(3, 9, 32)
    mask = torch.zeros(3, 9, dtype=torch.bool)
    mask[1, 5:] = True
    runs = []
    for tracing in (False, True):
        monkeypatch.setattr(torch.compiler, "is_compiling", lambda t=tracing: t)
        q.grad = None
        attn.zero_grad()
        out = attn(q, kv, kv, mask)
        (out * torch.linspace(-1, 1, out.numel()).reshape(out.shape)).sum().backward()
        runs.append((out.detach(), q.grad.clone(), attn.in_proj_weight.grad.clone()))
    for fused, plain in zip(*runs):
        assert torch.allclose(fused, plain, atol=1e-5)


def test_biencoder_ignores_padded_voxels_and_tokens():
    torch.manual_seed(0)
    enc = BiEncoder(32, 4, 32, 0.1, 2).eval()
    vis, pos, txt = torch.randn(1, 9, 32), torch.randn(1, 9, 32), torch.randn(1, 5, 32)
    v, t = enc(vis, pos, None, txt, torch.zeros(1, 5, dtype=torch.bool))
    vis_pad = torch.cat([vis, torch.randn(1, 3, 32)], 1)
    pos_pad = torch.cat([pos, torch.randn(1, 3, 32)], 1)
    vmask = torch.tensor([[False] * 9 + [True] * 3])
    txt_pad = torch.cat([txt, torch.randn(1, 2, 32)], 1)
    tmask = torch.tensor([[False] * 5 + [True] * 2])
    v2, t2 = enc(vis_pad, pos_pad, vmask, txt_pad, tmask)
    assert torch.allclose(v, v2[:, :9], atol=1e-5) and torch.allclose(t, t2[:, :5], atol=1e-5)
    assert set(enc.state_dict()) >= {"layers.1.cross_layer.ffn_vl.3.weight",
                                     "layers.0.self_attention_visual.norm1.bias",
                                     "layers.0.cross_layer.cross_lv.in_proj_weight"}


def test_backbone_levels_strides_and_channels():
    cfg = load_config("tiny").replace(text_encoder="tiny", text_dim=32)
    model = TSP3D(cfg).eval()
    points, _ = toy_room(4000)
    with torch.no_grad():
        outs = model.vision_backbone(model.voxelize(points), cfg.capacities)
    assert [o.stride for o in outs] == [8, 16, 32, 64]
    assert [o.feats.shape[1] for o in outs] == cfg.stage_channels()
    assert [len(o) for o in outs] == sorted((len(o) for o in outs), reverse=True)


def _randomise_batchnorms(model: nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)


def test_fold_batchnorm_equals_eval_model():
    model = tiny_model()
    _randomise_batchnorms(model)
    folded = fold_batchnorm(model)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in folded.modules())
    assert any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())  # original untouched
    points, _ = toy_room(6000, seed=3)
    feats, mask = text()
    with torch.no_grad():
        a, b = model.encode_scene(points), folded.encode_scene(points)
        for x, y in zip(a, b):
            assert torch.allclose(x.float(), y.float(), atol=1e-4, rtol=1e-4)
        ra, rb = model.ground(*a, feats, mask), folded.ground(*a, feats, mask)
    assert torch.equal(ra[3], rb[3])  # the same pruning decisions
    for x, y in zip(ra[:3], rb[:3]):
        assert torch.allclose(x, y, atol=1e-4)


def test_fold_batchnorm_changes_nothing_but_the_norms():
    model = tiny_model()
    folded = fold_batchnorm(model)
    convs = [n for n, m in folded.named_modules() if hasattr(m, "activation")]
    relu_fused = [n for n in convs if folded.get_submodule(n).activation == 1]
    assert "vision_backbone.conv1" in relu_fused and "head.fuse.conv" in relu_fused
    assert "vision_backbone.layer1.0.conv2" not in relu_fused  # its ReLU comes after the residual add
    assert folded.get_submodule("head.bbox_conv").activation == 0


@pytest.mark.parametrize("name", ["base"])
def test_parameter_counts_match_the_official_layout(name):
    cfg = load_config(name).replace(text_encoder="roberta-base", text_dim=768)
    model = TSP3D(cfg)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    # spec §12 (inferred from the official key table): 12.008 M + 4.698 M + 0.099 M
    assert count(model.vision_backbone) == pytest.approx(12.008e6, rel=2e-4)
    assert count(model.head) == pytest.approx(4.698e6, rel=2e-4)
    assert count(model.text_projector) == 768 * 128 + 128 + 256
