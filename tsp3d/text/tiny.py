"""``tiny``: a small randomly initialised BERT for tests. Deterministic (seeded) and fully offline.

Its tokenizer is character-level WordPiece over printable ASCII (no vocabulary file needed): "chair" becomes
``c ##h ##a ##i ##r``. The features carry no meaning; they are stable, which is what tests need.
"""
from __future__ import annotations

import string

import torch

SEED = 1234
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MAX_LENGTH = 512


def _tokenizer():
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    chars = [c for c in string.printable if not c.isspace()]
    vocab = {t: i for i, t in enumerate(SPECIALS + chars + ["##" + c for c in chars])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=MAX_LENGTH))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=MAX_LENGTH), len(vocab)


def load_tiny():
    from transformers import BertConfig, BertModel

    tokenizer, vocab_size = _tokenizer()
    config = BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=MAX_LENGTH, pad_token_id=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        model = BertModel(config, add_pooling_layer=False)
    return model, tokenizer, MAX_LENGTH
