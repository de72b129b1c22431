"""tsp3d checkpoints: one file with everything needed to rebuild and resume a model.

Contents (a dict of plain data and tensors, so it loads with ``torch.load(weights_only=True)``): ``format`` and
``format_version``, the model ``config`` (dict), the model ``state``, optional ``optimizer``/``scheduler`` states,
``epoch``, ``step``, the ``text_encoder`` name, free-form JSON-able ``meta``, and ``hash``: a SHA-256 over the model
state (names, dtypes, shapes, bytes), checked on load. Saving is atomic and never overwrites without ``force``.

A weights-only form (``save_weights``, the pretrained models of tsp3d/pretrained) is a ``.safetensors`` file: the
model state, with the config, text encoder, step, meta and hash as JSON strings in its metadata. ``load_checkpoint``
reads both forms, and a pretrained model's name (``tiny-synrefer``) in place of a path.
"""
from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import torch

from tsp3d.errors import CheckpointError, InputFileError
from tsp3d.utils.atomic import atomic_path

FORMAT = "tsp3d-checkpoint"
FORMAT_VERSION = 1
WEIGHTS_FORMAT = "tsp3d-weights"  # the safetensors form
WEIGHTS_SUFFIX = ".safetensors"
# Pretrained models shipped in tsp3d/pretrained (weights + model card), usable by name wherever a checkpoint is taken.
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
PRETRAINED = {"tiny-synrefer": "tiny-synrefer.safetensors"}


def state_hash(state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


@dataclass
class Checkpoint:
    config: object  # tsp3d.model.config.ModelConfig
    state: dict[str, torch.Tensor]
    text_encoder: str
    epoch: int = 0
    step: int = 0
    optimizer: dict | None = None
    scheduler: dict | None = None
    meta: dict = field(default_factory=dict)
    hash: str = ""


def save_checkpoint(path, model, *, optimizer=None, scheduler=None, epoch: int = 0, step: int = 0,
                    meta: dict | None = None, force: bool = False) -> Path:
    """Write ``model`` (a TSP3D) and optional training state to ``path`` atomically."""
    meta = dict(meta or {})
    try:
        json.dumps(meta)
    except TypeError as e:
        raise CheckpointError(f"checkpoint meta must be JSON-serialisable: {e}") from e
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model.cfg.to_dict(),
        "state": state,
        "text_encoder": model.cfg.text_encoder,
        "epoch": int(epoch),
        "step": int(step),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "meta": meta,
        "hash": state_hash(state),
    }
    with atomic_path(path, force) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def read_untrusted(path, allowed_globals=()) -> object:
    """``torch.load(weights_only=True)`` with typed errors: missing, corrupt, or unsafe (would run code)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"checkpoint {path} does not exist")
    try:
        with torch.serialization.safe_globals(list(allowed_globals)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "global" not in str(e).lower():  # not a refused class: the bytes are just not a valid pickle
            raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or truncated): "
                                  f"{_first_line(e)}") from e
        refused = next((ln.strip() for ln in str(e).splitlines() if "global" in ln.lower()), _first_line(e))
        raise CheckpointError(
            f"{path} holds objects that are not tensors or plain data; refused to load it (unsafe): {refused}",
            hint="only load checkpoints from sources you trust; tsp3d never unpickles arbitrary objects") from e
    except Exception as e:  # arbitrary bytes fail inside torch.load in many ways (IndexError, EOFError, ...)
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or truncated): {_first_line(e)}") from e


def save_weights(path, ckpt: Checkpoint, meta: dict | None = None, force: bool = False) -> Path:
    """Write the weights-only ``.safetensors`` form of ``ckpt`` (no optimizer state), atomically."""
    from safetensors.torch import save_file

    if Path(path).suffix != WEIGHTS_SUFFIX:
        raise InputFileError(f"weights file {path} must end in {WEIGHTS_SUFFIX}")
    info = {"format": WEIGHTS_FORMAT, "format_version": str(FORMAT_VERSION), "config": json.dumps(
        ckpt.config.to_dict()), "text_encoder": ckpt.text_encoder, "epoch": str(ckpt.epoch), "step": str(ckpt.step),
        "meta": json.dumps({**ckpt.meta, **(meta or {})}), "hash": ckpt.hash}
    state = {k: v.detach().cpu().contiguous() for k, v in ckpt.state.items()}
    with atomic_path(path, force) as tmp:
        save_file(state, str(tmp), metadata=info)
    return Path(path)


def _read_weights(path: Path) -> dict:
    """The safetensors form as the dict ``torch.save`` checkpoints hold (typed errors; safetensors runs no code)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            info = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path} is not a readable weights file (corrupt or truncated): {_first_line(e)}") from e
    if info.get("format") != WEIGHTS_FORMAT:
        raise CheckpointError(f"{path} is a safetensors file but not tsp3d weights (no tsp3d metadata)")
    try:
        return {"format": FORMAT, "format_version": int(info["format_version"]), "config": json.loads(info["config"]),
                "state": state, "text_encoder": info["text_encoder"], "epoch": int(info["epoch"]),
                "step": int(info["step"]), "meta": json.loads(info["meta"]), "hash": info["hash"]}
    except (KeyError, ValueError) as e:
        raise CheckpointError(f"{path}: the tsp3d metadata of this weights file is incomplete ({e})") from e


