"""Official checkpoint conversion, on a checkpoint written here with the official key layout and shapes (spec §12)."""
from __future__ import annotations

import argparse

import pytest
import torch

from tsp3d.checkpoint import load_model
from tsp3d.cli import main
from tsp3d.convert_official import convert_official
from tsp3d.errors import CheckpointError

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _bn(prefix: str, n: int, out: dict) -> None:
    for p in BN:
        out[f"{prefix}.{p}"] = (n,) if p != "num_batches_tracked" else ()


def _attention(prefix: str, out: dict) -> None:
    out[f"{prefix}.in_proj_weight"], out[f"{prefix}.in_proj_bias"] = (384, 128), (384,)
    out[f"{prefix}.out_proj.weight"], out[f"{prefix}.out_proj.bias"] = (128, 128), (128,)


def official_shapes() -> dict[str, tuple]:
    """Key -> shape of the official ScanRefer checkpoint, written from the spec's table (not from our code)."""
    s: dict[str, tuple] = {}
    bb = "module.vision_backbone"
    s[f"{bb}.conv1.kernel"] = (27, 6, 64)
    _bn(f"{bb}.norm1.bn", 64, s)
    cin = 64
    for layer, (blocks, ch) in enumerate(((3, 64), (4, 128), (6, 128), (3, 128)), start=1):
        for b in range(blocks):
            p = f"{bb}.layer{layer}.{b}"
            s[f"{p}.conv1.kernel"] = (27, cin if b == 0 else ch, ch)
            s[f"{p}.conv2.kernel"] = (27, ch, ch)
            _bn(f"{p}.norm1.bn", ch, s)
            _bn(f"{p}.norm2.bn", ch, s)
            if b == 0:
                s[f"{p}.downsample.0.kernel"] = (1, cin, ch)
                _bn(f"{p}.downsample.1.bn", ch, s)
        cin = ch
    s["module.text_projector.0.weight"], s["module.text_projector.0.bias"] = (128, 768), (128,)
    s["module.text_projector.1.weight"], s["module.text_projector.1.bias"] = (128,), (128,)
    # a few frozen RoBERTa tensors (shapes irrelevant to the converter: they are not stored)
    s["module.text_encoder.embeddings.word_embeddings.weight"] = (50, 8)
    s["module.text_encoder.embeddings.position_ids"] = (1, 514)
    s["module.text_encoder.pooler.dense.weight"] = (8, 8)
    h = "module.head"
    s[f"{h}.bbox_conv.kernel"], s[f"{h}.bbox_conv.bias"] = (128, 6), (1, 6)
    s[f"{h}.cls_conv.kernel"], s[f"{h}.cls_conv.bias"] = (128, 1), (1, 1)
    for i in (0, 1):
        s[f"{h}.keep_conv.{i}.kernel"], s[f"{h}.keep_conv.{i}.bias"] = (128, 1), (1, 1)
    s[f"{h}.com_cls.weight"], s[f"{h}.com_cls.bias"] = (1, 128, 1), (1,)
    pe = f"{h}.pos_embed.position_embedding_head"
    s[f"{pe}.0.weight"], s[f"{pe}.0.bias"] = (128, 3, 1), (128,)
    _bn(f"{pe}.1", 128, s)
    s[f"{pe}.3.weight"], s[f"{pe}.3.bias"] = (128, 128, 1), (128,)
    for enc in ("keep_trans.0", "keep_trans.1", "com_trans"):
        for layer in (0, 1):
            p = f"{h}.{enc}.layers.{layer}"
            for side in ("lang", "visual"):
                _attention(f"{p}.self_attention_{side}.self_attn", s)
                s[f"{p}.self_attention_{side}.norm1.weight"] = s[f"{p}.self_attention_{side}.norm1.bias"] = (128,)
            for d in ("lv", "vl"):
                _attention(f"{p}.cross_layer.cross_{d}", s)
                for i in (0, 3):
                    s[f"{p}.cross_layer.ffn_{d}.{i}.weight"] = (128, 128)
                    s[f"{p}.cross_layer.ffn_{d}.{i}.bias"] = (128,)
            for n in ("lv", "lv2", "vl", "vl2"):
                s[f"{p}.cross_layer.norm_{n}.weight"] = s[f"{p}.cross_layer.norm_{n}.bias"] = (128,)
    for name in ("up_block_1", "up_block_2", "lateral_block_0", "lateral_block_1", "lateral_block_2", "out_block_0"):
        s[f"{h}.{name}.0.kernel"] = (27, 128, 128)
        _bn(f"{h}.{name}.1.bn", 128, s)
    s[f"{h}.fuse.conv.kernel"] = (256, 128)
    _bn(f"{h}.fuse.norm.bn", 128, s)
    return s


