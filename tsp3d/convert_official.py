"""Convert an official TSP3D checkpoint (``ckpt_scanrefer.pth`` ...) into a tsp3d checkpoint.

The official file is ``torch.save({'config': argparse.Namespace, 'model': DDP state dict, 'epoch', 'save_path'})``.
It is read with ``weights_only=True`` and only ``argparse.Namespace`` allow-listed, so it cannot run code.
Key map (spec §12): drop the DDP ``module.`` prefix; MinkowskiBatchNorm ``X.bn.p`` -> ``X.p``; ME k1 stride-1
kernels ``(Cin, Cout)`` -> ``(1, Cin, Cout)`` (k1 stride-2 and k3 kernels are already ``(K, Cin, Cout)``); ME biases
``(1, Cout)`` -> ``(Cout)``; everything else (attention, LayerNorm, Conv1d, Linear) keeps name and shape. The frozen
RoBERTa (``text_encoder.*``) is not stored: tsp3d loads roberta-base itself. Every key is accounted for; a partial
map (keys of ours without a source, or official keys we cannot place) is refused unless ``allow_missing``.
"""
from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from tsp3d.checkpoint import read_untrusted, save_checkpoint
from tsp3d.errors import CheckpointError

TEXT_ENCODER_PREFIX = "text_encoder."


@dataclass
class ConversionReport:
    mapped: dict[str, str] = field(default_factory=dict)  # our key -> official key (as in the file)
    reshaped: list[str] = field(default_factory=list)  # our keys whose tensor changed shape (same values)
    text_encoder: list[str] = field(default_factory=list)  # official frozen-encoder keys (not stored)
    unmapped: list[str] = field(default_factory=list)  # official keys with no place in our model
    conflicts: list[str] = field(default_factory=list)  # official keys whose shape fits no rule
    missing: list[str] = field(default_factory=list)  # our keys no official key provides
    epoch: int | None = None
    encoder: str = ""  # the text encoder the converted config uses

    @property
    def complete(self) -> bool:
        return not (self.unmapped or self.conflicts or self.missing)

    def summary(self) -> str:
        lines = [f"mapped {len(self.mapped)} tensors ({len(self.reshaped)} reshaped from ME layouts), "
                 f"skipped {len(self.text_encoder)} frozen text-encoder tensors",
                 f"unmapped official keys: {len(self.unmapped)}, shape conflicts: {len(self.conflicts)}, "
                 f"missing tsp3d keys: {len(self.missing)}"]
        for title, keys in (("unmapped", self.unmapped), ("conflict", self.conflicts), ("missing", self.missing)):
            lines += [f"  {title}: {k}" for k in keys[:20]]
            if len(keys) > 20:
                lines.append(f"  ... {len(keys) - 20} more")
        return "\n".join(lines)


def _official_state(obj, path) -> tuple[dict[str, torch.Tensor], dict]:
    if not isinstance(obj, dict) or "model" not in obj or not isinstance(obj["model"], dict):
        raise CheckpointError(f"{path} is not an official TSP3D checkpoint (no 'model' state dict)")
    state = obj["model"]
    for k, v in state.items():
        if not isinstance(v, torch.Tensor):
            raise CheckpointError(f"{path}: model entry {k!r} is not a tensor")
    ns = obj.get("config")
    info = {"epoch": obj.get("epoch"), "config": vars(ns) if isinstance(ns, argparse.Namespace) else {}}
    return state, info


def our_name(official_key: str) -> str:
    """``module.vision_backbone.norm1.bn.weight`` -> ``vision_backbone.norm1.weight`` (DDP prefix optional)."""
    return official_key.removeprefix("module.").replace(".bn.", ".")


def _fit(tensor: torch.Tensor, shape: torch.Size) -> torch.Tensor | None:
    """The official tensor in our layout, or None when no rule applies."""
    if tensor.shape == shape:
        return tensor
    if len(shape) == 3 and shape[0] == 1 and tensor.shape == shape[1:]:  # ME k1 s1 kernel (Cin, Cout)
        return tensor.unsqueeze(0)
    if len(shape) == 1 and tensor.shape == (1, shape[0]):  # ME bias (1, Cout)
        return tensor.reshape(shape)
    return None


