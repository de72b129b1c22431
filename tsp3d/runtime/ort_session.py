"""ONNX Runtime sessions with the tsp3d custom-op library (``libtsp3d_ort.so``) registered.

    from tsp3d.runtime.ort_session import make_session
    sess = make_session("model.onnx", threads=2)
    outputs = run(sess, {"points": points})     # or sess.run(None, ...) for ORT's own exceptions

Attention: ``attention="fused"`` (default) rewrites the exported attention subgraphs into ONNX Runtime's fused
``MultiHeadAttention`` in memory before the session is made (``ort_fusion.py``: memory linear in the voxel count
instead of quadratic; the bundle on disk stays plain ONNX); ``"plain"`` runs the graph as exported. The default
can be changed with ``TSP3D_ORT_ATTENTION=plain``. ``session_attention(sess)`` says what a session got.

Threads: ``threads`` sets ONNX Runtime's intra-op pool, which runs every op, the tsp3d kernels included (they
use the calling kernel's pool through ``KernelContext_ParallelFor`` and start no thread of their own, so sessions
in one process compose); the session config entry ``tsp3d.num_threads`` tells the kernels how finely to split
their work. ``None`` leaves ORT's default. Spinning of ORT's idle intra-op threads is off by default (other
processes and sessions keep their cores).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence, Union

from tsp3d.errors import CapacityError, DependencyError, InputFileError, ModelFormatError, SparseInputError

THREADS_CONFIG_KEY = "tsp3d.num_threads"
DOMAIN = "tsp3d"
SUPPORTED_VERSION = 1  # the opset version libtsp3d_ort.so registers (docs/opset.md, Versioning)

ModelLike = Union[str, os.PathLike, bytes, "onnx.ModelProto"]  # noqa: F821


def _check_opset(model) -> None:
    """Refuse a graph that imports another version of the tsp3d domain, or a standard opset newer than the
    installed onnx knows, with a message (ORT's are cryptic)."""
    import onnx

    for imp in model.opset_import:
        if imp.domain == DOMAIN and imp.version != SUPPORTED_VERSION:
            raise ModelFormatError(
                f"the model imports the '{DOMAIN}' opset version {imp.version}; this libtsp3d_ort.so implements "
                f"version {SUPPORTED_VERSION} only",
                hint="re-export the model with this tsp3d release, or use the plugin library it was made for",
            )
        if imp.domain in ("", "ai.onnx") and imp.version > onnx.defs.onnx_opset_version():
            raise ModelFormatError(
                f"the model imports the standard ONNX opset {imp.version}; the installed onnx "
                f"{onnx.__version__} knows opsets up to {onnx.defs.onnx_opset_version()}",
                hint="re-export the model with this tsp3d release (it writes opset 20), or upgrade onnx/onnxruntime",
            )


def _load_failure(e: Exception, model: ModelLike) -> ModelFormatError:
    """ONNX Runtime refused to load a model: one line instead of a C++ signature and a stack of details."""
    import onnxruntime as ort

    name = model if isinstance(model, (str, os.PathLike)) else "the model"
    text = " ".join(str(e).split())
    if "ValidateOpsetForDomain" in text or ("opset" in text.lower() and "support" in text.lower()):
        return ModelFormatError(f"ONNX Runtime {ort.__version__} does not support the opset {name} imports",
                                hint="re-export the model with this tsp3d release, or upgrade onnxruntime")
    return ModelFormatError(f"ONNX Runtime {ort.__version__} cannot load {name}: {text[:300]}",
                            hint="re-export the model with this tsp3d release")


def _model_bytes(model: ModelLike) -> Union[str, bytes]:
    import onnx

    if isinstance(model, onnx.ModelProto):
        _check_opset(model)
        return model.SerializeToString()
    if isinstance(model, (bytes, bytearray)):
        _check_opset(onnx.load_model_from_string(bytes(model)))
        return bytes(model)
    path = Path(model)
    if not path.is_file():
        raise InputFileError(f"ONNX model not found: {path}")
    try:
        _check_opset(onnx.load(str(path), load_external_data=False))
    except ModelFormatError:
        raise
    except Exception as e:  # truncated or not an ONNX file
        raise InputFileError(f"{path} is not a readable ONNX model: {e}") from e
    return str(path)


def session_options(threads: Optional[int] = None, spinning: bool = False, library: Optional[Path] = None):
    """``onnxruntime.SessionOptions`` with the tsp3d library registered (see module docstring for ``threads``)."""
    import onnxruntime as ort

    if library is None:
        from tsp3d.utils.libraries import require_library

        library = require_library("ort")
    so = ort.SessionOptions()
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        so.intra_op_num_threads = int(threads)
        so.add_session_config_entry(THREADS_CONFIG_KEY, str(int(threads)))  # before registering: read there
    if not spinning:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if os.environ.get("TSP3D_DEBUG") != "1":
        so.log_severity_level = 4  # errors come back as exceptions (one line in the CLI), not also as log lines
    try:
        so.register_custom_ops_library(str(library))
    except Exception as e:
        raise DependencyError(f"could not load {library}: {e}",
                              hint="rebuild it with scripts/build_plugins.sh for this machine") from e
    return so


ATTENTION_FORMS = ("fused", "plain")


def default_attention() -> str:
    form = os.environ.get("TSP3D_ORT_ATTENTION", "fused")
    if form not in ATTENTION_FORMS:
        raise InputFileError(f"TSP3D_ORT_ATTENTION={form!r}", hint=f"use one of {', '.join(ATTENTION_FORMS)}")
    return form


def _fused(data: Union[str, bytes]) -> tuple[bytes, dict]:
    """The graph with its attention fused (``ort_fusion.fuse_attention``) and what was fused."""
    import onnx

    from tsp3d.runtime.ort_fusion import fuse_attention, unmasked_attention

    proto = onnx.load(data) if isinstance(data, str) else onnx.load_model_from_string(data)
    fused, n = fuse_attention(proto)
    left = unmasked_attention(fused)  # blocks the rewrite did not recognise: still quadratic
    info = {"form": "plain" if left else "fused" if n else "none", "fused_blocks": n, "unfused_blocks": left}
    return fused.SerializeToString(), info


def make_session(model: ModelLike, threads: Optional[int] = None, providers: Sequence[str] = ("CPUExecutionProvider",),
                 spinning: bool = False, library: Optional[Path] = None, attention: Optional[str] = None,
                 profile_prefix: Optional[str] = None, **session_kwargs):
    """An ``onnxruntime.InferenceSession`` for ``model`` (path, bytes or ModelProto) with the tsp3d ops;
    ``attention``: "fused" or "plain" (default ``default_attention()``, see the module docstring);
    ``profile_prefix``: turn on ONNX Runtime's profiler, writing there (``session.end_profiling()``)."""
    import onnxruntime as ort

    form = attention or default_attention()
    if form not in ATTENTION_FORMS:
        raise InputFileError(f"attention must be one of {ATTENTION_FORMS}, got {form!r}")
    data = _model_bytes(model)
    info = {"form": "plain", "fused_blocks": 0}
    if form == "fused":
        data, info = _fused(data)
    so = session_options(threads, spinning, library)
    if profile_prefix:
        so.enable_profiling = True
        so.profile_file_prefix = str(profile_prefix)
    from tsp3d.runtime.ort_int8 import session_kwargs_for

    session_kwargs = session_kwargs_for(data, session_kwargs)  # INT8 graphs: dense layers as int8 GEMMs
    try:
        sess = ort.InferenceSession(data, sess_options=so, providers=list(providers), **session_kwargs)
    except Exception as e:  # onnxruntime's own exception types (Fail, InvalidGraph, NotImplemented, ...)
        raise _load_failure(e, model) from e
    sess.tsp3d_attention = info
    return sess


def session_attention(session) -> dict:
    """{"form": "fused" | "plain" | "none" (no attention), "fused_blocks": n, ...} of a ``make_session`` session."""
    return getattr(session, "tsp3d_attention", {"form": "plain", "fused_blocks": 0})


def run(session, feeds: dict, output_names=None) -> list:
    """``session.run`` with the tsp3d ops' errors as typed exceptions: ``CapacityError`` when an op went over its
    capacity, ``SparseInputError`` for other bad input to a tsp3d op (the message names the node); anything else
    propagates unchanged."""
    try:
        return session.run(output_names, feeds)
    except Exception as e:
        msg = str(e)
        at = msg.find("tsp3d::")
        if at < 0:
            raise
        detail = msg[at:].strip()
        if "over its capacity" in detail:
            raise CapacityError(detail, hint="raise the node's capacity (model config 'capacities', "
                                             "tsp3d export --capacity)") from e
        raise SparseInputError(detail) from e
