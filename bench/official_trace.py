"""Record what the official model does, stage by stage, with forward hooks (nothing in its code is changed).

``trace_official(model, points, tokens, mask, cba)`` returns the same intermediate values our head hands to its
``probes`` (tsp3d.model.head.PROBE_NAMES), plus the backbone levels and the final box, as numpy arrays. ME rows
come in hash order, so every set is returned in canonical order (sorted by batch, x, y, z) with the values that
belong to it reordered alike.

CBA conventions (``cba``):
* ``"all"``: every V1 voxel enters CBA (the sample cap is set to |V1| once the backbone has run; no draw);
* an int ``cap`` (the official 2,400): the official random draw, made reproducible by making ME's per-sample row
  lists sorted (batch 1: ``arange``) and seeding torch just before the call; the drawn sites are recorded so that
  they can be fed to our model.
"""
from __future__ import annotations

import contextlib

import numpy as np
import torch

VOXEL = 0.01


def canonical(coords: np.ndarray) -> np.ndarray:
    """Row order that sorts ``[N, 4]`` (batch, x, y, z) coordinates canonically."""
    c = np.asarray(coords).astype(np.int64)
    return np.lexsort((c[:, 3], c[:, 2], c[:, 1], c[:, 0]))


def _set(coords: torch.Tensor, *values: torch.Tensor):
    c = coords.detach().cpu().numpy().astype(np.int32)
    order = canonical(c)
    return (c[order], *[v.detach().cpu().numpy()[order] for v in values])


@contextlib.contextmanager
def _sorted_row_lists():
    """ME's ``decomposition_permutations`` in hash order differ per call; batch 1 -> one sorted row list."""
    import MinkowskiEngine as ME

    cls = next(k for k in type.mro(ME.SparseTensor) if "decomposition_permutations" in vars(k))
    original = vars(cls)["decomposition_permutations"]
    cls.decomposition_permutations = property(lambda self: [torch.arange(self.F.shape[0], device=self.F.device)])
    try:
        yield
    finally:
        cls.decomposition_permutations = original


class _Recorder:
    """Forward hooks on the official head and backbone; ``values`` fills as the model runs."""

    def __init__(self, net, cba):
        self.net, self.cba, self.values, self.handles, self.positions = net, cba, {}, [], []
        head = net.head
        self._hook(net.vision_backbone, self._levels)
        self._hook(head.keep_conv[1], lambda m, i, o: self._values(("v3_sorted", "keep64"), o.C, o.F[:, 0]))
        self._hook(head.keep_conv[0], lambda m, i, o: self._values(("up32", "keep32"), o.C, o.F[:, 0]))
        self._pre(head.up_block_2, lambda m, i: self.values.update(tgp64_kept=_set(i[0].C)[0]))
        self._pre(head.up_block_1, lambda m, i: self.values.update(tgp32_kept=_set(i[0].C)[0]))
        self._hook(head.up_block_1, lambda m, i, o: self.values.update(up16=_set(o.C)[0]))
        self._pre(head.pos_embed, lambda m, i: self.positions.append(i[0].detach().clone()))
        self._hook(head.com_cls, self._com)
        self._pre(head.lateral_block_0, lambda m, i: self.values.update(final=_set(i[0].C)[0]))
        self._hook(head.cls_conv, self._cls)

    def _values(self, names, coords, *values):
        self.values.update(zip(names, _set(coords, *values)))

    def _hook(self, module, fn):
        self.handles.append(module.register_forward_hook(fn))

    def _pre(self, module, fn):
        self.handles.append(module.register_forward_pre_hook(fn))

    def _levels(self, _m, _i, outs):
        for name, level in zip(("v0", "v1", "v2", "v3"), outs):
            coords, feats = _set(level.C, level.F)
            self.values[f"{name}_coords"], self.values[f"{name}_feats"] = coords, feats
        if self.cba == "all":
            self.net.head.num_samples_com = int(outs[1].C.shape[0])

    def _com(self, _m, _i, out):
        # The last position embedding before com_cls is the CBA sample's; padded rows carry coordinate -1.
        xyz = self.positions[-1][0]
        sites = torch.round(xyz / VOXEL).to(torch.int32)
        logits = out[0, 0]
        valid = ~(sites == -1).all(dim=1)
        coords = torch.cat([torch.zeros_like(sites[:, :1]), sites], dim=1)[valid]
        self.values["cba_sample"], self.values["com"] = _set(coords, logits[valid])

    def _cls(self, _m, _i, out):
        coords, cls = _set(out.C, out.F[:, 0])
        self.values["cls_coords"], self.values["cls"] = coords, cls

    def close(self):
        for h in self.handles:
            h.remove()


def trace_official(model, points: np.ndarray, tokens: np.ndarray, mask: np.ndarray, cba="all",
                   seed: int = 0) -> dict:
    """Run the official model once with hooks -> dict of numpy arrays (see module doc)."""
    head = model.head
    cap_before = head.num_samples_com
    if cba != "all":
        head.num_samples_com = int(cba)
    rec = _Recorder(model.net, cba)
    try:
        with _sorted_row_lists():
            torch.manual_seed(seed)
            result = model.run(points, tokens, mask)
    finally:
        rec.close()
        head.num_samples_com = cap_before
    v = rec.values
    if not np.array_equal(v["cls_coords"], v["final"]):
        raise RuntimeError("the official cls logits are not on the final voxel set")
    com = torch.from_numpy(v["com"])
    v["cba_confident"] = v["cba_sample"][(com.sigmoid() > model.head.com_threshold).numpy()]  # as the official head
    v["top1"] = np.array([int(np.argmax(v["cls"]))], dtype=np.int64)  # row of the canonical final set
    v["top1_site"] = v["final"][v["top1"][0]]
    v.pop("v3_sorted")
    v.update(center=result.center.astype(np.float32), size=result.size.astype(np.float32),
             score=np.float32(result.score))
    return v
