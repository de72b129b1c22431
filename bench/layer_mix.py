"""The sparse layer mix of a model, recorded from one real forward: every rulebook and every conv that uses it.

A ``TorchDispatchMode`` watches the ``torch.ops.tsp3d`` calls of ``model.predict``: ``coords_down`` /
``coords_up`` (new coordinate sets), ``kernel_map`` (a rulebook between two sets) and ``sparse_conv`` (a rulebook
applied with a weight). Convs are grouped by (rulebook, Cin, Cout): a *layer* of the mix, run ``count`` times per
forward. Pointwise stride-1 convs are plain matmuls in the model (no rulebook) and so are not part of the mix.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.utils._python_dispatch import TorchDispatchMode

import tsp3d.sparse.ops  # noqa: F401  (registers torch.ops.tsp3d.*)

T = torch.ops.tsp3d


@dataclass
class RuleMap:
    """One rulebook: ``kernel_map(in_coords, out_coords, k, offset_stride, transposed)``."""

    in_coords: torch.Tensor
    out_coords: torch.Tensor
    k: int
    offset_stride: int
    transposed: bool
    kind: str  # "same" (the output set is the input set), "down" (CoordsDown), "up" (CoordsUp), "other"
    creates_output: bool  # this is the first rulebook onto a set made by CoordsDown/CoordsUp: it pays for the set
    nbr: torch.Tensor = field(repr=False, default=None)

    @property
    def pairs(self) -> int:
        return int((self.nbr >= 0).sum())

    @property
    def level(self) -> int:
        """Tensor stride (voxels) of the input set."""
        return self.offset_stride * 2 if self.transposed else self.offset_stride


@dataclass
class Layer:
    map_index: int
    cin: int
    cout: int
    count: int
    name: str = ""


class _Recorder(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.created: dict[int, tuple[str, torch.Tensor]] = {}  # id(coords) -> (kind, the tensor, kept alive)
        self.maps: list[RuleMap] = []
        self.map_of: dict[int, int] = {}  # id(nbr) -> map index
        self.convs: list[tuple[int, int, int]] = []  # (map index, cin, cout) per sparse_conv call
        self.paid: set[int] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        op = func._overloadpacket
        if op == T.coords_down:
            self.created[id(out)] = ("down", out)
        elif op == T.coords_up:
            self.created[id(out)] = ("up", out)
        elif op == T.kernel_map:
            cin, cout, k, offset_stride, transposed = args[:5]
            made = self.created.get(id(cout))
            kind = "same" if cout is cin else (made[0] if made else "other")
            first = made is not None and id(cout) not in self.paid
            if made is not None:
                self.paid.add(id(cout))
            self.map_of[id(out)] = len(self.maps)
            self.maps.append(RuleMap(cin, cout, int(k), int(offset_stride), bool(transposed), kind, first, out))
        elif op == T.sparse_conv:
            feats, nbr, weight = args[:3]
            index = self.map_of.get(id(nbr))
            if index is not None:
                self.convs.append((index, int(weight.shape[1]), int(weight.shape[2])))
        return out


def layer_name(m: RuleMap, cin: int, cout: int) -> str:
    kind = {"same": f"k{m.k}", "down": f"k{m.k} s2", "up": "up k3 s2", "other": f"k{m.k} (other set)"}[m.kind]
    return f"{kind} {cin}->{cout} @{m.level}"


@torch.no_grad()
def record(model, points: torch.Tensor, text_feats: torch.Tensor, text_mask: torch.Tensor):
    """(rulebooks, layers) of one ``model.predict``; layers in first-use order."""
    rec = _Recorder()
    with rec:
        model.predict(points, text_feats, text_mask)
    layers: dict[tuple[int, int, int], Layer] = {}
    for index, cin, cout in rec.convs:
        key = (index, cin, cout)
        if key not in layers:
            layers[key] = Layer(index, cin, cout, 0, layer_name(rec.maps[index], cin, cout))
        layers[key].count += 1
    used = sorted({layer.map_index for layer in layers.values()})
    return rec.maps, list(layers.values()), used
