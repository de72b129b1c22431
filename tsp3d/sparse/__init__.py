"""The sparse-voxel core with MinkowskiEngine semantics (see docs/opset.md).

``ops`` holds the primitives as ``torch.ops.tsp3d.*`` custom operators (the units the ONNX export and the C++/CUDA
kernels reproduce); ``SparseTensor``/``CoordinateSet`` cache rulebooks; ``nn`` has the layers.
"""
from tsp3d.sparse import ops
from tsp3d.sparse.backend import get_backend, set_backend, spconv_available
from tsp3d.sparse.nn import (
    SparseBatchNorm,
    SparseConv3d,
    SparseGenerativeConvTranspose3d,
    SparseMaxPool3d,
    SparseReLU,
)
from tsp3d.sparse.offsets import kernel_offsets, kernel_volume
from tsp3d.sparse.tensor import CoordinateSet, SparseTensor

__all__ = [
    "ops", "get_backend", "set_backend", "spconv_available", "SparseBatchNorm", "SparseConv3d",
    "SparseGenerativeConvTranspose3d", "SparseMaxPool3d", "SparseReLU", "kernel_offsets", "kernel_volume",
    "CoordinateSet", "SparseTensor",
]
