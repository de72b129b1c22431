"""TSP3D head: BiEncoders, text-guided pruning, generative upsampling, CBA and the box head (official TSPHead).

Module names match the official checkpoint. ``forward_test`` is the batch-1 inference path: only sparse custom ops
(``torch.ops.tsp3d.*``) and standard tensor ops, no data-dependent Python branching, so it exports with dynamic
voxel counts. The training path is in head_train.py.
"""
from __future__ import annotations

import torch
from torch import nn

from tsp3d.model.biencoder import BiEncoder
from tsp3d.model.blocks import FeatureFusion, conv_bn_relu, up_bn_relu
from tsp3d.model.config import ModelConfig
from tsp3d.model.position import PositionEmbeddingLearned
from tsp3d.model.text_score import TextVoxelScore, sentence_vector
from tsp3d.model.voxel_labels import VoxelLabelHeads
from tsp3d.model.tgp import cba_rows, prune_by_keep_logits
from tsp3d.model.top1 import first_argmax
from tsp3d.sparse import CoordinateSet, SparseConv3d, SparseTensor, ops
from tsp3d.sparse.prune import KEEP_ABOVE

# Names of the voxel counts ``forward_test`` reports, in order.
COUNT_NAMES = ("v3", "tgp64_kept", "up32", "tgp32_kept", "up16", "cba_sampled", "cba_confident", "cba_added",
               "final")


