"""TensorRT behind the runtime interface: serialized engines + ``libtsp3d_trt.so``.

Written against the TensorRT Python API >= 10.3 (IPluginV3 era): ``execute_async_v3`` with tensor addresses, and an
``IOutputAllocator`` for outputs whose shape depends on the data (the plugins' pruned voxel sets). Device memory
and the CUDA stream come from PyTorch (``torch.cuda``), so nothing beyond TensorRT and a CUDA build of torch is
needed. Engines are built elsewhere (``tsp3d build-engine``, trtexec); each engine's role is read from its input
names: ``points`` + text -> single graph, ``points`` -> backbone, levels + text -> head. Give the backbone and head
engines to pay the backbone once per scene.

Not run on these machines (no GPU, no TensorRT): constructing it without ``tensorrt`` raises ``DependencyError``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from tsp3d.errors import CapacityError, DependencyError, InputFileError, ModelFormatError, Tsp3dError
from tsp3d.runtime.base import GroundingResult, Runtime, TextInput

LEVELS = ("v1_coords", "v1_feats", "v2_coords", "v2_feats", "v3_coords", "v3_feats")
TEXT = ("text_feats", "text_mask")
OUTPUTS = ("center", "size", "score", "counts")


def import_tensorrt():
    try:
        import tensorrt as trt
    except ImportError as e:
        raise DependencyError(f"the TensorRT runtime needs the tensorrt Python package ({e})",
                              hint="install TensorRT >= 10.3 for this machine (JetPack on Jetson), or use "
                                   "--onnx with ONNX Runtime") from e
    major, minor = (int(x) for x in trt.__version__.split(".")[:2])
    if (major, minor) < (10, 3):
        raise DependencyError(f"TensorRT {trt.__version__} is too old: IPluginV3 engines need >= 10.3")
    return trt


def _torch_dtype(trt, dtype):
    import torch

    table = {trt.float32: torch.float32, trt.float16: torch.float16, trt.int32: torch.int32,
             trt.int64: torch.int64, trt.bool: torch.bool, trt.int8: torch.int8}
    if dtype not in table:
        raise ModelFormatError(f"engine tensor type {dtype} is not supported by this runtime")
    return table[dtype]


def _make_logger(trt):
    class RecordingLogger(trt.ILogger):
        """Keeps the errors (the plugins log capacity overflows and bad input with the node name)."""

        def __init__(self):
            trt.ILogger.__init__(self)
            self.errors: list[str] = []

        def log(self, severity, msg):
            if severity in (trt.ILogger.Severity.ERROR, trt.ILogger.Severity.INTERNAL_ERROR):
                self.errors.append(str(msg))

    return RecordingLogger()


def _make_allocator(trt):
    import torch

    class OutputAllocator(trt.IOutputAllocator):
        """Device buffers for data-dependent outputs, sized by TensorRT at enqueue time."""

        def __init__(self):
            trt.IOutputAllocator.__init__(self)
            self.buffers: dict[str, torch.Tensor] = {}
            self.shapes: dict[str, tuple] = {}

        def reallocate_output(self, tensor_name, memory, size, alignment):
            size = max(int(size), 1)  # a valid address even for an empty output
            buf = self.buffers.get(tensor_name)
            if buf is None or buf.numel() < size:
                buf = torch.empty(size, dtype=torch.uint8, device="cuda")  # caching allocator: 512-byte aligned
                self.buffers[tensor_name] = buf
            return buf.data_ptr()

        def reallocate_output_async(self, tensor_name, memory, size, alignment, stream):
            return self.reallocate_output(tensor_name, memory, size, alignment)

        def notify_shape(self, tensor_name, shape):
            self.shapes[tensor_name] = tuple(int(d) for d in shape)

    return OutputAllocator()


def plugin_error_reader(plugin: Path):
    """A function returning the plugin library's deferred failure as text (None when there was none).

    The plugins without a size tensor record their failures on the device instead of waiting for the GPU; the ones
    after the last size-tensor op of an inference are read here, once per inference (``tsp3d_trt_take_error``,
    plugins/trt/error_record.h). The library is the one TensorRT loaded: dlopen hands back the same handle.
    """
    import ctypes

    take = ctypes.CDLL(str(plugin)).tsp3d_trt_take_error
    take.argtypes, take.restype = [ctypes.c_char_p, ctypes.c_size_t], ctypes.c_int32

    def read() -> str | None:
        buf = ctypes.create_string_buffer(512)
        if take(buf, len(buf)) == 0:
            return None
        return buf.value.decode(errors="replace") or "a tsp3d plugin failed"

    return read


class _Engine:
    """One deserialized engine with its execution context."""

    def __init__(self, trt, runtime, logger, path: Path, take_error=lambda: None):
        if not path.is_file():
            raise InputFileError(f"engine {path} does not exist")
        self.trt, self.logger, self.path, self.take_error = trt, logger, path, take_error
        self.engine = runtime.deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise ModelFormatError(f"cannot deserialize {path}: {'; '.join(logger.errors[-3:]) or 'unknown error'}",
                                   hint="engines only load with the TensorRT version and plugin library they "
                                        "were built with; rebuild it on this machine")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        mode = trt.TensorIOMode.INPUT
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == mode]
        self.outputs = [n for n in names if self.engine.get_tensor_mode(n) != mode]
        ins = set(self.inputs)
        if ins == {"points", *TEXT}:
            self.role = "single"
        elif ins == {"points"}:
            self.role = "backbone"
        elif ins == {*LEVELS, *TEXT}:
            self.role = "head"
        else:
            raise ModelFormatError(f"{path}: unexpected engine inputs {sorted(ins)} (not a tsp3d graph)")

    def max_rows(self, name: str) -> int:
        """The largest dimension 0 the first optimization profile allows for input ``name``."""
        return int(self.engine.get_tensor_profile_shape(name, 0)[2][0])

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        ctx, alive, static = self.context, [], {}
        for name in self.inputs:
            dtype = _torch_dtype(self.trt, self.engine.get_tensor_dtype(name))
            t = torch.from_numpy(np.ascontiguousarray(feeds[name])).to(device="cuda", dtype=dtype)
            alive.append(t)
            if not ctx.set_input_shape(name, tuple(t.shape)):
                raise InputFileError(f"{self.path.name}: input {name} of shape {list(t.shape)} is outside the "
                                     f"engine's optimization profile", hint="rebuild the engine with a larger profile")
            ctx.set_tensor_address(name, t.data_ptr())
        allocator = _make_allocator(self.trt)
        for name in self.outputs:
            shape = tuple(ctx.get_tensor_shape(name))
            if any(d < 0 for d in shape):  # data-dependent: TensorRT asks the allocator during enqueue
                ctx.set_output_allocator(name, allocator)
            else:
                dtype = _torch_dtype(self.trt, self.engine.get_tensor_dtype(name))
                static[name] = torch.empty(shape, dtype=dtype, device="cuda")
                ctx.set_tensor_address(name, static[name].data_ptr())
        stream = torch.cuda.current_stream()
        self.logger.errors.clear()
        ok = ctx.execute_async_v3(stream.cuda_stream)
        stream.synchronize()
        late = self.take_error()  # a plugin failure after the last size-tensor op (read once per inference)
        if not ok or late:
            msg = "; ".join(self.logger.errors[-3:] + ([late] if late else [])) or "enqueue failed"
            if "capacity" in msg.lower():
                raise CapacityError(f"TensorRT: {msg}", hint="re-export with a larger --capacity and rebuild")
            raise Tsp3dError(f"TensorRT execution of {self.path.name} failed: {msg}")
        out = {name: t.cpu().numpy() for name, t in static.items()}
        for name in self.outputs:
            if name in static:
                continue
            dtype = _torch_dtype(self.trt, self.engine.get_tensor_dtype(name))
            shape = allocator.shapes[name]
            n = int(np.prod(shape)) if shape else 1
            raw = allocator.buffers[name]
            out[name] = raw[: n * torch.empty((), dtype=dtype).element_size()].view(dtype).reshape(shape).cpu().numpy()
        del alive
        return out


def check_engine_manifest(trt, engine: Path, plugin: Path, compute_capability: str | None) -> None:
    """An engine built by ``tsp3d build-engine`` has a manifest next to it (``model.engine.json``): refuse a
    mismatch of TensorRT version, plugin library or GPU with a clear message before TensorRT reads the file. Engines
    without one (trtexec) go straight to deserialization, whose failure ``_Engine`` reports."""
    from tsp3d.runtime.engine_manifest import check_engine, manifest_path

    if manifest_path(engine).is_file():
        check_engine(engine, tensorrt_version=trt.__version__, plugin=plugin, compute_capability=compute_capability)


class TensorRTRuntime(Runtime):
    name = "tensorrt"

    def __init__(self, engines: Sequence[str | Path], plugin_library: str | Path | None = None, bundle=None,
                 precision: str = "engine"):
        """``engines``: a single-graph engine, or a backbone and a head engine. ``bundle``: the export bundle
        (text encoder, capacities). ``precision``: a label for reports (the engine's types decide)."""
        trt = import_tensorrt()
        import torch

        if not torch.cuda.is_available():
            raise DependencyError("the TensorRT runtime needs a CUDA device (torch.cuda is not available)")
        from tsp3d.utils.libraries import require_library

        self.logger = _make_logger(trt)
        plugin = Path(plugin_library) if plugin_library else require_library("trt")
        capability = "{}.{}".format(*torch.cuda.get_device_capability(0))
        for p in engines:
            check_engine_manifest(trt, Path(p), plugin, capability)
        trt.get_plugin_registry().load_library(str(plugin))
        runtime = trt.Runtime(self.logger)
        take_error = plugin_error_reader(plugin)
        loaded = [_Engine(trt, runtime, self.logger, Path(p), take_error) for p in engines]
        self.engines = {e.role: e for e in loaded}
        if len(self.engines) != len(loaded):
            raise InputFileError(f"two engines with the same role: {[e.role for e in loaded]}")
        if "single" not in self.engines and not {"backbone", "head"} <= set(self.engines):
            raise InputFileError(f"need a single-graph engine or a backbone and a head engine, got "
                                 f"{sorted(self.engines)}")
        self.split = {"backbone", "head"} <= set(self.engines)
        self.precision = precision
        if bundle is not None:
            from tsp3d.runtime.manifest import Bundle

            self.bundle = bundle if isinstance(bundle, Bundle) else Bundle(bundle)
            text_dim, max_points, voxel_size = self.bundle.text_dim, self.bundle.max_points, self.bundle.voxel_size
        else:
            self.bundle = None
            first = self.engines.get("single") or self.engines["head"]
            text_dim = int(first.engine.get_tensor_shape("text_feats")[2])
            max_points = (self.engines.get("single") or self.engines["backbone"]).max_rows("points")
            voxel_size = None  # without the bundle the Voxelize plugin alone checks the coordinate range
        self._text = None
        super().__init__(text_dim, max_points, voxel_size)

    def _encode_scene(self, points: np.ndarray):
        if not self.split:
            return {"points": points}
        return self.engines["backbone"].run({"points": points})

    def _ground(self, levels: dict, text: TextInput) -> GroundingResult:
        engine = self.engines["head"] if self.split else self.engines["single"]
        out = engine.run({**levels, "text_feats": text.feats, "text_mask": text.mask})
        return GroundingResult.from_outputs(*(out[k] for k in OUTPUTS))

    def levels_numpy(self, levels: dict) -> list[np.ndarray]:
        if not self.split:
            raise InputFileError("a single-graph engine has no level tensors; give backbone and head engines")
        return [levels[k] for k in LEVELS]

    def encode_text(self, text: str) -> TextInput:
        if self.bundle is None:
            raise InputFileError("no bundle given: pass the export bundle (text encoder) or text features")
        if self._text is None:
            from tsp3d.runtime.text_encoder import BundleText

            self._text = BundleText(self.bundle)
        return self._text.encode(text)

    def close(self) -> None:
        self.engines.clear()
