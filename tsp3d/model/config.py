"""Model configuration: dataclasses that round-trip through JSON (``tsp3d/configs/<name>.json``).

Every number of the official TSP3D that is a Python default there is an explicit field here (sources in
docs/model.md). A config is saved inside every checkpoint, so a checkpoint rebuilds its own model.
Strides and capacities are in units of the base voxel (``voxel_size`` metres): stride 16 = 16 cm at 0.01 m.
"""
from __future__ import annotations

import dataclasses
import json
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path

from tsp3d.errors import InputFileError

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
ASSIGNER_MODES = ("nearest", "inside")
STRIDES = (1, 2, 4, 8, 16, 32, 64)  # every voxel set the model builds (stem s2, pool s4, layer1..4 s8..s64)


@dataclass
class BackboneConfig:
    in_channels: int = 6  # x, y, z (m) and normalised r, g, b
    stem_channels: int = 64
    max_channels: int = 128  # channels of stage i are min(stem * 2^i, max)
    blocks: list[int] = field(default_factory=lambda: [3, 4, 6, 3])  # BasicBlocks per stage (ResNet-34)


@dataclass
class HeadConfig:
    channels: int = 128
    attn_heads: int = 8
    attn_ffn: int = 128
    attn_layers: int = 2  # BiEncoderLayers per BiEncoder
    dropout: float = 0.1
    # TGP at inference, levels (64, 32): keep a voxel iff 1 - sigmoid(keep_logit) > threshold (prune-probability
    # convention: the keep head predicts the probability that a voxel should be pruned).
    tgp_keep_threshold: list[float] = field(default_factory=lambda: [0.7, 0.3])
    # ... but at least this many voxels per level (the best by keep score): 1 = the official behaviour minus its
    # debugger stop. A briefly trained keep head is under-confident, and a threshold alone can then prune the scene
    # to a handful of voxels that miss the target (measured in docs/model.md).
    tgp_min_keep: list[int] = field(default_factory=lambda: [1, 1])
    cba_threshold: float = 0.15  # CBA appends a sampled V1 voxel iff sigmoid(com_logit) > threshold
    cba_samples: int = 2400  # at most this many V1 voxels enter CBA
    # Training only (official §5.5): random caps on the voxels entering keep_trans at (64, 32), top-k pruning.
    train_attn_samples: list[int] = field(default_factory=lambda: [320, 3200])
    train_topk_32: int = 4000
    train_topk_16: list[int] = field(default_factory=lambda: [1200, 4000])  # randint(low, high) per iteration
    keep_gt_half_width: list[float] = field(default_factory=lambda: [1.04, 0.52])  # metres, levels (64, 32)
    assigner_topk: int = 32
    # Regress the box of every scene object from its own nearest voxels, not only the target's (official: target
    # only). Box regression is class- and sentence-agnostic, so this gives it ~13x the supervision per scene; the
    # classifier (what the sentence selects) is still trained on the target alone. Training only.
    bbox_loss_all_objects: bool = False
    # Adds this weight x -log(softmax mass of the positives among a sample's final voxels) to cls_loss (official:
    # 0, focal loss alone). Inference takes the arg-max voxel; this term trains exactly that choice, where the
    # focal loss only scores voxels one by one. Training only.
    cls_rank_weight: float = 0.0
    # --- Learning that reads the sentence (issue 12, docs/model.md); all off in base, i.e. the official model. ---
    # Bilinear sentence x voxel term added to the box classifier logit: <W_q f_i, W_k s> / sqrt(C), f_i the final
    # voxel feature before the text fusion, s the masked mean of the projected text tokens. Part of inference and of
    # the exported graph (official checkpoints have no such weights, so convert-official leaves it off).
    text_voxel_score: bool = False
    # Per-voxel auxiliary classification, training only: attribute name ("class", or a key of the scenes'
    # object_attributes such as "color", "size") -> the values it can take. A voxel's label is the value of the
    # smallest ground-truth box containing its centre; "class" voxels in no box get a background label, other
    # attributes ignore them. Class-balanced cross-entropy on the backbone's 16 cm voxels and on the final voxel
    # features before the fusion, weighted by voxel_label_weights (same keys). Empty = off.
    voxel_labels: dict[str, list[str]] = field(default_factory=dict)
    voxel_label_weights: dict[str, float] = field(default_factory=dict)
    # Classifier/box positives: "nearest" (official TR3DAssigner: the assigner_topk voxels nearest the box centre)
    # or "inside" (the assigner_topk nearest among voxels whose centre lies inside the box; "nearest" for a box
    # that contains no voxel centre). Training only.
    assigner_mode: str = "nearest"
    loss_weights: dict[str, float] = field(
        default_factory=lambda: {"cls_loss": 1.0, "bbox_loss": 1.0, "keep_loss": 1.0, "com_loss": 1.0})


