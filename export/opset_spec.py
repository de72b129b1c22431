"""The ``tsp3d`` ONNX operator set, version 1, as one declarative table (semantics: docs/opset.md).

This table is the single source for the ONNX schemas (``export/schemas.py``), the attribute checks and tolerances
of the parity tests, and the TensorRT plugin fields (the TensorRT glue checks its ``PluginFieldCollection`` against
it). Changing an op's inputs, outputs or attributes here is a change of the opset: bump ``VERSION``.

Types are ONNX type strings. Inputs/outputs that share a type parameter (``type_param="T"``) must have the same
element type in one node; ``TYPE_PARAMS`` lists what each parameter allows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

DOMAIN = "tsp3d"
VERSION = 1

INT32 = "tensor(int32)"
INT8 = "tensor(int8)"
FLOAT = "tensor(float)"
FLOAT16 = "tensor(float16)"

# Type parameters: name -> allowed types.
TYPE_PARAMS = {"T": (FLOAT, FLOAT16)}

COORD_MAX = 32767  # x/y/z in [-32768, 32767], batch in [0, 32767] (docs/opset.md, Conventions)
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class Tolerance:
    """``|a - b| <= atol + rtol * |b|`` elementwise (b = the PyTorch reference)."""

    rtol: float
    atol: float


EXACT = Tolerance(0.0, 0.0)


@dataclass(frozen=True)
class TensorSpec:
    name: str
    type: str  # an ONNX type string, or a key of TYPE_PARAMS
    shape: str  # documentation: symbolic shape, e.g. "[N, 4]"
    optional: bool = False
    doc: str = ""

    @property
    def allowed_types(self) -> tuple[str, ...]:
        return TYPE_PARAMS.get(self.type, (self.type,))

    @property
    def is_index(self) -> bool:
        """Integer outputs (coordinates, rows, kernel maps) must match exactly."""
        return self.allowed_types == (INT32,)


Number = Union[int, float]


@dataclass(frozen=True)
class AttrSpec:
    name: str
    type: str  # "int" | "float"
    default: Optional[Number] = None  # None: required
    min: Optional[Number] = None  # inclusive
    max: Optional[Number] = None  # inclusive
    exclusive_min: bool = False  # min itself is not allowed (e.g. voxel_size > 0)
    choices: Optional[tuple[int, ...]] = None
    multiple_of: Optional[int] = None
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is None

    def check(self, value: Number) -> Optional[str]:
        """None when ``value`` is allowed, else the reason (one line)."""
        if self.type == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            return f"attribute '{self.name}' must be an int, got {value!r}"
        if self.type == "float" and not isinstance(value, (int, float)):
            return f"attribute '{self.name}' must be a float, got {value!r}"
        if self.choices is not None and value not in self.choices:
            return f"attribute '{self.name}' must be one of {list(self.choices)}, got {value}"
        if self.min is not None and (value <= self.min if self.exclusive_min else value < self.min):
            op = ">" if self.exclusive_min else ">="
            return f"attribute '{self.name}' must be {op} {self.min}, got {value}"
        if self.max is not None and value > self.max:
            return f"attribute '{self.name}' must be <= {self.max}, got {value}"
        if self.multiple_of is not None and value % self.multiple_of:
            return f"attribute '{self.name}' must be a multiple of {self.multiple_of}, got {value}"
        return None


@dataclass(frozen=True)
class OpSpec:
    name: str
    doc: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    attributes: tuple[AttrSpec, ...] = ()
    # Float outputs: tolerance per element type of the type parameter; index outputs are always exact.
    tolerances: dict = field(default_factory=dict)
    # Output rows depend on the data (ORT: shape known at run time; TensorRT: size tensor bounded by `capacity`).
    data_dependent: bool = False

    @property
    def domain(self) -> str:
        return DOMAIN

    @property
    def version(self) -> int:
        return VERSION

    def attribute(self, name: str) -> AttrSpec:
        for a in self.attributes:
            if a.name == name:
                return a
        raise KeyError(f"{self.name} has no attribute {name!r}")

    def tolerance(self, output: str, elem_type: str) -> Tolerance:
        spec = next(o for o in self.outputs if o.name == output)
        if spec.is_index:
            return EXACT
        return self.tolerances[elem_type]


def _capacity(natural: str) -> AttrSpec:
    # Exported graphs always carry a positive bound; at most 2^31 - 1 because TensorRT passes int attributes as int32.
    return AttrSpec(
        "capacity", "int", default=0, min=0, max=INT32_MAX,
        doc=f"upper bound on the output rows; 0 = the natural bound ({natural}); more rows is an error",
    )


def _coords(name: str, shape: str = "[N, 4]", doc: str = "") -> TensorSpec:
    return TensorSpec(name, INT32, shape, doc=doc or "int32 rows (batch, x, y, z)")


# FP32: the C++/CUDA kernels block the channel sums differently from the reference; FP16 outputs are rounded once
# from an FP32 accumulator, so the two roundings may land one half-ulp (2^-11 relative) apart, plus the FP32
# differences of near-cancelling sums.
CONV_TOL = {FLOAT: Tolerance(1e-3, 1e-5), FLOAT16: Tolerance(2e-3, 2e-3)}
EXACT_TOL = {FLOAT: EXACT, FLOAT16: EXACT}

OPS: tuple[OpSpec, ...] = (
    OpSpec(
        "Voxelize",
        "Quantize points (floor(xyz / voxel_size), IEEE float32 division) and pick the lowest point index per voxel.",
        inputs=(TensorSpec("points", FLOAT, "[N, D]", doc="float32, D >= 3, columns 0..2 are x, y, z (m)"),),
        outputs=(_coords("coords", "[M, 4]", "canonical order"), TensorSpec("first", INT32, "[M]")),
        attributes=(
            AttrSpec("voxel_size", "float", min=0.0, exclusive_min=True, doc="voxel edge in metres"),
            AttrSpec("batch", "int", default=0, min=0, max=COORD_MAX, doc="batch column of the output"),
            _capacity("N"),
        ),
        data_dependent=True,
    ),
    OpSpec(
        "CoordsDown",
        "Output sites of a stride-2 conv or pool: unique (b, floor(x/2s)*2s, ...), canonical order.",
        inputs=(_coords("coords"),),
        outputs=(_coords("out_coords", "[M, 4]"),),
        attributes=(AttrSpec("stride", "int", min=1, max=COORD_MAX, doc="input tensor stride"), _capacity("N")),
        data_dependent=True,
    ),
    OpSpec(
        "CoordsUp",
        "Output sites of the generative transposed conv k3 s2: union of c + d * stride/2, canonical order.",
        inputs=(_coords("coords"),),
        outputs=(_coords("out_coords", "[M, 4]"),),
        attributes=(
            AttrSpec("stride", "int", min=2, max=COORD_MAX, multiple_of=2, doc="input tensor stride (even)"),
            _capacity("27 N"),
        ),
        data_dependent=True,
    ),
    OpSpec(
        "KernelMap",
        "Rulebook: nbr[o, k] = row of in_coords at out_coords[o] +- d_k * offset_stride, or -1.",
        inputs=(_coords("in_coords", doc="unique rows"), _coords("out_coords", "[M, 4]")),
        outputs=(TensorSpec("nbr", INT32, "[M, K]", doc="K = kernel_size^3"),),
        attributes=(
            AttrSpec("kernel_size", "int", choices=(1, 2, 3)),
            AttrSpec("offset_stride", "int", min=1, max=COORD_MAX),
            AttrSpec("transposed", "int", default=0, choices=(0, 1)),
        ),
    ),
    OpSpec(
        "SparseConv",
        "act(bias + sum_k sum_{nbr[o,k] >= 0} feats[nbr[o,k]] @ weight[k]); float16 I/O accumulates in float32.",
        inputs=(
            TensorSpec("feats", "T", "[N, Cin]"),
            TensorSpec("nbr", INT32, "[M, K]"),
            TensorSpec("weight", "T", "[K, Cin, Cout]"),
            TensorSpec("bias", "T", "[Cout]", optional=True),
        ),
        outputs=(TensorSpec("out", "T", "[M, Cout]"),),
        attributes=(AttrSpec("activation", "int", default=0, choices=(0, 1), doc="0 none, 1 ReLU"),),
        tolerances=CONV_TOL,
    ),
    OpSpec(
        "SparseConvInt8",
        "act(bias + feats_scale * weight_scale[c] * acc[o, c]) with the exact int32 accumulation of int8 products.",
        inputs=(
            TensorSpec("feats", INT8, "[N, Cin]"),
            TensorSpec("feats_scale", FLOAT, "[]", doc="per-tensor scale (scalar)"),
            TensorSpec("nbr", INT32, "[M, K]"),
            TensorSpec("weight", INT8, "[K, Cin, Cout]"),
            TensorSpec("weight_scale", FLOAT, "[Cout]", doc="per-output-channel scale"),
            TensorSpec("bias", FLOAT, "[Cout]", optional=True),
        ),
        outputs=(TensorSpec("out", FLOAT, "[M, Cout]"),),
        attributes=(AttrSpec("activation", "int", default=0, choices=(0, 1), doc="0 none, 1 ReLU"),),
        # Only the float scaling after an exact integer sum: the same operations in the same order everywhere.
        tolerances={FLOAT: Tolerance(1e-6, 1e-6)},
    ),
    OpSpec(
        "SparseMaxPool",
        "Channel-wise max over the present neighbours (0 for an output with none).",
        inputs=(TensorSpec("feats", "T", "[N, C]"), TensorSpec("nbr", INT32, "[M, K]")),
        outputs=(TensorSpec("out", "T", "[M, C]"),),
        tolerances=EXACT_TOL,
    ),
    OpSpec(
        "Lookup",
        "Row of table equal to each query row, or -1.",
        inputs=(_coords("query", "[Q, 4]"), _coords("table", doc="unique rows")),
        outputs=(TensorSpec("idx", INT32, "[Q]"),),
    ),
    OpSpec(
        "Prune",
        "Ascending rows whose score passes the threshold (NaN never passes); min_keep best rows as a fallback.",
        inputs=(TensorSpec("scores", "T", "[N]", doc="compared in float32"),),
        outputs=(TensorSpec("idx", INT32, "[M]"),),
        attributes=(
            AttrSpec("threshold", "float"),
            AttrSpec("mode", "int", default=0, choices=(0, 1), doc="0 keeps score < threshold, 1 keeps >"),
            AttrSpec("min_keep", "int", default=1, min=0, max=INT32_MAX),
            _capacity("N"),
        ),
        data_dependent=True,
    ),
    OpSpec(
        "AppendMissing",
        "coords_a followed by the rows of coords_b whose site is not in coords_a; idx_b ascending.",
        inputs=(_coords("coords_a", "[Na, 4]", "unique rows"), _coords("coords_b", "[Nb, 4]", "unique rows")),
        outputs=(_coords("coords", "[Na + Mb, 4]"), TensorSpec("idx_b", INT32, "[Mb]")),
        attributes=(_capacity("Na + Nb"),),
        data_dependent=True,
    ),
)

OPS_BY_NAME = {op.name: op for op in OPS}


def get(name: str) -> OpSpec:
    """The spec of op ``name`` (KeyError listing the ops when unknown)."""
    try:
        return OPS_BY_NAME[name]
    except KeyError:
        raise KeyError(f"no op {name!r} in the {DOMAIN} opset v{VERSION}; ops: {', '.join(OPS_BY_NAME)}") from None
