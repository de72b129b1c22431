"""spconv ``ConvAlgo.Native`` (its only CPU algorithm) on the sets of one of our rulebooks.

spconv builds its own rulebook with its own semantics: ``SubMConv3d`` for a same-set conv (the same pairs as ours),
``SparseConv3d`` k3/k1/k2 s2 for a strided one (its output set also holds sites that only the kernel's low edge
reaches, so it does somewhat more pairs than MinkowskiEngine's), ``SparseConvTranspose3d`` k3 s2 for the generative
upsampling (the same 27 children per input). ``rulebook`` is its pair generation, ``gemm`` its gather-GEMM-scatter
on those pairs, ``gemm_on`` its gather-GEMM-scatter on *our* rulebook (identical work: the GEMM alone compared).
"""
from __future__ import annotations

import torch

from tsp3d.bench.layer_mix import RuleMap


def available() -> bool:
    from tsp3d.sparse.backend import spconv_available

    return spconv_available()


class SpconvMap:
    """spconv's rulebook for the sets and kernel of ``m`` (built once in ``__init__``, timed with ``rulebook``)."""

    def __init__(self, m: RuleMap):
        from spconv.core import ConvAlgo

        self.algo = ConvAlgo.Native
        self.m = m
        grid = m.in_coords.clone()
        grid[:, 1:] = torch.div(grid[:, 1:], m.level, rounding_mode="floor")
        grid[:, 1:] -= grid[:, 1:].min(dim=0).values - 1  # a margin of one cell: nothing falls off the low edge
        self.indices = grid[:, [0, 3, 2, 1]].contiguous()  # spconv: (batch, z, y, x)
        self.shape = (self.indices[:, 1:].max(dim=0).values + 2).tolist()
        self.subm = m.kind == "same"
        k = m.k
        if self.subm:
            self.args = dict(ksize=[k] * 3, stride=[1] * 3, padding=[k // 2] * 3, transposed=False)
        elif m.transposed:
            self.args = dict(ksize=[3] * 3, stride=[2] * 3, padding=[1] * 3, transposed=True)
        else:
            self.args = dict(ksize=[k] * 3, stride=[2] * 3, padding=[k // 2 if k == 3 else 0] * 3, transposed=False)
        self.out_ids, self.pairs, self.pair_num = self.rulebook()

    def rulebook(self):
        from spconv.pytorch import ops

        a = self.args
        return ops.get_indice_pairs(self.indices, 1, self.shape, self.algo, a["ksize"], a["stride"], a["padding"],
                                    [1, 1, 1], [0, 0, 0], self.subm, a["transposed"])

    @property
    def n_out(self) -> int:
        return int(self.out_ids.shape[0])

    @property
    def n_pairs(self) -> int:
        return int(self.pair_num.sum())

    def gemm(self, feats: torch.Tensor, filters: torch.Tensor) -> torch.Tensor:
        from spconv.pytorch import ops

        return ops.indice_conv(feats, filters, self.pairs, self.pair_num, self.n_out, False, self.subm, self.algo)


def krsc(weight: torch.Tensor) -> torch.Tensor:
    """Our ``(K, Cin, Cout)`` weight as spconv's ``(Cout, K, Cin)``."""
    return weight.permute(2, 0, 1).contiguous()


def our_pairs(nbr: torch.Tensor):
    """Our output-major map as spconv's pair list ``[2, K, P]`` + counts (built once, outside any timing)."""
    from tsp3d.sparse.spconv_backend import _spconv_pairs

    return _spconv_pairs(nbr)


def gemm_on(feats: torch.Tensor, filters: torch.Tensor, pairs, counts, n_out: int) -> torch.Tensor:
    from spconv.core import ConvAlgo
    from spconv.pytorch import ops

    return ops.indice_conv(feats, filters, pairs, counts, n_out, False, False, ConvAlgo.Native)
