"""Useful FLOPs of one forward, counted while it runs: sparse convs by rulebook pairs, dense layers by shape.

A ``TorchDispatchMode`` sees every ATen op and every ``torch.ops.tsp3d.*`` op of the eager forward:

* ``tsp3d.sparse_conv``: 2 * pairs * Cin * Cout, pairs = present entries of the kernel map (``nbr >= 0``);
* ``mm`` / ``addmm`` / ``bmm`` / ``baddbmm``: 2 * M * K * N (batched); ``linear`` and ``matmul`` reach ATen as these
  (pointwise k1 sparse convs are plain matmuls in the model);
* fused attention (``scaled_dot_product_*``): its two products, 2 * B * H * L * S * (D + Dv);
* ``convolution`` (the CBA logit head is a ``Conv1d``): 2 * output elements * Cin/groups * kernel size.

Elementwise ops, softmax, normalisation, sorting and the rulebooks are not counted: they are not multiply-adds.
The result is the "FLOP floor" numerator: the least arithmetic any runtime must do for this forward.
"""
from __future__ import annotations

import math
from collections import defaultdict

import torch

import tsp3d.sparse.ops  # noqa: F401  (registers torch.ops.tsp3d.*)
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten


def _mm(a, b) -> int:
    return 2 * a.shape[0] * a.shape[1] * b.shape[1]


def _bmm(a, b) -> int:
    return 2 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]


class FlopCount(TorchDispatchMode):
    """``with FlopCount() as f: model(...)``; then ``f.by_kind`` (GFLOP per kind) and ``f.sparse_convs``."""

    def __init__(self):
        super().__init__()
        self.flops = defaultdict(int)
        self.calls = defaultdict(int)
        self.sparse_convs: list[dict] = []  # one row per sparse conv call, in execution order

    def _add(self, kind: str, flops: int) -> None:
        self.flops[kind] += int(flops)
        self.calls[kind] += 1

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = func._overloadpacket
        if name == torch.ops.tsp3d.sparse_conv:
            feats, nbr, weight = args[0], args[1], args[2]
            pairs = int((nbr >= 0).sum())
            flops = 2 * pairs * weight.shape[1] * weight.shape[2]
            self.sparse_convs.append({"n_in": int(feats.shape[0]), "n_out": int(nbr.shape[0]), "k": int(nbr.shape[1]),
                                      "cin": int(weight.shape[1]), "cout": int(weight.shape[2]), "pairs": pairs,
                                      "gflop": flops / 1e9})
            self._add("sparse_conv", flops)
        elif name == aten.mm:
            self._add("dense_gemm", _mm(args[0], args[1]))
        elif name == aten.addmm:
            self._add("dense_gemm", _mm(args[1], args[2]))
        elif name == aten.bmm:
            self._add("attention_bmm", _bmm(args[0], args[1]))
        elif name == aten.baddbmm:
            self._add("attention_bmm", _bmm(args[1], args[2]))
        elif "scaled_dot_product" in str(name) and len(args) >= 3:
            q, k, v = args[0], args[1], args[2]  # [B, H, L, D], [B, H, S, D], [B, H, S, Dv]
            flops = 2 * q.shape[0] * q.shape[1] * q.shape[2] * k.shape[2] * (q.shape[3] + v.shape[3])
            self._add("attention_bmm", flops)
        elif name == aten.convolution:
            x, w = args[0], args[1]
            groups = args[8] if len(args) > 8 else 1
            self._add("dense_conv", 2 * out.numel() * (x.shape[1] // groups) * math.prod(w.shape[2:]))
        return out

    @property
    def total_gflop(self) -> float:
        return sum(self.flops.values()) / 1e9

    def summary(self) -> dict:
        return {"total_gflop": self.total_gflop,
                "by_kind_gflop": {k: v / 1e9 for k, v in sorted(self.flops.items())},
                "calls": dict(sorted(self.calls.items())),
                "sparse_convs": self.sparse_convs}


@torch.no_grad()
def count_forward(model, points: torch.Tensor, text_feats: torch.Tensor, text_mask: torch.Tensor) -> dict:
    """Useful FLOPs of ``model.predict`` (eager, whatever sparse backend is selected) on one scene + sentence."""
    with FlopCount() as counter:
        result = model.predict(points, text_feats, text_mask)
    return {**counter.summary(), "counts": result.counts}
