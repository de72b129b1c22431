"""Learned position embedding of voxel positions (official ``PositionEmbeddingLearned(3, 128)``).

Conv1d(3, C, 1) -> BatchNorm1d -> ReLU -> Conv1d(C, C, 1) over xyz in metres (voxel corners). One instance is shared
by the three BiEncoders. Kept as Conv1d modules so that official weights load without reshaping.
"""
from __future__ import annotations

import torch
from torch import nn


class PositionEmbeddingLearned(nn.Module):
    def __init__(self, in_dim: int = 3, channels: int = 128):
        super().__init__()
        self.position_embedding_head = nn.Sequential(
            nn.Conv1d(in_dim, channels, kernel_size=1),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.Conv1d(channels, channels, kernel_size=1),
        )

    def forward(self, xyz: torch.Tensor) -> torch.Tensor:
        """xyz [B, N, 3] (metres) -> [B, N, C]."""
        return self.position_embedding_head(xyz.transpose(1, 2)).transpose(1, 2)
