"""The bilinear sentence x voxel term of the box classifier (config ``head.text_voxel_score``; issue 12).

``score_i = <W_q f_i, W_k s> / sqrt(C)`` is added to the classifier logit of voxel i, with ``f_i`` its final
feature *before* the official text fusion and ``s`` the masked mean of the projected text tokens (the sentence as
the text projector gives it, before any BiEncoder). The official fusion (text token 0 concatenated to each voxel,
1x1 conv, BN, ReLU) shifts a few hidden units per sentence; this term lets the sentence select voxels by what they
are, which is what a from-scratch model needs to learn first (measured in docs/model.md). A few MatMuls: exportable,
and absent from official checkpoints, so the official configuration has it off.
"""
from __future__ import annotations

import math

import torch
from torch import nn


def sentence_vector(text: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
    """Masked mean of the tokens: text [B, L, C], mask [B, L] (True at padding) -> [B, C]."""
    keep = (~text_mask).to(text.dtype).unsqueeze(-1)
    return (text * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)


class TextVoxelScore(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.query = nn.Linear(channels, channels)
        self.key = nn.Linear(channels, channels)
        self.scale = 1.0 / math.sqrt(channels)

    def forward(self, feats: torch.Tensor, batch_index: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        """feats [N, C] (voxel features), batch_index [N] (the batch item of each voxel), sentence [B, C] -> [N]."""
        key = self.key(sentence).index_select(0, batch_index)
        return (self.query(feats) * key).sum(dim=1) * self.scale
