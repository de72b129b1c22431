"""What an INT8 Q/DQ graph needs from an ONNX Runtime session so that its dense layers run as int8 GEMMs.

ONNX Runtime turns ``DequantizeLinear(QuantizeLinear(x)) -> MatMul <- DequantizeLinear(W_q)`` into
``com.microsoft.MatMulIntegerToFloat`` (docs/int8.md), but its level-1 ``MatMulAddFusion`` runs first and folds a
2-D ``MatMul`` and its bias ``Add`` into a float ``Gemm``, which the Q/DQ fusion then leaves in float (measured on
``base``: the head's fuse layer, 256 -> 128 channels over every voxel at 16 cm). For a graph whose metadata says
``tsp3d.precision = int8``, sessions therefore run without that one fusion; FP32 / FP16 graphs are untouched.
"""
from __future__ import annotations

from typing import Union

DISABLED_FOR_INT8 = ("MatMulAddFusion",)


def _is_int8(data: Union[str, bytes]) -> bool:
    import onnx

    proto = onnx.load(data, load_external_data=False) if isinstance(data, str) else onnx.load_model_from_string(data)
    return any(p.key == "tsp3d.precision" and p.value == "int8" for p in proto.metadata_props)


def session_kwargs_for(data: Union[str, bytes], session_kwargs: dict) -> dict:
    """``session_kwargs`` for ``onnxruntime.InferenceSession`` with the INT8 graph's disabled optimizers added."""
    if not _is_int8(data):
        return session_kwargs
    disabled = list(session_kwargs.get("disabled_optimizers") or [])
    return {**session_kwargs, "disabled_optimizers": disabled + [o for o in DISABLED_FOR_INT8 if o not in disabled]}
