"""Eager PyTorch behind the runtime interface: the parity reference (``tsp3d validate``) and ``ground --checkpoint``.

``fold=False`` (default) runs the checkpoint's model as trained (BatchNorm in eval mode); ``fold=True`` runs the
BatchNorm-folded copy that the exporter traces, which separates export effects from folding's float rounding.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tsp3d.runtime.base import GroundingResult, Runtime, TextInput


class TorchRuntime(Runtime):
    name = "torch"

    def __init__(self, checkpoint: str | Path | None = None, *, model=None, fold: bool = False, device: str = "cpu",
                 text_encoder=None):
        """From a checkpoint file, or from an in-memory ``TSP3D`` (``model``). ``text_encoder``: a loaded
        ``tsp3d.text.TextEncoder`` (default: the checkpoint's, loaded on first use)."""
        import torch

        from tsp3d.model.fold import fold_batchnorm

        if (checkpoint is None) == (model is None):
            raise ValueError("give exactly one of checkpoint and model")
        if model is None:
            from tsp3d.checkpoint import load_model

            model, _ = load_model(checkpoint, device)
        model = model.to(device).eval()
        self.model = fold_batchnorm(model) if fold else model
        self.device = torch.device(device)
        self.folded = fold
        self._text_encoder = text_encoder
        cfg = self.model.cfg
        super().__init__(cfg.text_dim, cfg.capacities.max_points, cfg.voxel_size)

    @property
    def label(self) -> str:
        return "torch-fp32" + ("-folded" if self.folded else "")

    @property
    def text_encoder(self):
        if self._text_encoder is None:
            from tsp3d.text import load_text_encoder

            self._text_encoder = load_text_encoder(self.model.cfg.text_encoder)
        return self._text_encoder

    def _encode_scene(self, points: np.ndarray):
        import torch

        with torch.no_grad():
            return self.model.encode_scene(torch.from_numpy(points).to(self.device))

    def _ground(self, levels, text: TextInput) -> GroundingResult:
        import torch

        feats = torch.from_numpy(text.feats).to(self.device)
        mask = torch.from_numpy(text.mask).to(self.device)
        with torch.no_grad():
            center, size, score, counts = self.model.ground(*levels, feats, mask)
        return GroundingResult.from_outputs(center.cpu().numpy(), size.cpu().numpy(), score.cpu().numpy(),
                                            counts.cpu().numpy())

    def encode_text(self, text: str) -> TextInput:
        t = self.text_encoder.encode([text])
        return TextInput(t.feats.cpu().numpy().astype(np.float32), t.pad_mask.cpu().numpy(), text)

    def levels_numpy(self, levels) -> list[np.ndarray]:
        """The six level tensors (v1 coords, v1 feats, ..., v3 feats) as numpy, for comparisons."""
        return [t.detach().cpu().numpy() for t in levels]
