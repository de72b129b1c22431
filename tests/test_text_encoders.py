"""Text encoders (offline), the input rules (empty, too long, truncation) and the feature cache."""
from __future__ import annotations

import pytest
import torch

from tsp3d.errors import DependencyError, InputFileError
from tsp3d.text import TextFeatureCache, describe_default, load_text_encoder
from tsp3d.text.cache import text_key


@pytest.fixture(scope="module")
def tiny():
    return load_text_encoder("tiny")


def test_tiny_is_deterministic_and_frozen(tiny):
    a = tiny.encode(["the black chair next to the window", "a lamp"])
    b = load_text_encoder("tiny").encode(["the black chair next to the window", "a lamp"])
    assert torch.equal(a.feats, b.feats) and torch.equal(a.pad_mask, b.pad_mask)
    assert a.feats.shape[0] == 2 and a.feats.shape[2] == tiny.dim == 32
    assert a.pad_mask.dtype == torch.bool and not a.pad_mask[0].any() and a.pad_mask[1].any()
    assert not any(p.requires_grad for p in tiny.model.parameters()) and not tiny.model.training
    # padding does not change a text's own features
    alone = tiny.encode(["a lamp"])
    n = alone.feats.shape[1]
    assert torch.allclose(alone.feats[0], a.feats[1, :n], atol=1e-5)


def test_empty_and_non_string_texts_are_refused(tiny):
    for bad in ([""], ["  \n"], [], [3]):
        with pytest.raises(InputFileError):
            tiny.encode(bad)


def test_too_long_is_refused_unless_truncation_is_asked(tiny):
    long_text = "x " * (tiny.max_length + 10)
    with pytest.raises(InputFileError, match="more than the 512"):
        tiny.encode([long_text])
    with pytest.warns(UserWarning, match="truncated to 512"):
        out = tiny.encode([long_text, "short"], truncate=True)
    assert out.feats.shape[1] == tiny.max_length


def test_minilm_loads_offline():
    enc = load_text_encoder("minilm")
    out = enc.encode(["the chair"])
    assert enc.dim == 384 and out.feats.shape == (1, out.pad_mask.shape[1], 384)
    assert describe_default().startswith("minilm: dim 384")


def test_roberta_is_never_downloaded(tmp_path, monkeypatch):
    monkeypatch.delenv("TSP3D_ROBERTA_PATH", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    with pytest.raises(DependencyError) as err:
        load_text_encoder("roberta-base")
    assert "TSP3D_ROBERTA_PATH" in err.value.hint and "never downloads" in err.value.hint
    with pytest.raises(DependencyError, match="does not exist"):
        load_text_encoder("roberta-base", path=str(tmp_path / "nope"))
    with pytest.raises(InputFileError, match="unknown text encoder"):
        load_text_encoder("gpt")


def test_cache_memory_and_disk(tiny, tmp_path):
    cache = TextFeatureCache(tiny, tmp_path)
    first = cache.encode(["a red box", "the tall lamp by the door"])
    direct = tiny.encode(["a red box", "the tall lamp by the door"])
    assert torch.equal(first.pad_mask, direct.pad_mask)
    valid = ~direct.pad_mask  # values at padding positions are never read
    assert torch.allclose(first.feats[valid], direct.feats[valid], atol=1e-5)
    assert cache.misses == 2 and cache.hits == 0
    cache.encode(["a red box"])
    assert cache.hits == 1
    files = sorted((tmp_path / "tiny").glob("*.pt"))
    assert len(files) == 2 and (tmp_path / "tiny" / f"{text_key('tiny', 'a red box')}.pt").is_file()
    fresh = TextFeatureCache(tiny, tmp_path)  # a new process would read the disk entries
    again = fresh.encode(["a red box"])
    assert fresh.hits == 1 and fresh.misses == 0 and torch.equal(again.feats[0], first.feats[0, :again.feats.shape[1]])
    # a corrupt entry is recomputed, not used
    path = tmp_path / "tiny" / f"{text_key('tiny', 'a red box')}.pt"
    path.write_bytes(b"garbage")
    other = TextFeatureCache(tiny, tmp_path)
    other.encode(["a red box"])
    assert other.misses == 1
    assert torch.load(path, weights_only=True)["text"] == "a red box"


def _fake_roberta_folder(path):
    """A 1-layer, 768-wide RoBERTa with a byte-level BPE tokenizer trained here: the local-folder route."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(["the black chair next to the window", "a red box on the table"] * 10, vocab_size=300,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    tok = RobertaTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                               cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")
    tok.save_pretrained(path)
    torch.manual_seed(0)
    cfg = RobertaConfig(vocab_size=len(tok), hidden_size=768, num_hidden_layers=1, num_attention_heads=12,
                        intermediate_size=64, max_position_embeddings=42, pad_token_id=tok.pad_token_id)
    RobertaModel(cfg).save_pretrained(path)


def test_roberta_from_a_local_folder(tmp_path):
    _fake_roberta_folder(tmp_path / "rb")
    enc = load_text_encoder("roberta-base", path=str(tmp_path / "rb"))
    assert enc.dim == 768 and enc.max_length == 40  # 42 positions, 2 reserved by RoBERTa's offset
    out = enc.encode(["the black chair", "a red box on the table next to the window"])
    assert out.feats.shape[0] == 2 and out.feats.shape[2] == 768 and out.pad_mask[0].any()
    with pytest.raises(InputFileError, match="more than the 40"):
        enc.encode(["the chair " * 30])
