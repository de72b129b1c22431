"""Run the official TSP3D code (GWxuan/TSP3D) on a CPU, from a local checkout that is read, never copied.

    model = OfficialModel(checkout_dir, checkpoint_state)      # official-layout state dict ("module." optional)
    result = model.run(points, token_feats, token_mask)        # our point format; features at the projector input

What is replaced, and why (facts in ../shared/reference/official-code-notes.md):
* modules needed only for training, rotated boxes or data loading (mmcv, mmdet, mmdet3d, mmengine, pointnet2,
  spacy, wandb, ipdb) are stand-ins in ``sys.modules`` before the import; the ones on the inference path keep their
  semantics (box storage, ``bbox3d2result``);
* ``models`` is registered as a bare package so that its ``__init__`` (scipy, ipdb, utils/) is not executed;
* RoBERTa and its tokenizer become a fixed ``last_hidden_state`` and attention mask: everything after the text
  encoder (the official ``text_projector`` and ``attention_mask.ne(1)``) runs for real;
* ``pdb.set_trace`` in the head (reached when pruning empties the scene) raises instead of waiting for a debugger.
Requires MinkowskiEngine 0.5.4 (the CPU build ``scripts/setup.sh`` installs).
"""
from __future__ import annotations

import collections
import collections.abc
import contextlib
import importlib
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

RGB_MEAN_U8 = (109.8, 97.2, 83.8)  # the official dataset's colour mean (rgb_u8 / 256 - mean_u8 / 256)


class OfficialCodeError(RuntimeError):
    pass


# ---------------------------------------------------------------- stand-ins for what inference does not use


class _Boxes:
    """``mmdet3d`` ``DepthInstance3DBoxes``, axis-aligned: stored bottom-centre, as the official code expects."""

    def __init__(self, tensor, box_dim=6, with_yaw=False, origin=(0.5, 0.5, 0.0)):
        t = torch.as_tensor(tensor, dtype=torch.float32).reshape(-1, box_dim).clone()
        if not with_yaw:
            t = torch.cat([t, t.new_zeros(t.shape[0], 1)], dim=1)
        shift = t.new_tensor((0.5, 0.5, 0.0)) - t.new_tensor(origin)
        t[:, :3] += t[:, 3:6] * shift
        self.tensor = t

    @property
    def gravity_center(self):
        return self.tensor[:, :3] + self.tensor[:, 3:6] * self.tensor.new_tensor((0.0, 0.0, 0.5))

    @property
    def dims(self):
        return self.tensor[:, 3:6]


def _raise(*_a, **_k):
    raise OfficialCodeError("the official code called a training-only helper during inference")


def _module(name: str, **attrs) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    return m


def _stub_modules() -> dict[str, types.ModuleType]:
    class FocalLoss(nn.Module):  # parameter-free in mmdet too: the state dict is unchanged
        def __init__(self, *a, **k):
            super().__init__()

    def weighted_loss(fn):
        return fn

    def bbox3d2result(bboxes, scores, labels):
        return {"bboxes_3d": bboxes, "scores_3d": scores, "labels_3d": labels}

    return {
        "mmcv": _module("mmcv"), "mmcv.ops": _module("mmcv.ops", nms3d=_raise, nms3d_normal=_raise,
                                                     box_iou_rotated=_raise, points_in_boxes_all=_raise,
                                                     points_in_boxes_part=_raise),
        "mmdet": _module("mmdet"), "mmdet.models": _module("mmdet.models"),
        "mmdet.models.losses": _module("mmdet.models.losses", FocalLoss=FocalLoss),
        "mmdet.models.losses.utils": _module("mmdet.models.losses.utils", weighted_loss=weighted_loss),
        "mmdet3d": _module("mmdet3d"),
        "mmdet3d.structures": _module("mmdet3d.structures", bbox3d2result=bbox3d2result),
        "mmdet3d.structures.bbox_3d": _module("mmdet3d.structures.bbox_3d", DepthInstance3DBoxes=_Boxes,
                                              rotation_3d_in_axis=_raise),
        "mmengine": _module("mmengine"), "mmengine.model": _module("mmengine.model", BaseModule=nn.Module),
        **{name: _module(name) for name in ("pointnet2", "spacy", "wandb", "ipdb")},
    }


class _FixedTextEncoder(nn.Module):
    """RoBERTa's place: returns the token features set by ``OfficialModel.run`` (no parameters)."""

    config = types.SimpleNamespace(hidden_size=768)

    def __init__(self):
        super().__init__()
        self.features: torch.Tensor | None = None

    def forward(self, **_tokens):
        return types.SimpleNamespace(last_hidden_state=self.features)


class _Tokens(dict):
    def __getattr__(self, name):
        return self[name]

    def to(self, _device):
        return self


