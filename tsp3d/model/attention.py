"""Multi-head attention with the parameters of ``nn.MultiheadAttention`` (so official weights load unchanged).

Written with plain matmul/softmax on batch-first tensors so that the batch-1 inference graph exports to ONNX with
data-dependent sequence lengths, and so that the math is visible: ``softmax(q k^T / sqrt(d)) v`` per head.
Eager runs without attention dropout use PyTorch's fused ``scaled_dot_product_attention`` instead (same math,
4-5x faster on CPU for the ~1000-voxel attentions of training, measured in docs/model.md); traced graphs
(``torch.export``) always get the plain ops.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class MultiheadAttention(nn.Module):
    """``in_proj_weight`` [3C, C], ``in_proj_bias`` [3C], ``out_proj`` Linear(C, C); dropout on the weights."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0):
        super().__init__()
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.head_dim = embed_dim // num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        # nn.MultiheadAttention's initialisation
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def _heads(self, x: torch.Tensor, part: int) -> torch.Tensor:
        c = self.embed_dim
        w = self.in_proj_weight[part * c:(part + 1) * c]
        b = self.in_proj_bias[part * c:(part + 1) * c]
        y = F.linear(x, w, b)
        return y.reshape(x.shape[0], x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)  # B, H, L, D

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """query [B, Lq, C], key/value [B, Lk, C]; ``key_padding_mask`` bool [B, Lk], True = ignore that key."""
        q, k, v = self._heads(query, 0), self._heads(key, 1), self._heads(value, 2)
        dropout = self.dropout if self.training else 0.0
        if dropout == 0.0 and not torch.compiler.is_compiling():
            keep = None if key_padding_mask is None else ~key_padding_mask[:, None, None, :]
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
            return self.out_proj(out.transpose(1, 2).reshape(query.shape[0], query.shape[1], self.embed_dim))
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        if key_padding_mask is not None:
            scores = scores.masked_fill(key_padding_mask[:, None, None, :], float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        weights = F.dropout(weights, p=self.dropout, training=self.training)
        out = torch.matmul(weights, v).transpose(1, 2).reshape(query.shape[0], query.shape[1], self.embed_dim)
        return self.out_proj(out)
