"""``SparseTensor``: features on a coordinate set, with rulebooks cached on the set.

Tensors that share a ``CoordinateSet`` object (the output of a stride-1 conv, a norm, an activation, a residual
add) share its cached rulebooks: every k3 conv on one set reuses one kernel map, and the strided k3 conv and the
k1 downsample of a residual block land on the same output set object, as in MinkowskiEngine.
"""
from __future__ import annotations

import torch

from tsp3d.errors import SparseInputError
from tsp3d.sparse import coords as C
from tsp3d.sparse import ops


def tracing() -> bool:
    """True under torch.export/compile: value-dependent checks are skipped there (the ops check real inputs)."""
    return torch.compiler.is_compiling()


class CoordinateSet:
    """Unique int32 ``[N, 4]`` coordinates at one tensor stride, plus the rulebooks computed from it."""

    def __init__(self, coords: torch.Tensor, stride: int = 1, check: bool = True):
        if check and not tracing():
            C.check_stride(stride)
            C.check_coords(coords, "coords", stride=stride, allow_empty=True)
        self.coords = coords
        self.stride = stride
        self._down: CoordinateSet | None = None
        self._up: CoordinateSet | None = None
        self._maps: list[tuple[CoordinateSet, int, bool, torch.Tensor]] = []  # (input set, k, transposed, nbr)

    def __len__(self) -> int:
        return self.coords.shape[0]

    @property
    def device(self) -> torch.device:
        return self.coords.device

    def down(self, capacity: int = 0) -> "CoordinateSet":
        """Output set of every stride-2 conv/pool on this set (cached: one object for all of them)."""
        if self._down is None:
            self._down = CoordinateSet(ops.coords_down(self.coords, self.stride, capacity), 2 * self.stride, False)
        return self._down

    def up(self, capacity: int = 0) -> "CoordinateSet":
        """Output set of the generative transposed k3 s2 conv on this set (cached)."""
        if self._up is None:
            self._up = CoordinateSet(ops.coords_up(self.coords, self.stride, capacity), self.stride // 2, False)
        return self._up

    def kernel_map_from(self, source: "CoordinateSet", kernel_size: int, transposed: bool = False) -> torch.Tensor:
        """Kernel map of a conv reading ``source`` and writing this set (cached on this set)."""
        for src, k, tr, nbr in self._maps:
            if src is source and k == kernel_size and tr == transposed:
                return nbr
        if not tracing():  # an output batch item with no input would silently read nothing
            C.check_batch_match(source.coords, self.coords, "the input set", "the output set")
        offset_stride = self.stride if transposed else source.stride
        nbr = ops.kernel_map(source.coords, self.coords, kernel_size, offset_stride, transposed)
        self._maps.append((source, kernel_size, transposed, nbr))
        return nbr

    def subset(self, idx: torch.Tensor) -> "CoordinateSet":
        """The rows ``idx`` (ascending, unique), as a new set: its order stays sorted."""
        return CoordinateSet(self.coords.index_select(0, idx.long()), self.stride, check=False)


class SparseTensor:
    """Features ``[N, C]`` on a ``CoordinateSet``. Cheap to create: it never copies the coordinates."""

    def __init__(self, feats: torch.Tensor, coords: torch.Tensor | None = None, stride: int = 1,
                 cset: CoordinateSet | None = None):
        if cset is None:
            if coords is None:
                raise SparseInputError("SparseTensor needs coords or a CoordinateSet")
            cset = CoordinateSet(coords, stride)
            if not tracing():  # uniqueness is a precondition of every lookup: check it once here
                from tsp3d.sparse.table import KeyTable

                KeyTable(cset.coords, "coords")
        C.check_feats(feats, cset.coords.shape[0])
        self.feats = feats
        self.cset = cset

    @property
    def coords(self) -> torch.Tensor:
        return self.cset.coords

    @property
    def stride(self) -> int:
        return self.cset.stride

    def __len__(self) -> int:
        return len(self.cset)

    def replace(self, feats: torch.Tensor) -> "SparseTensor":
        return SparseTensor(feats, cset=self.cset)

    def __add__(self, other: "SparseTensor") -> "SparseTensor":
        if not isinstance(other, SparseTensor):
            return NotImplemented
        if other.cset is not self.cset and not tracing():
            if other.cset.coords.shape != self.cset.coords.shape or not torch.equal(other.coords, self.coords):
                raise SparseInputError(
                    f"cannot add sparse tensors on different coordinate sets ({len(self)} vs {len(other)} rows, "
                    f"strides {self.stride} and {other.stride})"
                )
        return self.replace(self.feats + other.feats)

    def features_at(self, coords: torch.Tensor) -> torch.Tensor:
        """Features at exact lattice sites; zeros where this tensor has no site (ME ``features_at_coordinates``)."""
        return ops.gather_rows(self.feats, ops.lookup(coords, self.coords))

    def select(self, idx: torch.Tensor) -> "SparseTensor":
        """Keep the rows ``idx`` (ascending int indices, e.g. from ``ops.prune``)."""
        return SparseTensor(self.feats.index_select(0, idx.long()), cset=self.cset.subset(idx))

    def select_mask(self, mask: torch.Tensor) -> "SparseTensor":
        """Keep the rows where the bool ``mask`` is True."""
        if mask.dtype != torch.bool or mask.dim() != 1:
            raise SparseInputError(f"mask must be a bool [N] tensor, got {mask.dtype} {list(mask.shape)}")
        return self.select(mask.nonzero().squeeze(1))

    def prune(self, scores: torch.Tensor, threshold: float, keep_below: bool = True, min_keep: int = 1,
              capacity: int = 0):
        mode = 0 if keep_below else 1
        return self.select(ops.prune(scores, threshold, mode, min_keep, capacity))

    def append_missing(self, other: "SparseTensor", capacity: int = 0) -> "SparseTensor":
        """This tensor plus the sites of ``other`` that it lacks (with ``other``'s features)."""
        if other.stride != self.stride:
            raise SparseInputError(f"cannot append a stride-{other.stride} tensor to a stride-{self.stride} one")
        if not tracing():
            C.check_batch_match(self.coords, other.coords, "this tensor", "the appended tensor")
        coords, idx = ops.append_missing(self.coords, other.coords, capacity)
        feats = torch.cat([self.feats, other.feats.index_select(0, idx.long())], dim=0)
        return SparseTensor(feats, cset=CoordinateSet(coords, self.stride, check=False))

    def batch_rows(self, b: int) -> torch.Tensor:
        return (self.coords[:, 0] == b).nonzero().squeeze(1)

    def __repr__(self) -> str:
        return f"SparseTensor(n={len(self)}, channels={self.feats.shape[1]}, stride={self.stride})"