@dataclass
class Capacities:
    """Explicit bounds on every data-dependent size (batch-1 inference; training scales them by the batch size).

    Exceeding one raises ``CapacityError`` (and fails the exported graph the same way).
    """

    max_points: int = 100_000
    voxels_s1: int = 100_000  # up to 4 cm a voxel may hold a single point: bound by max_points
    voxels_s2: int = 100_000
    voxels_s4: int = 100_000
    voxels_s8: int = 65_536
    voxels_s16: int = 32_768
    voxels_s32: int = 16_384
    voxels_s64: int = 8_192
    up_s32: int = 8_192  # after TGP-1 and generative upsampling; keep_trans[0] attends over all of them
    up_s16: int = 65_536  # after TGP-2 and generative upsampling
    final_s16: int = 67_936  # after CBA appends (<= up_s16 + cba_samples)

    def voxels(self, stride: int) -> int:
        return getattr(self, f"voxels_s{stride}")


@dataclass
class ModelConfig:
    name: str = "base"
    voxel_size: float = 0.01
    # Features of a point: x, y, z in metres, then rgb * rgb_scale - rgb_mean. The official code feeds
    # rgb_u8 / 256 - mean_u8 / 256; our points already carry rgb_u8 / 256 (tsp3d.data.points.colors_to_unit),
    # hence the scale 1. (255/256 here would shrink the official checkpoints' colours a second time.)
    rgb_scale: float = 1.0
    rgb_mean: list[float] = field(default_factory=lambda: [109.8 / 256.0, 97.2 / 256.0, 83.8 / 256.0])
    text_encoder: str = "minilm"
    text_dim: int = 384  # hidden size of the text encoder's last layer (checked against the encoder)
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    capacities: Capacities = field(default_factory=Capacities)

    def __post_init__(self) -> None:
        validate(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        text = json.dumps(self.to_dict(), indent=2)
        # one line per list of numbers
        return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + ", ".join(
            v.strip() for v in m.group(1).split(",")) + "]", text) + "\n"

    def replace(self, **changes) -> "ModelConfig":
        return dataclasses.replace(self, **changes)

    def stage_channels(self) -> list[int]:
        b = self.backbone
        return [min(b.stem_channels * 2**i, b.max_channels) for i in range(len(b.blocks))]

    @classmethod
    def from_dict(cls, data: dict, source: str = "config") -> "ModelConfig":
        return _build(cls, data, source)


def _bad(source: str, msg: str) -> InputFileError:
    return InputFileError(f"{source}: {msg}", hint="compare with tsp3d/configs/base.json")