class TSPHead(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        h, c = cfg.head, cfg.head.channels
        self.cfg, self.voxel_size = cfg, cfg.voxel_size
        self.bbox_conv = SparseConv3d(c, 6, 1, bias=True)  # 3 centre offsets (m) + 3 log sizes
        self.cls_conv = SparseConv3d(c, 1, 1, bias=True)
        self.keep_conv = nn.ModuleList([SparseConv3d(c, 1, 1, bias=True) for _ in range(2)])  # [32 cm, 64 cm]
        self.pos_embed = PositionEmbeddingLearned(3, c)
        self.keep_trans = nn.ModuleList([self._biencoder() for _ in range(2)])  # [32 cm, 64 cm]
        self.com_trans = self._biencoder()
        self.com_cls = nn.Conv1d(c, 1, kernel_size=1)
        self.up_block_1 = up_bn_relu(c, c)  # 32 -> 16
        self.up_block_2 = up_bn_relu(c, c)  # 64 -> 32
        for i in range(3):
            setattr(self, f"lateral_block_{i}", conv_bn_relu(c, c))
        self.out_block_0 = conv_bn_relu(c, c)
        self.fuse = FeatureFusion(c, c, c)
        # Not in the official model (config options, off in base; docs/model.md "Learning that reads the sentence").
        self.text_score = TextVoxelScore(c) if h.text_voxel_score else None
        self.voxel_probes = VoxelLabelHeads(c, h.voxel_labels) if h.voxel_labels else None  # training only

    def _biencoder(self) -> BiEncoder:
        h = self.cfg.head
        return BiEncoder(h.channels, h.attn_heads, h.attn_ffn, h.dropout, h.attn_layers)

    # ------------------------------------------------------------------ pieces shared with training

    def position(self, coords: torch.Tensor) -> torch.Tensor:
        """Position embedding of voxel corners: coords [..., 4] (b, x, y, z) -> [..., C]; batched [B, N, 4] only."""
        return self.pos_embed(coords[..., 1:].float() * self.voxel_size)

    def upsample(self, level: int, x: SparseTensor, lateral: SparseTensor, capacity: int) -> SparseTensor:
        """Generative transposed conv k3 s2 (``up_block_{level}``), plus the backbone features at the new sites."""
        x.cset.up(capacity)  # create the output set with its bound; the conv reuses it
        y = getattr(self, f"up_block_{level}")(x)
        return y.replace(y.feats + lateral.features_at(y.coords))

    def com_logits(self, vis: torch.Tensor) -> torch.Tensor:
        """[B, N, C] -> [B, N]."""
        return self.com_cls(vis.transpose(1, 2))[:, 0, :]

    def sentence(self, text: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor | None:
        """The pooled projected text the ``text_score`` term reads ([B, C]), or None when it is off."""
        return sentence_vector(text, text_mask) if self.text_score is not None else None

    def box_head(self, x: SparseTensor, text_vec: torch.Tensor, sentence: torch.Tensor | None = None):
        """Final 16 cm voxels -> (voxels, reg [N, 6], cls logit [N], features before the fusion [N, C]).

        ``text_vec`` [B, C] is text token 0 (official fusion); ``sentence`` [B, C] (``self.sentence``) feeds the
        bilinear text x voxel term when the config has it."""
        pre = self.out_block_0(self.lateral_block_0(x))
        out = self.fuse(pre, text_vec)
        cls = self.cls_conv(out).feats[:, 0]
        if self.text_score is not None:
            cls = cls + self.text_score(pre.feats, pre.coords[:, 0].long(), sentence)
        return out, self.bbox_conv(out).feats, cls, pre.feats

    # ------------------------------------------------------------------ batch-1 inference

    def _attend(self, encoder: BiEncoder, x: SparseTensor, text, text_mask) -> tuple[SparseTensor, torch.Tensor]:
        vis, text = encoder(x.feats[None], self.position(x.coords[None]), None, text, text_mask)
        return x.replace(vis[0]), text

    def forward_test(self, v1: SparseTensor, v2: SparseTensor, v3: SparseTensor, text: torch.Tensor,
                     text_mask: torch.Tensor, cba_coords: torch.Tensor | None = None, probes: dict | None = None):
        """One scene (batch index 0) and its projected text [1, L, C] (mask True at padding).

        ``cba_coords`` (int32 [S, 4], V1 sites) replaces our deterministic CBA sample (``tgp.cba_rows``).
        ``probes``: a dict that receives the intermediate sets and logits (``PROBE_NAMES``; for parity checks and
        the golden fixtures; an export with probes returns them as graph outputs).

        Returns ``center [3]`` and ``size [3]`` in metres, ``score []`` (sigmoid of the best cls logit) and int64
        ``counts`` (see ``COUNT_NAMES``).
        """
        h, caps = self.cfg.head, self.cfg.capacities
        n3 = v3.feats.shape[0]
        sentence = self.sentence(text, text_mask)  # the projected text, before the BiEncoders update it
        # 64 cm: attention over every voxel, prune-probability, lateral conv, TGP-1, upsample to 32 cm + V2.
        x, text = self._attend(self.keep_trans[1], v3, text, text_mask)
        keep64 = self.keep_conv[1](x).feats[:, 0]
        x = prune_by_keep_logits(self.lateral_block_2(x), keep64, h.tgp_keep_threshold[0], h.tgp_min_keep[0])
        _probe(probes, keep64=keep64, tgp64_kept=x.coords)
        n3_kept = x.feats.shape[0]
        x = self.upsample(2, x, v2, caps.up_s32)
        n32 = x.feats.shape[0]
        # 32 cm: the same with keep_trans[0], TGP-2, upsample to 16 cm + V1.
        x, text = self._attend(self.keep_trans[0], x, text, text_mask)
        keep32 = self.keep_conv[0](x).feats[:, 0]
        _probe(probes, up32=x.coords, keep32=keep32)
        x = prune_by_keep_logits(self.lateral_block_1(x), keep32, h.tgp_keep_threshold[1], h.tgp_min_keep[1])
        n32_kept = x.feats.shape[0]
        _probe(probes, tgp32_kept=x.coords)
        x = self.upsample(1, x, v1, caps.up_s16)
        n16 = x.feats.shape[0]
        _probe(probes, up16=x.coords)
        x, text, n_sample, n_confident = self._complete(v1, x, text, text_mask, cba_coords, probes)
        # Box head and top-1 decoding (official nms_pre=1, no NMS): the voxel with the largest cls logit.
        x, reg, cls, _ = self.box_head(x, text[:, 0], sentence)
        _probe(probes, final=x.coords, cls=cls)
        center, size, score = self._decode(x, reg, cls, probes)
        counts = torch.stack([torch.scalar_tensor(n, dtype=torch.int64, device=reg.device) for n in (
            n3, n3_kept, n32, n32_kept, n16, n_sample, n_confident, x.feats.shape[0] - n16, x.feats.shape[0])])
        return center, size, score, counts

    def _complete(self, v1: SparseTensor, x: SparseTensor, text, text_mask, cba_coords, probes):
        """CBA: a sample of V1 (our deterministic rule, or ``cba_coords``) through com_trans; the confident sites
        missing from ``x`` are appended -> (x, text, sample size, confident size)."""
        h = self.cfg.head
        pick = cba_rows(v1.coords, h.cba_samples, cba_coords)
        sample = SparseTensor(v1.feats.index_select(0, pick), cset=CoordinateSet(
            v1.coords.index_select(0, pick), v1.stride, check=False))
        sample, text = self._attend(self.com_trans, sample, text, text_mask)
        com = self.com_logits(sample.feats[None])[0]
        confident = sample.select(ops.prune(torch.sigmoid(com), h.cba_threshold, KEEP_ABOVE, 0))
        _probe(probes, cba_sample=sample.coords, com=com, cba_confident=confident.coords)
        return (x.append_missing(confident, self.cfg.capacities.final_s16), text, sample.feats.shape[0],
                confident.feats.shape[0])

    def _decode(self, x: SparseTensor, reg: torch.Tensor, cls: torch.Tensor, probes):
        """The top-1 voxel's box: corner + offset, exp(log size), and the sigmoid of its cls logit."""
        best = first_argmax(cls)  # lowest index among the maxima: the same voxel on every runtime (top1.py)
        _probe(probes, top1=best)
        corner = x.coords.index_select(0, best)[0, 1:].float() * self.voxel_size
        r = reg.index_select(0, best)[0]
        return corner + r[:3], torch.exp(r[3:6]), torch.sigmoid(cls.index_select(0, best)[0])


# Intermediate values ``forward_test`` hands to ``probes``, in the order it creates them. Sets are int32 [M, 4];
# keep64 is aligned with V3, keep32 with up32, com with cba_sample, cls with final; top1 is the final-set row.
PROBE_NAMES = ("keep64", "tgp64_kept", "up32", "keep32", "tgp32_kept", "up16", "cba_sample", "com", "cba_confident",
               "final", "cls", "top1")
PROBE_SETS = ("tgp64_kept", "up32", "tgp32_kept", "up16", "cba_sample", "cba_confident", "final")


def _probe(probes: dict | None, **values) -> None:
    if probes is not None:
        probes.update(values)
