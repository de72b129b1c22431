"""A user with an official checkpoint and the paper's roberta-base, end to end, on the code path they take:

    tsp3d convert-official ckpt.pth --out ours.pt
    tsp3d --roberta-path DIR export --checkpoint ours.pt --out bundle       (text_encoder.onnx + tokenizer)
    tsp3d ground --onnx bundle --scene room.ply --text "..."                 (no torch text encoder at run time)
    tsp3d --roberta-path DIR eval --checkpoint ours.pt --data DATA

No real roberta-base can be obtained here, so DIR holds a randomly initialised one-layer RoBERTa with the real
hidden size (768) and a byte-level BPE tokenizer trained on a few sentences, saved with ``save_pretrained``: the
files and loaders are the ones a real copy uses. The official-layout checkpoint is the golden fixtures' recipe.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tsp3d.bench.golden import load_fixture, scene_points
from tsp3d.bench.golden_runs import FIXTURE
from tsp3d.bench.official_weights import write_official_checkpoint
from tsp3d.cli import main

SENTENCES = ["the red chair next to the table", "the lamp in the corner", "a big brown sofa",
             "the smallest box on the shelf", "the white cabinet near the door"]


def make_tiny_roberta(out) -> None:
    """A random RoBERTa (hidden 768, 1 layer) + a byte-level BPE tokenizer, saved as a roberta-base folder."""
    from tokenizers import ByteLevelBPETokenizer
    from tokenizers.processors import RobertaProcessing
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(SENTENCES * 4, vocab_size=320, min_frequency=1,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe._tokenizer.post_processor = RobertaProcessing(("</s>", bpe.token_to_id("</s>")), ("<s>", bpe.token_to_id("<s>")))
    tok = RobertaTokenizerFast(tokenizer_object=bpe._tokenizer)
    torch.manual_seed(0)
    cfg = RobertaConfig(vocab_size=tok.vocab_size, hidden_size=768, num_hidden_layers=1, num_attention_heads=4,
                        intermediate_size=128, max_position_embeddings=66, pad_token_id=tok.pad_token_id)
    RobertaModel(cfg, add_pooling_layer=False).eval().save_pretrained(out)
    tok.save_pretrained(out)


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    """Files of the flow: roberta folder, official checkpoint, converted checkpoint, bundle, a PLY scene."""
    from plyfile import PlyData, PlyElement

    tmp = tmp_path_factory.mktemp("official_flow")
    make_tiny_roberta(tmp / "roberta")
    manifest, fx = load_fixture(FIXTURE)
    write_official_checkpoint(tmp / "ckpt_scanrefer.pth", manifest["seed"], manifest["biases"])
    assert main(["convert-official", str(tmp / "ckpt_scanrefer.pth"), "--out", str(tmp / "ours.pt")]) == 0
    assert main(["--roberta-path", str(tmp / "roberta"), "export", "--checkpoint", str(tmp / "ours.pt"),
                 "--out", str(tmp / "bundle")]) == 0
    pts = scene_points(fx, "room10k")
    rgb = np.clip(np.round(pts[:, 3:6] * 256), 0, 255).astype(np.uint8)
    vertex = np.empty(len(pts), dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("red", "u1"), ("green", "u1"),
                                       ("blue", "u1")])
    for i, k in enumerate("xyz"):
        vertex[k] = pts[:, i]
    vertex["red"], vertex["green"], vertex["blue"] = rgb.T
    PlyData([PlyElement.describe(vertex, "vertex")], text=False).write(str(tmp / "room.ply"))
    return tmp


def test_the_bundle_carries_the_roberta_encoder_and_tokenizer(flow):
    manifest = json.loads((flow / "bundle" / "manifest.json").read_text())
    assert manifest["text_encoder"]["name"] == "roberta-base" and manifest["text_encoder"]["dim"] == 768
    assert (flow / "bundle" / "text_encoder.onnx").is_file()
    assert (flow / "bundle" / "tokenizer" / "tokenizer.json").is_file()


def test_ground_on_the_bundle_matches_pytorch_with_roberta(flow):
    from tsp3d.checkpoint import load_model
    from tsp3d.data.pointcloud import read_point_cloud
    from tsp3d.text import load_text_encoder

    sentence = SENTENCES[0]
    out = flow / "ground.json"
    assert main(["ground", "--onnx", str(flow / "bundle"), "--scene", str(flow / "room.ply"), "--text", sentence,
                 "--json", str(out), "--threads", "1"]) == 0
    onnx_box = json.loads(out.read_text())["results"][0]
    model, _ = load_model(flow / "ours.pt")
    enc = load_text_encoder("roberta-base", str(flow / "roberta"))
    feats = enc.encode([sentence])
    points = torch.from_numpy(read_point_cloud(flow / "room.ply"))
    ref = model.predict(points, feats.feats, feats.pad_mask)
    assert np.abs(np.asarray(onnx_box["center"]) - ref.center.numpy()).max() < 1e-4
    assert np.abs(np.asarray(onnx_box["size"]) - ref.size.numpy()).max() < 1e-4


def test_eval_runs_the_converted_checkpoint_with_roberta(flow, tmp_path):
    data = tmp_path / "data"
    assert main(["data", "synth", "--out", str(data), "--train-scenes", "0", "--val-scenes", "1",
                 "--points", "8000"]) == 0
    report = tmp_path / "eval.json"
    assert main(["--roberta-path", str(flow / "roberta"), "eval", "--checkpoint", str(flow / "ours.pt"),
                 "--data", str(data), "--limit", "2", "--json", str(report), "--threads", "1",
                 "--cba-sample", "official-random", "--seed", "3"]) == 0
    result = json.loads(report.read_text())
    assert result["accuracy"]["overall"]["n"] == 2
    assert result["cba_sample"] == "official-random" and result["seed"] == 3
    sampled = [p["counts"]["counts"][5] for p in result["predictions"]]  # cba_sampled (COUNT_NAMES order)
    assert all(0 < n <= 2400 for n in sampled)


def test_a_missing_roberta_folder_is_one_clear_error(flow, capsys):
    code = main(["--roberta-path", str(flow / "nowhere"), "export", "--checkpoint", str(flow / "ours.pt"),
                 "--out", str(flow / "bundle2")])
    err = capsys.readouterr().err
    assert code != 0 and "roberta-base directory" in err and "does not exist" in err
    assert not (flow / "bundle2").exists()
