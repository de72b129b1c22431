"""Exact integer ``torch.div(a, b, rounding_mode=...)`` in exported graphs.

The exporter's default translation of ``aten.div.Tensor_mode`` on int64 goes through float32 (Cast, Div, Floor,
Cast back): exact only while the operands stay below 2^24. The model's deterministic CBA sample computes
``floor((j * count + ...) / n)`` with ``j * count`` up to ``capacities.voxels_s16 * cba_samples`` (~8e7 in the base
config), where float32 rounding would pick other rows than PyTorch does; an FP16 graph would be wrong far sooner.
This translation keeps integer division in integers: ``floor(a / b) = (a - Mod(a, b)) / b`` with ONNX ``Mod``
(fmod=0 takes the divisor's sign, Python's ``%``), and ``Div`` on integers truncates (``rounding_mode="trunc"``).
Float operands get the usual float formulas.
"""
from __future__ import annotations


def _is_integer(value) -> bool:
    dtype = getattr(value, "dtype", None)
    return dtype is not None and getattr(dtype, "is_integer", lambda: False)()


def div_mode(self, other, rounding_mode=None):
    from onnxscript import opset20 as op

    integer = _is_integer(self) and _is_integer(other)
    if rounding_mode is None:  # true division: a float result even for integer operands
        if integer:
            self, other = op.Cast(self, to=1), op.Cast(other, to=1)
        return op.Div(self, other)
    if rounding_mode == "floor":
        if integer:
            return op.Div(op.Sub(self, op.Mod(self, other, fmod=0)), other)
        return op.Floor(op.Div(self, other))
    if rounding_mode == "trunc":
        if integer:
            return op.Div(self, other)
        q = op.Div(self, other)
        return op.Where(op.Less(q, op.CastLike(0.0, q)), op.Ceil(q), op.Floor(q))
    raise ValueError(f"torch.div: unknown rounding_mode {rounding_mode!r}")


def translation_table() -> dict:
    import torch

    return {torch.ops.aten.div.Tensor_mode: div_mode}