def _build(cls, data, source: str):
    if not isinstance(data, dict):
        raise _bad(source, f"{cls.__name__} must be a JSON object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise _bad(source, f"unknown {cls.__name__} keys {unknown}")
    kwargs = {}
    for name, value in data.items():
        kind = hints[name]
        if dataclasses.is_dataclass(kind):
            kwargs[name] = _build(kind, value, f"{source}.{name}")
        else:
            kwargs[name] = _check_value(value, kind, f"{source}.{name}")
    try:
        return cls(**kwargs)
    except InputFileError:
        raise
    except (TypeError, ValueError) as e:
        raise _bad(source, str(e)) from e


def _check_value(value, kind, where: str):
    origin = typing.get_origin(kind)
    if origin is list:
        (item,) = typing.get_args(kind)
        if not isinstance(value, list):
            raise _bad(where, f"expected a list, got {value!r}")
        return [_check_value(v, item, where) for v in value]
    if origin is dict:
        _, item = typing.get_args(kind)
        if not isinstance(value, dict):
            raise _bad(where, f"expected an object, got {value!r}")
        return {str(k): _check_value(v, item, where) for k, v in value.items()}
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind in (int, str, bool) and type(value) is kind:
        return value
    raise _bad(where, f"expected {kind.__name__}, got {value!r}")


def validate(cfg: ModelConfig) -> None:
    """Refuse configs the model cannot be built from (one message naming the field)."""
    h, b, c = cfg.head, cfg.backbone, cfg.capacities
    src = f"config {cfg.name!r}"
    if not cfg.voxel_size > 0:
        raise _bad(src, f"voxel_size must be > 0, got {cfg.voxel_size}")
    if len(cfg.rgb_mean) != 3:
        raise _bad(src, "rgb_mean must have 3 values")
    if b.in_channels != 6:
        raise _bad(src, "backbone.in_channels must be 6 (x, y, z, r, g, b)")
    if len(b.blocks) != 4 or min(b.blocks) < 1:
        raise _bad(src, f"backbone.blocks must be 4 positive counts (strides 8..64), got {b.blocks}")
    if min(cfg.stage_channels()[1:]) != h.channels or max(cfg.stage_channels()[1:]) != h.channels:
        raise _bad(src, f"stages 2-4 of the backbone must have head.channels={h.channels} channels, got "
                        f"{cfg.stage_channels()[1:]} (set backbone.max_channels)")
    if h.channels % h.attn_heads:
        raise _bad(src, f"head.channels={h.channels} is not divisible by head.attn_heads={h.attn_heads}")
    if len(h.tgp_min_keep) != 2 or min(h.tgp_min_keep) < 1:
        raise _bad(src, f"head.tgp_min_keep must be 2 counts >= 1, got {h.tgp_min_keep}")
    for name, seq, n in (("tgp_keep_threshold", h.tgp_keep_threshold, 2), ("train_attn_samples",
                         h.train_attn_samples, 2), ("train_topk_16", h.train_topk_16, 2),
                         ("keep_gt_half_width", h.keep_gt_half_width, 2)):
        if len(seq) != n:
            raise _bad(src, f"head.{name} must have {n} values, got {seq}")
    if not h.train_topk_16[0] < h.train_topk_16[1]:
        raise _bad(src, f"head.train_topk_16 must be [low, high) with low < high, got {h.train_topk_16}")
    if min(h.cba_samples, h.assigner_topk, h.train_topk_32, *h.train_attn_samples) < 1:
        raise _bad(src, "head sample counts must be >= 1")
    _validate_voxel_labels(h, src)
    if h.assigner_mode not in ASSIGNER_MODES:
        raise _bad(src, f"head.assigner_mode must be one of {list(ASSIGNER_MODES)}, got {h.assigner_mode!r}")
    if set(h.loss_weights) != {"cls_loss", "bbox_loss", "keep_loss", "com_loss"}:
        raise _bad(src, f"head.loss_weights needs exactly cls_loss, bbox_loss, keep_loss, com_loss")
    for f in dataclasses.fields(c):
        if getattr(c, f.name) < 1:
            raise _bad(src, f"capacities.{f.name} must be >= 1")
    if cfg.text_dim < 1:
        raise _bad(src, f"text_dim must be >= 1, got {cfg.text_dim}")


def _validate_voxel_labels(h: HeadConfig, src: str) -> None:
    if set(h.voxel_labels) != set(h.voxel_label_weights):
        raise _bad(src, f"head.voxel_label_weights must have the keys of head.voxel_labels "
                        f"{sorted(h.voxel_labels)}, got {sorted(h.voxel_label_weights)}")
    for name, values in h.voxel_labels.items():
        if not values or len(set(values)) != len(values):
            raise _bad(src, f"head.voxel_labels[{name!r}] must list distinct values, got {values}")
        if not h.voxel_label_weights[name] >= 0:
            raise _bad(src, f"head.voxel_label_weights[{name!r}] must be >= 0")


def available() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def load_config(name_or_path: str | Path) -> ModelConfig:
    """A packaged config by name (``base``, ``tiny``) or a JSON file by path."""
    path = Path(name_or_path)
    if path.suffix != ".json" and not path.exists():
        path = CONFIG_DIR / f"{name_or_path}.json"
        if not path.is_file():
            raise InputFileError(f"unknown model config {str(name_or_path)!r}",
                                 hint=f"use one of {', '.join(available())} or a path to a .json file")
    if not path.is_file():
        raise InputFileError(f"model config file {path} does not exist")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputFileError(f"cannot read model config {path}: {e}") from e
    return ModelConfig.from_dict(data, str(path))