def map_state(official: dict[str, torch.Tensor], ours: dict[str, torch.Tensor]):
    """``(state for our model, report)``; ``ours`` gives the target names and shapes."""
    report, state = ConversionReport(), {}
    for key in sorted(official):
        name = our_name(key)
        if name.startswith(TEXT_ENCODER_PREFIX):
            report.text_encoder.append(key)
            continue
        if name not in ours:
            report.unmapped.append(key)
            continue
        fitted = _fit(official[key], ours[name].shape)
        if fitted is None:
            report.conflicts.append(f"{key} {tuple(official[key].shape)} -> {name} {tuple(ours[name].shape)}")
            continue
        if fitted.shape != official[key].shape:
            report.reshaped.append(name)
        state[name] = fitted.to(ours[name].dtype).clone()
        report.mapped[name] = key
    report.missing = sorted(set(ours) - set(state))
    return state, report


ENCODER_OF_DIM = {768: "roberta-base", 384: "minilm"}  # text projector input -> the encoder that feeds it


def official_config(text_dim: int = 768, voxel_size: float = 0.01):
    """The configuration of an official checkpoint: ``base`` (the official topology, none of our training-only
    or optional additions) with the text encoder its projector implies."""
    from tsp3d.model import load_config

    return load_config("base").replace(name="official", text_encoder=ENCODER_OF_DIM[text_dim], text_dim=text_dim,
                                       voxel_size=voxel_size)


def to_official_state(model) -> dict[str, torch.Tensor]:
    """The inverse of ``map_state``: a tsp3d ``TSP3D`` as the official state dict (``module.`` prefix included).

    Lets our weights run in the official code (and the golden fixtures build an official-layout checkpoint from a
    seeded recipe without the official code). Per module kind: ``SparseBatchNorm`` tensors gain ME's ``.bn``;
    stride-1 k1 sparse kernels drop their offset axis; sparse-conv biases become ``(1, Cout)``.
    """
    from tsp3d.sparse.nn import SparseBatchNorm, SparseConv3d, _KernelLayer

    saved = set(model.state_dict())  # persistent tensors only (no rgb_mean buffer)
    out: dict[str, torch.Tensor] = {}
    for prefix, module in model.named_modules():
        local = list(module.named_parameters(recurse=False)) + list(module.named_buffers(recurse=False))
        for name, t in local:
            key = f"{prefix}.{name}" if prefix else name
            if key not in saved:
                continue
            t = t.detach().clone()
            if isinstance(module, SparseBatchNorm):
                key = f"{prefix}.bn.{name}"
            elif isinstance(module, SparseConv3d) and name == "kernel" and module.kernel_size == 1 \
                    and module.stride == 1:
                t = t[0]
            elif isinstance(module, _KernelLayer) and name == "bias":
                t = t.reshape(1, -1)
            out["module." + key] = t
    return out


def convert_official(src, out, allow_missing: bool = False, force: bool = False, config=None) -> ConversionReport:
    """Read ``src`` safely, map it, and write a tsp3d checkpoint to ``out``. Returns the coverage report.

    ``config`` defaults to ``base`` with the text encoder the checkpoint's projector implies (768 -> roberta-base).
    """
    from tsp3d.model import TSP3D

    src = Path(src)
    state, info = _official_state(read_untrusted(src, allowed_globals=[argparse.Namespace]), src)
    proj = state.get("module.text_projector.0.weight", state.get("text_projector.0.weight"))
    if config is None:
        if proj is None or proj.dim() != 2:
            raise CheckpointError(f"{src} has no text_projector.0.weight: not a TSP3D checkpoint")
        text_dim = int(proj.shape[1])
        if text_dim not in ENCODER_OF_DIM:
            raise CheckpointError(f"{src}: text projector input {text_dim} matches no known text encoder")
        config = official_config(text_dim, float(info["config"].get("voxel_size", 0.01)))
    model = TSP3D(config)
    ours = model.state_dict()
    mapped, report = map_state(state, ours)
    report.epoch, report.encoder = info["epoch"], config.text_encoder
    if not report.complete and not allow_missing:
        raise CheckpointError(f"{src} maps only partially onto the tsp3d model:\n{report.summary()}",
                              hint="pass --allow-missing to keep the unmatched tsp3d weights at their initial values")
    model.load_state_dict({**ours, **mapped})
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    meta = {"source": "official TSP3D checkpoint", "source_file": src.name, "source_sha256": digest,
            "official_epoch": info["epoch"] if isinstance(info["epoch"], (int, float)) else None,
            "coverage": {"mapped": len(report.mapped), "text_encoder_skipped": len(report.text_encoder),
                         "unmapped": report.unmapped, "missing": report.missing, "conflicts": report.conflicts}}
    epoch = int(info["epoch"]) if isinstance(info["epoch"], (int, float)) else 0
    save_checkpoint(out, model, epoch=epoch, meta=meta, force=force)
    return report