def write_official(path, drop=(), extra=()) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    state = {}
    for k, shape in official_shapes().items():
        if k in drop:
            continue
        if k.endswith("num_batches_tracked"):
            state[k] = torch.tensor(1234)
        elif k.endswith("running_var"):
            state[k] = torch.rand(shape, generator=g) + 0.5
        else:
            state[k] = torch.randn(shape, generator=g) * 0.05
    for k in extra:
        state[k] = torch.zeros(3)
    ns = argparse.Namespace(voxel_size=0.01, dataset=["scanrefer"], lr=5e-4)
    torch.save({"config": ns, "save_path": "/ckpt", "model": state, "epoch": 85}, path)
    return state


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    path = tmp_path_factory.mktemp("official") / "ckpt_scanrefer.pth"
    return path, write_official(path)


def test_every_official_tensor_lands_in_place(official, tmp_path):
    src, state = official
    report = convert_official(src, tmp_path / "t.pt")
    assert report.complete and report.epoch == 85 and report.encoder == "roberta-base"
    assert len(report.text_encoder) == 3
    model, ckpt = load_model(tmp_path / "t.pt")
    ours = model.state_dict()
    assert len(report.mapped) == len(state) - 3 == len(ours)
    for key, value in state.items():
        if key.startswith("module.text_encoder."):
            continue
        mine = ours[key[len("module."):].replace(".bn.", ".")]
        assert torch.equal(mine.reshape(-1), value.reshape(-1).to(mine.dtype)), key
    assert ours["head.fuse.conv.kernel"].shape == (1, 256, 128)  # ME k1 s1 (Cin, Cout)
    assert ours["vision_backbone.layer2.0.downsample.0.kernel"].shape == (1, 64, 128)  # k1 s2 unchanged
    assert ours["head.bbox_conv.bias"].shape == (6,)
    assert ckpt.epoch == 85 and ckpt.meta["coverage"]["mapped"] == len(ours)
    assert ckpt.config.text_encoder == "roberta-base" and ckpt.config.text_dim == 768
    # the converted model runs
    points = torch.rand(3000, 6) * torch.tensor([4.0, 4, 2, 1, 1, 1])
    g = model.predict(points, torch.randn(1, 5, 768), torch.zeros(1, 5, dtype=torch.bool))
    assert torch.isfinite(g.center).all() and g.counts["final"] >= 1


def test_partial_maps_are_refused_unless_allowed(tmp_path):
    src = tmp_path / "partial.pth"
    write_official(src, drop=("module.head.cls_conv.kernel",), extra=("module.head.extra_layer.weight",))
    with pytest.raises(CheckpointError, match="partially") as err:
        convert_official(src, tmp_path / "p.pt")
    assert "head.cls_conv.kernel" in str(err.value) and "module.head.extra_layer.weight" in str(err.value)
    assert not (tmp_path / "p.pt").exists()
    report = convert_official(src, tmp_path / "p.pt", allow_missing=True)
    assert report.missing == ["head.cls_conv.kernel"] and report.unmapped == ["module.head.extra_layer.weight"]
    assert load_model(tmp_path / "p.pt")[1].meta["coverage"]["missing"] == ["head.cls_conv.kernel"]


def test_wrong_shapes_are_conflicts(tmp_path):
    src = tmp_path / "wrong.pth"
    write_official(src)
    obj = torch.load(src, weights_only=False)
    obj["model"]["module.head.lateral_block_0.0.kernel"] = torch.zeros(27, 64, 128)
    torch.save(obj, src)
    with pytest.raises(CheckpointError, match="shape conflicts: 1"):
        convert_official(src, tmp_path / "w.pt")


def test_cli(official, tmp_path, capsys):
    src, _ = official
    out = tmp_path / "cli.pt"
    assert main(["convert-official", str(src), "--out", str(out)]) == 0
    assert "mapped" in capsys.readouterr().out and out.is_file()
    assert main(["convert-official", str(src), "--out", str(out)]) != 0  # exists, no --force
    assert main(["convert-official", str(src), "--out", str(out), "--force"]) == 0
    assert main(["convert-official", str(tmp_path / "nope.pth"), "--out", str(tmp_path / "n.pt")]) != 0
    not_official = tmp_path / "plain.pth"
    torch.save({"weights": torch.zeros(2)}, not_official)
    assert main(["convert-official", str(not_official), "--out", str(tmp_path / "n.pt")]) != 0
    assert "not an official TSP3D checkpoint" in capsys.readouterr().err


def test_converted_models_have_none_of_the_learning_additions(official, tmp_path):
    """Issue 12's options (bilinear text score, voxel label probes, inside assigner, box loss on all objects) are
    ours: an official checkpoint has no weights for them, so its configuration keeps them off."""
    src, _ = official
    convert_official(src, tmp_path / "t.pt")
    model, ckpt = load_model(tmp_path / "t.pt")
    h = ckpt.config.head
    assert not h.text_voxel_score and not h.voxel_labels and h.assigner_mode == "nearest"
    assert not h.bbox_loss_all_objects and h.cls_rank_weight == 0
    assert model.head.text_score is None and model.head.voxel_probes is None
