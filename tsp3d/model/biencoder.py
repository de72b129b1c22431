"""BiEncoder: joint self- and cross-attention between voxels V and text tokens T (official ``trans_modules``).

One ``BiEncoderLayer`` (post-norm), with P the position embedding of the voxels and masks True at padding:
  1. V = LN(V + Drop(SelfAttn(q=k=V+P, v=V)))
  2. T = LN(T + Drop(SelfAttn(q=k=v=T)))
  3. T = LN_lv(T + Drop(Attn(q=T, k=v=V)));  T = LN_lv2(T + FFN_lv(T))
  4. V = LN_vl(V + Drop(Attn(q=V+P, k=v=T_in)));  V = LN_vl2(V + FFN_vl(V))
     T_in is the text *as it entered step 3*, not the T that step 3 just updated: the official layer binds
     ``qt = kt = vt = text_feats`` before the update (GWxuan/TSP3D ``trans_modules.CrossAttentionLayer``).
     The layer still returns the updated T.
FFN = Linear -> ReLU -> Dropout -> Linear -> Dropout. Module names match the official checkpoint keys.
Layers are deep copies of one freshly initialised layer, as in the official code (identical initial weights).
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from tsp3d.model.attention import MultiheadAttention

Mask = torch.Tensor | None


class SelfAttentionLayer(nn.Module):
    """Self-attention + residual + LayerNorm, no FFN; ``pos`` (if given) is added to queries and keys."""

    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, n_heads, dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: Mask, pos: torch.Tensor | None = None) -> torch.Tensor:
        qk = x if pos is None else x + pos
        return self.norm1(x + self.dropout1(self.self_attn(qk, qk, x, mask)))


def _ffn(d_model: int, dim_ffn: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_model, dim_ffn), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(dim_ffn, d_model), nn.Dropout(dropout))


class CrossAttentionLayer(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dim_ffn: int, dropout: float):
        super().__init__()
        self.cross_lv = MultiheadAttention(d_model, n_heads, dropout)
        self.dropout_lv = nn.Dropout(dropout)
        self.norm_lv = nn.LayerNorm(d_model)
        self.ffn_lv = _ffn(d_model, dim_ffn, dropout)
        self.norm_lv2 = nn.LayerNorm(d_model)
        self.cross_vl = copy.deepcopy(self.cross_lv)
        self.dropout_vl = nn.Dropout(dropout)
        self.norm_vl = nn.LayerNorm(d_model)
        self.ffn_vl = copy.deepcopy(self.ffn_lv)
        self.norm_vl2 = nn.LayerNorm(d_model)

    def forward(self, vis, vis_mask: Mask, text, text_mask: Mask, pos):
        t = self.norm_lv(text + self.dropout_lv(self.cross_lv(text, vis, vis, vis_mask)))
        t = self.norm_lv2(t + self.ffn_lv(t))
        # Vision reads the text as it entered this step (official), not the freshly updated t.
        v = self.norm_vl(vis + self.dropout_vl(self.cross_vl(vis + pos, text, text, text_mask)))
        v = self.norm_vl2(v + self.ffn_vl(v))
        return v, t


class BiEncoderLayer(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dim_ffn: int, dropout: float):
        super().__init__()
        self.self_attention_lang = SelfAttentionLayer(d_model, n_heads, dropout)
        self.self_attention_visual = SelfAttentionLayer(d_model, n_heads, dropout)
        self.cross_layer = CrossAttentionLayer(d_model, n_heads, dim_ffn, dropout)

    def forward(self, vis, pos, vis_mask: Mask, text, text_mask: Mask):
        vis = self.self_attention_visual(vis, vis_mask, pos)
        text = self.self_attention_lang(text, text_mask)
        return self.cross_layer(vis, vis_mask, text, text_mask, pos)


class BiEncoder(nn.Module):
    """``num_layers`` copies of one layer. Returns the updated voxels and the updated text (threaded onwards)."""

    def __init__(self, d_model: int, n_heads: int, dim_ffn: int, dropout: float, num_layers: int):
        super().__init__()
        layer = BiEncoderLayer(d_model, n_heads, dim_ffn, dropout)
        self.layers = nn.ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])

    def forward(self, vis: torch.Tensor, pos: torch.Tensor, vis_mask: Mask, text: torch.Tensor, text_mask: Mask):
        """vis/pos [B, N, C], text [B, L, C]; masks bool [B, N] / [B, L], True = padding (or None)."""
        for layer in self.layers:
            vis, text = layer(vis, pos, vis_mask, text, text_mask)
        return vis, text