def pretrained_path(name: str) -> Path:
    """The packaged file of pretrained model ``name``."""
    if name not in PRETRAINED:
        raise CheckpointError(f"unknown pretrained model {name!r}", hint=f"known: {', '.join(sorted(PRETRAINED))}")
    path = PRETRAINED_DIR / PRETRAINED[name]
    if not path.is_file():
        raise CheckpointError(f"pretrained model {name!r} is not installed ({path} is missing)")
    return path


def resolve_checkpoint(value) -> Path:
    """A checkpoint path as given, or, for a pretrained model name that is not an existing path, its file."""
    path = Path(value)
    if str(value) in PRETRAINED and not path.exists():
        return pretrained_path(str(value))
    return path


def load_checkpoint(path) -> Checkpoint:
    """A checkpoint (``.pt``), a weights file (``.safetensors``) or a pretrained model's name."""
    from tsp3d.model.config import ModelConfig

    path = resolve_checkpoint(path)
    obj = _read_weights(path) if path.suffix == WEIGHTS_SUFFIX and path.is_file() else read_untrusted(path)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        hint = "convert an official TSP3D checkpoint with `tsp3d convert-official`"
        raise CheckpointError(f"{path} is not a tsp3d checkpoint", hint=hint)
    if obj.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format version {obj.get('format_version')!r}; this tsp3d "
                              f"reads version {FORMAT_VERSION}")
    missing = [k for k in ("config", "state", "text_encoder", "hash") if k not in obj]
    if missing:
        raise CheckpointError(f"{path} lacks {missing}")
    state = obj["state"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: the model state is not a dict of tensors")
    if state_hash(state) != obj["hash"]:
        raise CheckpointError(f"{path}: the model state does not match its hash (corrupt or edited)")
    try:
        config = ModelConfig.from_dict(obj["config"], f"{path}:config")
    except InputFileError as e:
        raise CheckpointError(f"{path} has an invalid model config: {e}") from e
    return Checkpoint(config=config, state=state, text_encoder=obj["text_encoder"], epoch=obj.get("epoch", 0),
                      step=obj.get("step", 0), optimizer=obj.get("optimizer"), scheduler=obj.get("scheduler"),
                      meta=obj.get("meta") or {}, hash=obj["hash"])


def load_model(path, device="cpu"):
    """``(model, checkpoint)``: the TSP3D of the checkpoint's config with its weights, in eval mode."""
    from tsp3d.model import TSP3D

    ckpt = load_checkpoint(path)
    model = TSP3D(ckpt.config)
    ours = model.state_dict()
    missing = sorted(set(ours) - set(ckpt.state))
    unexpected = sorted(set(ckpt.state) - set(ours))
    wrong = sorted(k for k in set(ours) & set(ckpt.state) if ours[k].shape != ckpt.state[k].shape)
    if missing or unexpected or wrong:
        parts = [f"{len(missing)} missing (e.g. {missing[:3]})" if missing else "",
                 f"{len(unexpected)} unexpected (e.g. {unexpected[:3]})" if unexpected else "",
                 f"{len(wrong)} with other shapes (e.g. {wrong[:3]})" if wrong else ""]
        raise CheckpointError(f"{path} does not fit the model its config describes: "
                              + ", ".join(p for p in parts if p))
    model.load_state_dict(ckpt.state)
    return model.to(device).eval(), ckpt
