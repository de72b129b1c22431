"""The text encoder as its own ONNX graph (+ its tokenizer), and pre-encoded features for a fixed vocabulary.

``text_encoder.onnx``: ``input_ids`` int64 ``[B, tokens]``, ``attention_mask`` int64 ``[B, tokens]`` ->
``text_feats`` float32 ``[B, tokens, D]`` (the last hidden state) and ``text_mask`` bool ``[B, tokens]`` (True =
padding): exactly the model's text inputs. The Hugging Face tokenizer is saved next to it (``tokenizer/``) so a
robot can embed new sentences; ``text_features.npz`` holds the features of a list of sentences for robots with a
fixed command vocabulary (no encoder needed at run time).
"""
from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np

from tsp3d.errors import InputFileError, ModelFormatError

GRAPH_FILE = "text_encoder.onnx"
TOKENIZER_DIR = "tokenizer"
FEATURES_FILE = "text_features.npz"
PARITY_SENTENCES = ("the black chair next to the window", "a lamp", "the largest table in the room that is "
                    "closest to the door on the left")
MAX_ABS_TOLERANCE = 1e-3  # ONNX vs PyTorch on the parity sentences (measured ~1e-5 for minilm)


def _wrapper(hf_model):
    import torch

    class TextGraph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = hf_model

        def forward(self, input_ids, attention_mask):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return hidden.float(), attention_mask == 0

    return TextGraph().eval()


def export_text_encoder(encoder, out_dir: str | Path) -> dict:
    """Write ``text_encoder.onnx`` and ``tokenizer/`` into ``out_dir``; return the manifest section."""
    import onnx
    import onnxruntime as ort
    import torch

    out_dir = Path(out_dir)
    tokens = encoder.tokenize(list(PARITY_SENTENCES[:2]))
    batch, length = torch.export.Dim("batch", min=1), torch.export.Dim("tokens", min=1, max=encoder.max_length)
    chatter = io.StringIO()
    try:
        with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(chatter):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(_wrapper(encoder.model), (tokens["input_ids"], tokens["attention_mask"]),
                                        dynamo=True, optimize=True, verbose=False,
                                        input_names=["input_ids", "attention_mask"],
                                        output_names=["text_feats", "text_mask"],
                                        dynamic_shapes=({0: batch, 1: length}, {0: batch, 1: length}))
    except Exception as e:
        raise ModelFormatError(f"text encoder {encoder.name!r} export failed: {type(e).__name__}: "
                               f"{str(e).splitlines()[0] if str(e) else ''}") from e
    proto = program.model_proto
    for vi in list(proto.graph.input) + list(proto.graph.output):  # readable symbolic dims
        dims = vi.type.tensor_type.shape.dim
        dims[0].dim_param, dims[1].dim_param = "batch", "tokens"
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(out_dir / GRAPH_FILE))
    encoder.tokenizer.save_pretrained(str(out_dir / TOKENIZER_DIR))
    # Parity on sentences of other lengths than the trace's, features compared at real (non-padding) tokens.
    sess = ort.InferenceSession(str(out_dir / GRAPH_FILE), providers=["CPUExecutionProvider"])
    tok = encoder.tokenize(list(PARITY_SENTENCES))
    got_feats, got_mask = sess.run(None, {k: v.numpy() for k, v in tok.items()})
    ref = encoder.encode(list(PARITY_SENTENCES))
    real = ~ref.pad_mask.numpy()
    err = float(np.abs(got_feats - ref.feats.numpy())[real].max())
    if not np.array_equal(got_mask, ref.pad_mask.numpy()) or err > MAX_ABS_TOLERANCE:
        raise ModelFormatError(f"the exported text encoder differs from PyTorch (max abs {err:.3g} > "
                               f"{MAX_ABS_TOLERANCE})")
    return {"name": encoder.name, "dim": encoder.dim, "max_length": encoder.max_length, "file": GRAPH_FILE,
            "tokenizer": TOKENIZER_DIR, "parity_max_abs": err,
            "inputs": ["input_ids", "attention_mask"], "outputs": ["text_feats", "text_mask"]}


def read_texts_file(path: str | Path) -> list[str]:
    """One sentence per line; blank lines and lines starting with '#' are skipped."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"texts file {path} does not exist")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise InputFileError(f"{path} is not UTF-8 text: {e}") from e
    texts = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not texts:
        raise InputFileError(f"{path} holds no sentences")
    return texts


def encode_features(encoder, texts: list[str]) -> dict[str, np.ndarray]:
    """``{texts [K] str, feats float32 [K, L, D], mask bool [K, L], encoder str}``: each sentence encoded alone
    (its features do not depend on the others), padded to the longest; a row's real tokens are a prefix."""
    if len(set(texts)) != len(texts):
        raise InputFileError("the sentence list has duplicates")
    per = [encoder.encode([t]) for t in texts]
    length = max(p.feats.shape[1] for p in per)
    feats = np.zeros((len(texts), length, encoder.dim), np.float32)
    mask = np.ones((len(texts), length), bool)
    for i, p in enumerate(per):
        n = p.feats.shape[1]
        feats[i, :n], mask[i, :n] = p.feats[0].numpy(), p.pad_mask[0].numpy()
    return {"texts": np.array(texts), "feats": feats, "mask": mask, "encoder": np.array(encoder.name)}


def write_features(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)
