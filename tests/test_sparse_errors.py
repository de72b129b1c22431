"""Bad input to the sparse primitives gets a ValueError (SparseInputError / CapacityError) that names the problem."""
from __future__ import annotations

import pytest
import torch

from tsp3d.errors import CapacityError, SparseInputError
from tsp3d.sparse import CoordinateSet, SparseConv3d, SparseTensor, ops


def c(*rows):
    return torch.tensor(rows, dtype=torch.int32)


GOOD = c([0, 0, 0, 0], [0, 2, 0, 0])


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: ops.coords_down(GOOD.long(), 1, 0), "must be int32"),
        (lambda: ops.coords_down(GOOD[:, :3], 1, 0), r"shape \[N, 4\]"),
        (lambda: ops.coords_down(c([0, 0, 0, 40000]), 1, 0), "must be in"),
        (lambda: ops.coords_down(c([-1, 0, 0, 0]), 1, 0), "batch index"),
        (lambda: ops.coords_down(c([0, 1, 0, 0]), 2, 0), "multiples of the tensor stride 2"),
        (lambda: ops.coords_down(GOOD, 0, 0), "positive int"),
        (lambda: ops.coords_up(c([0, 2, 0, 0]), 1, 0), "even input stride"),
        (lambda: ops.coords_up(c([0, -32768, 0, 0]), 2, 0), "coordinate range"),
        (lambda: ops.kernel_map(c([0, 0, 0, 0], [0, 0, 0, 0]), GOOD, 3, 1, False), "duplicate coordinates"),
        (lambda: ops.kernel_map(GOOD, GOOD, 4, 1, False), "kernel_size must be one of"),
        (lambda: CoordinateSet(c([1, 0, 0, 0]), 1).kernel_map_from(CoordinateSet(c([0, 0, 0, 0]), 1), 3),
         "batch indices"),
        (lambda: ops.lookup(GOOD, c([0, 0, 0, 0], [0, 0, 0, 0])), "duplicate coordinates"),
        (lambda: ops.append_missing(GOOD, c([0, 4, 0, 0], [0, 4, 0, 0]), 0), "duplicate coordinates"),
        (lambda: SparseTensor(torch.zeros(2, 3), GOOD).append_missing(SparseTensor(torch.zeros(1, 3), c([3, 4, 0, 0]))),
         "batch indices"),
        (lambda: ops.coords_down(c([0, -32765, 0, 0]), 5, 0), "coordinate range"),
        (lambda: ops.prune(torch.zeros(3, 2), 0.5, 0, 1), "float \\[N\\]"),
        (lambda: ops.prune(torch.zeros(3), 0.5, 7, 1), "prune mode"),
        (lambda: ops.voxelize(torch.zeros(0, 6), 0.01, 0, 0), "empty"),
        (lambda: ops.voxelize(torch.zeros(4, 6, dtype=torch.float64), 0.01, 0, 0), "float32"),
        (lambda: ops.voxelize(torch.tensor([[0.0, float("nan"), 0.0]]), 0.01, 0, 0), "NaN/Inf"),
        (lambda: ops.voxelize(torch.tensor([[0.0, 500.0, 0.0]]), 0.01, 0, 0), "outside"),
        (lambda: ops.voxelize(torch.zeros(2, 3), -1.0, 0, 0), "voxel_size"),
        (lambda: ops.sparse_conv(torch.zeros(2, 3), torch.zeros(2, 27, dtype=torch.int32), torch.zeros(27, 4, 5),
                                 None, 0), "input channels"),
        (lambda: ops.sparse_conv(torch.zeros(2, 3), torch.full((2, 27), 5, dtype=torch.int32),
                                 torch.zeros(27, 3, 5), None, 0), "points at row 5"),
        (lambda: ops.sparse_conv(torch.zeros(2, 3), torch.zeros(2, 8, dtype=torch.int32), torch.zeros(27, 3, 5),
                                 None, 0), "kernel offsets"),
        (lambda: SparseTensor(torch.zeros(2, 3), c([0, 0, 0, 0], [0, 0, 0, 0])), "duplicate coordinates"),
        (lambda: SparseTensor(torch.zeros(3, 3), GOOD), "3 rows but the coordinates have 2"),
        (lambda: SparseTensor(torch.zeros(2, 3, dtype=torch.int32), GOOD), "floating point"),
        (lambda: SparseTensor(torch.zeros(2, 3), GOOD) + SparseTensor(torch.zeros(1, 3), GOOD[:1]),
         "different coordinate sets"),
        (lambda: SparseConv3d(3, 4, 3, 1)(SparseTensor(torch.zeros(2, 5), GOOD)), "input channels"),
        (lambda: SparseConv3d(3, 4, 2, 1), "even kernel needs stride 2"),
    ],
)
def test_bad_input_is_a_named_value_error(call, match):
    with pytest.raises(SparseInputError, match=match) as info:
        call()
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "call,what",
    [
        (lambda: ops.coords_up(GOOD, 2, 30), "coords_up"),
        (lambda: ops.coords_down(c([0, 0, 0, 0], [0, 4, 0, 0]), 1, 1), "coords_down"),
        (lambda: ops.voxelize(torch.rand(50, 3), 0.01, 0, 3), "voxelize"),
        (lambda: ops.append_missing(GOOD, c([0, 4, 0, 0]), 2), "append_missing"),
        (lambda: ops.prune(torch.zeros(5), 0.5, 0, 1, 4), "prune"),
    ],
)
def test_capacity_exceeded_names_the_bound(call, what):
    with pytest.raises(CapacityError, match=f"{what}.*over its capacity") as info:
        call()
    assert "raise the capacity" in info.value.hint


def test_empty_sets_are_allowed_where_meaningful():
    empty = torch.zeros(0, 4, dtype=torch.int32)
    assert ops.coords_down(empty, 1, 0).shape == (0, 4)
    assert ops.lookup(empty, GOOD).shape == (0,)
    assert ops.lookup(GOOD, empty).tolist() == [-1, -1]
    coords, idx = ops.append_missing(GOOD, empty, 0)
    assert torch.equal(coords, GOOD) and idx.numel() == 0
    assert ops.prune(torch.zeros(0), 0.5, 0, 1).numel() == 0
