"""Text-guided pruning (TGP) and completion-based addition (CBA) sampling: the selection rules.

Inference (batch 1, exportable): threshold pruning through ``torch.ops.tsp3d.prune`` and a deterministic CBA sample.
Training (official §5.5): random caps, scores interpolated from the coarser level, per-sample top-k.
"""
from __future__ import annotations

import torch

from tsp3d.sparse import SparseTensor, ops
from tsp3d.sparse.prune import KEEP_ABOVE


def prune_by_keep_logits(x: SparseTensor, keep_logits: torch.Tensor, threshold: float,
                         min_keep: int = 1) -> SparseTensor:
    """Keep the voxels with ``1 - sigmoid(keep_logit) > threshold`` (the keep head predicts the prune probability).

    If fewer than ``min_keep`` pass, the ``min_keep`` with the lowest prune probability are kept. With 1, a scene
    is never emptied (where the official code stops in a debugger), so the rest of the network always has input.
    """
    keep_score = 1.0 - torch.sigmoid(keep_logits)
    return x.select(ops.prune(keep_score, threshold, KEEP_ABOVE, min_keep))


def cba_sample_index(n: int, max_samples: int, device=None) -> torch.Tensor:
    """Deterministic CBA sample: ``count = min(n, max_samples)`` rows spread evenly over the canonical order.

    The rows ``floor(i * n / count)`` for ``i < count``: all rows when ``n <= max_samples``, else exactly
    ``max_samples``, like the official random draw (which also runs at test time) but reproducible. Row ``j`` is
    one of them iff ``ceil((j + 1) * count / n) > ceil(j * count / n)``; the rows are compacted by the ``prune``
    op, so the sample size is an op output and an exported graph carries no shape guard on it.
    """
    j = torch.arange(n, device=device)
    # min, not clamp: ONNX Clip on int64 is not in TensorRT's parser (tsp3d check-engine); Min is.
    count = torch.minimum(torch.scalar_tensor(n, dtype=torch.int64, device=device),
                          torch.scalar_tensor(max_samples, dtype=torch.int64, device=device))
    hit = torch.div(j * count + count + n - 1, n, rounding_mode="floor") > torch.div(j * count + n - 1, n,
                                                                                       rounding_mode="floor")
    return ops.prune(hit.float(), 0.5, KEEP_ABOVE, 0, max_samples).long()  # capacity: the sample-size bound


def cba_rows(v1_coords: torch.Tensor, max_samples: int, cba_coords: torch.Tensor | None = None) -> torch.Tensor:
    """The V1 rows that enter CBA, ascending (so the sample keeps the canonical order).

    Default: ``cba_sample_index`` (our deterministic rule). With ``cba_coords`` (int32 ``[S, 4]``, V1 sites, e.g.
    the official code's random draw): exactly those sites, in any order, whatever ``max_samples`` says. Sites that
    are not V1 voxels are dropped here (a graph cannot raise); ``TSP3D.predict`` and the runtimes refuse them first.
    """
    if cba_coords is None:
        return cba_sample_index(v1_coords.shape[0], max_samples, v1_coords.device)
    rows = ops.lookup(cba_coords, v1_coords)
    found = ops.prune((rows >= 0).float(), 0.5, KEEP_ABOVE, 0)
    return torch.sort(rows.index_select(0, found.long()).long()).values


CBA_CHOICES = ("ours", "all", "official-random")


def cba_protocol_sample(v1_coords: torch.Tensor, cap: int, choice: str, generator: torch.Generator | None = None):
    """The ``cba_coords`` of an evaluation protocol: ``ours`` (None: the deterministic rule), ``all`` (every V1
    voxel) or ``official-random`` (the official test-time draw, ``randperm(|V1|)[:cap]``, all of V1 when
    |V1| <= cap; reproducible through ``generator``, where the official code's depends on ME's row order)."""
    if choice not in CBA_CHOICES:
        raise ValueError(f"CBA sample choice must be one of {CBA_CHOICES}, got {choice!r}")
    if choice == "ours":
        return None
    n = v1_coords.shape[0]
    if choice == "all" or n <= cap:
        return v1_coords
    rows = torch.sort(torch.randperm(n, generator=generator)[:cap]).values
    return v1_coords.index_select(0, rows.to(v1_coords.device))


def random_rows(rows: torch.Tensor, cap: int) -> torch.Tensor:
    """At most ``cap`` of ``rows``, drawn at random, kept in ascending order (training)."""
    if rows.numel() <= cap:
        return rows
    choice = torch.randperm(rows.numel(), device=rows.device)[:cap]
    return rows[torch.sort(choice).values]


def rows_per_sample(coords: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """Row indices of each batch item (ascending)."""
    b = coords[:, 0]
    return [(b == i).nonzero().squeeze(1) for i in range(batch_size)]


def interpolate_at(values: torch.Tensor, coords: torch.Tensor, stride: int, query: torch.Tensor) -> torch.Tensor:
    """ME ``features_at_coordinates`` off-lattice: trilinear over the 8 surrounding sites at ``stride``.

    Weights are prod(1 - |q - c| / stride); absent sites contribute 0 and the weights are not renormalised.
    """
    base = torch.div(query[:, 1:], stride, rounding_mode="floor") * stride
    out = values.new_zeros((query.shape[0], values.shape[1]))
    for dz in (0, 1):
        for dy in (0, 1):
            for dx in (0, 1):
                corner = base + torch.tensor([dx, dy, dz], dtype=base.dtype, device=base.device) * stride
                w = (1.0 - (query[:, 1:] - corner).abs().float() / stride).prod(dim=1, keepdim=True)
                site = torch.cat([query[:, :1], corner], dim=1)
                out = out + w * ops.gather_rows(values, ops.lookup(site, coords))
    return out


def topk_rows(scores: torch.Tensor, per_sample: list[torch.Tensor], k: int) -> torch.Tensor:
    """Per batch item, the rows with the ``k`` largest scores; all rows ascending."""
    kept = []
    for rows in per_sample:
        if rows.numel() == 0:
            continue
        ids = torch.topk(scores[rows], min(k, rows.numel())).indices
        kept.append(rows[ids])
    return torch.sort(torch.cat(kept)).values