class _FixedTokenizer:
    """The tokenizer's place: an attention mask (1 = token, 0 = padding) set by ``OfficialModel.run``."""

    def __init__(self):
        self.mask: torch.Tensor | None = None

    def batch_encode_plus(self, texts, **_kwargs):
        ids = torch.zeros(self.mask.shape, dtype=torch.long)
        return _Tokens(input_ids=ids, attention_mask=self.mask.long())


class _NoDebugger:
    @staticmethod
    def set_trace(*_a, **_k):
        raise OfficialCodeError("the official head stopped in pdb: pruning removed every voxel")


# ---------------------------------------------------------------- loading


@contextlib.contextmanager
def _on_path(path: Path):
    sys.path.insert(0, str(path))
    try:
        yield
    finally:
        sys.path.remove(str(path))


def minkowski_engine():
    """``import MinkowskiEngine`` (0.5.4 needs ``collections.Sequence`` on Python >= 3.10)."""
    collections.Sequence = collections.abc.Sequence
    try:
        return importlib.import_module("MinkowskiEngine")
    except ImportError as e:
        raise OfficialCodeError(f"MinkowskiEngine is not importable ({e}); run scripts/setup.sh") from e


def import_official(checkout: str | Path):
    """Import ``models.bdetr`` from ``checkout`` with the stand-ins in place -> the module."""
    root = Path(checkout)
    if not (root / "models" / "bdetr.py").is_file():
        raise OfficialCodeError(f"{root} is not a checkout of GWxuan/TSP3D (no models/bdetr.py)")
    minkowski_engine()
    for name, module in _stub_modules().items():
        sys.modules.setdefault(name, module)
    pkg = sys.modules.get("models")
    if pkg is None or list(getattr(pkg, "__path__", [])) != [str(root / "models")]:
        for name in [n for n in sys.modules if n == "models" or n.startswith("models.")]:
            del sys.modules[name]
        pkg = types.ModuleType("models")
        pkg.__path__ = [str(root / "models")]
        sys.modules["models"] = pkg
    with _on_path(root):
        bdetr = importlib.import_module("models.bdetr")
        head = importlib.import_module("models.multilevel_head")
    head.pdb = _NoDebugger
    bdetr.RobertaModel = types.SimpleNamespace(from_pretrained=lambda *a, **k: _FixedTextEncoder())
    bdetr.RobertaTokenizerFast = types.SimpleNamespace(from_pretrained=lambda *a, **k: _FixedTokenizer())
    return bdetr


@dataclass
class OfficialResult:
    center: np.ndarray  # [3] gravity centre (m)
    size: np.ndarray  # [3]
    score: float


class OfficialModel:
    """The official ``BeaUTyDETR`` in eval mode with an official-layout state dict."""

    def __init__(self, checkout: str | Path, state: dict[str, torch.Tensor]):
        bdetr = import_official(checkout)
        self.box_type = sys.modules["mmdet3d.structures.bbox_3d"].DepthInstance3DBoxes
        self.net = bdetr.BeaUTyDETR(voxel_size=0.01, data_path="").eval()
        plain = {k.removeprefix("module."): v for k, v in state.items()}
        missing, unexpected = self.net.load_state_dict(plain, strict=False)
        if missing or unexpected:
            raise OfficialCodeError(f"state does not fit the official model: missing {missing[:5]}, "
                                    f"unexpected {unexpected[:5]}")
        self.rgb_mean = torch.tensor(RGB_MEAN_U8, dtype=torch.float32) / 256.0

    @property
    def head(self):
        return self.net.head

    def inputs(self, points: np.ndarray) -> torch.Tensor:
        """Our points ``[N, 6]`` (x, y, z m; r, g, b = rgb_u8 / 256) -> the official ``point_clouds`` ``[1, N, 6]``."""
        p = torch.as_tensor(np.asarray(points, dtype=np.float32))
        return torch.cat([p[:, :3], p[:, 3:6] * 1.0 - self.rgb_mean], dim=1)[None]

    @torch.no_grad()
    def run(self, points: np.ndarray, token_feats: np.ndarray, token_mask: np.ndarray) -> OfficialResult:
        """``token_feats`` ``[1, L, 768]`` at the text projector's input; ``token_mask`` bool ``[1, L]``, True = padding."""
        self.net.text_encoder.features = torch.as_tensor(np.asarray(token_feats, dtype=np.float32))
        self.net.tokenizer.mask = ~torch.as_tensor(np.asarray(token_mask, dtype=bool))
        inputs = {"point_clouds": self.inputs(points), "text": ["<fixed token features>"]}
        out = self.net(inputs, None, None, None, None, img_metas=[{"box_type_3d": self.box_type}])[0][0]
        boxes, scores = out["bboxes_3d"], out["scores_3d"]
        return OfficialResult(boxes.gravity_center[0].numpy().copy(), boxes.dims[0].numpy().copy(),
                              float(scores.reshape(-1)[0]))
