"""Typed errors. Every error a user can meet is one of these (see docs/errors.md).

The CLI prints ``error: <message>`` plus an optional ``hint: <hint>`` line and exits nonzero; the traceback is only
shown with ``--debug``. Library callers catch the specific class they care about.
"""
from __future__ import annotations


class Tsp3dError(Exception):
    """Base class. ``hint`` says what the user can do about it (one line, optional)."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


class SparseInputError(Tsp3dError, ValueError):
    """Bad tensors handed to a sparse primitive (dtype, shape, range, stride, duplicates, batch)."""


class CapacityError(Tsp3dError, ValueError):
    """A data-dependent size went over its explicit bound. The message names the bound and how to raise it."""


class InputFileError(Tsp3dError, ValueError):
    """A point cloud, annotation, text or data file that is missing, empty, truncated or malformed."""


class CheckpointError(Tsp3dError, ValueError):
    """A checkpoint that is corrupt, of another model, or unsafe to load."""


class ModelFormatError(Tsp3dError, ValueError):
    """An ONNX model or engine from another opset/plugin/TensorRT version, or with missing metadata."""


class DependencyError(Tsp3dError, RuntimeError):
    """An optional dependency (TensorRT, a GPU, a compiled plugin library, a text encoder) is not available."""

    exit_code = 3


class OutputExistsError(Tsp3dError, FileExistsError):
    """An output already exists and ``force`` was not given."""


class ToleranceError(Tsp3dError, AssertionError):
    """A parity/accuracy check went over its tolerance."""

    exit_code = 4
