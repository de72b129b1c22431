"""``build_engine``: an exported graph -> a serialized TensorRT engine + its manifest (``tsp3d build-engine``).

TensorRT Python API >= 10.3, the IPluginV3 era: ``libtsp3d_trt.so`` is loaded into the plugin registry, the ONNX is
parsed into a **strongly typed** network (the precision is the graph's: FP32, the FP16 graph, or the INT8 Q/DQ
graph; TensorRT 11 has no precision flags), one optimization profile comes from the bundle's capacities
(``profile``), a workspace limit and a timing cache (read when present, written back after the build) are set.
TensorRT parses a temporary copy of the graph with the plugins' ``opt_rows`` hints (trt_hints) and the attention in
its TensorRT form (attention_chunks: scale on Q, large blocks split over queries); the bundle stays as exported.
The engine and ``<engine>.json`` (``manifest``) are written atomically and never over existing files without
``force``. Everything cheap (inputs, outputs, profile) is checked before TensorRT is touched; without TensorRT or a
GPU the error is one ``DependencyError`` line.

Not run on these machines (no GPU, no TensorRT): the tests drive this code with a fake ``tensorrt`` module.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from tsp3d.errors import DependencyError, InputFileError, ModelFormatError, Tsp3dError
from tsp3d.engine.attention_chunks import DEFAULT_CHUNK_MB
from tsp3d.runtime.engine_manifest import make_manifest, manifest_path
from tsp3d.engine.profile import ProfileOptions, derive_profile


def detect_gpu() -> dict:
    """``{"name", "compute_capability"}`` of CUDA device 0 (via torch.cuda), or ``DependencyError``."""
    try:
        import torch
    except ImportError as e:
        raise DependencyError(f"detecting the GPU needs PyTorch ({e})") from e
    if not torch.cuda.is_available():
        raise DependencyError("building a TensorRT engine needs a CUDA GPU; none is visible (torch.cuda)",
                              hint="build the engine on the target machine (engines are tied to its GPU)")
    major, minor = torch.cuda.get_device_capability(0)
    return {"name": torch.cuda.get_device_name(0), "compute_capability": f"{major}.{minor}"}


def import_tensorrt():
    """The tensorrt module (>= 10.3), or one ``DependencyError`` line saying what to do."""
    from tsp3d.runtime.tensorrt_runtime import import_tensorrt as runtime_import

    try:
        return runtime_import()
    except DependencyError as e:
        raise DependencyError(f"TensorRT engines need TensorRT >= 10.3 and its Python package: {e}",
                              hint="install TensorRT on the target (JetPack on Jetson) and build there; without "
                                   "TensorRT, run the bundle in ONNX Runtime (tsp3d bench-engine bundle/)") from e


def _recording_logger(trt):
    class Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.errors: list[str] = []
            self.warnings: list[str] = []

        def log(self, severity, msg):
            if severity in (trt.ILogger.Severity.ERROR, trt.ILogger.Severity.INTERNAL_ERROR):
                self.errors.append(str(msg))
            elif severity == trt.ILogger.Severity.WARNING:
                self.warnings.append(str(msg))

    return Logger()


def _source_facts(onnx_path: Path):
    """(proto without weights, graph metadata, bundle text max_length or None)."""
    import onnx

    from tsp3d.export.metadata import read_graph_metadata

    try:
        proto = onnx.load(str(onnx_path), load_external_data=False)
    except Exception as e:
        raise InputFileError(f"{onnx_path} is not a readable ONNX model: {e}") from e
    meta = read_graph_metadata(proto)
    if not isinstance(meta.get("capacities"), dict):
        raise ModelFormatError(f"{onnx_path} has no tsp3d.capacities metadata: not a graph written by tsp3d export")
    max_length = None
    bundle_manifest = onnx_path.parent / "manifest.json"
    if bundle_manifest.is_file():
        try:
            max_length = json.loads(bundle_manifest.read_text()).get("text_encoder", {}).get("max_length")
        except (OSError, json.JSONDecodeError):
            max_length = None
    return proto, meta, max_length


def _strongly_typed_flags(trt) -> int:
    """Network creation flags for a strongly typed network: TensorRT 11 always is one (its deprecated flag was
    renumbered to 0); 10.x needs STRONGLY_TYPED (from 10.3 on)."""
    if int(str(trt.__version__).split(".")[0]) >= 11:
        return 0
    flag = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    if flag is None:
        raise DependencyError(f"TensorRT {trt.__version__} has no strongly typed networks (needs >= 10.3)")
    return 1 << int(flag)


def _parse(trt, network, logger, onnx_path: Path):
    """The parser, which the caller keeps until the engine is built (it owns the network's weights)."""
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)] or logger.errors
        raise ModelFormatError(f"TensorRT could not parse {onnx_path.name}: " + "; ".join(errors[:3]),
                               hint="is libtsp3d_trt.so the one built for this TensorRT? (tsp3d doctor)")
    return parser


def _engine_graph(onnx_path: Path, profile: dict, chunk_mb: float):
    """(the graph TensorRT is given or None when it is the file as it is, opt_rows applied, attention Rewrite):
    the bundle's typical row counts as the plugins' ``opt_rows`` build hints (trt_hints.py), the attention's scale
    on Q and the blocks over the chunk budget split over queries (attention_chunks.py)."""
    import onnx

    from tsp3d.engine.attention_chunks import MIB, Rewrite, find_blocks, rewrite_for_tensorrt
    from tsp3d.engine.preflight import profile_maxima
    from tsp3d.engine.trt_hints import typical_rows, with_opt_hints

    typical = typical_rows(onnx_path)
    proto = onnx.load(str(onnx_path), load_external_data=False)
    rewrite = Rewrite(0)
    if not typical and (chunk_mb <= 0 or not find_blocks(proto.graph)):
        return None, {}, rewrite
    proto = onnx.load(str(onnx_path))  # with the weights: the copy is what TensorRT parses
    applied = {}
    if typical:
        proto, applied = with_opt_hints(proto, typical)
    proto, rewrite = rewrite_for_tensorrt(proto, profile_maxima(proto, profile), int(chunk_mb * MIB))
    return proto, applied, rewrite


def _parse_engine_graph(trt, network, logger, onnx_path: Path, scratch_dir: Path, profile: dict, chunk_mb: float):
    """(parser, opt_rows applied, attention Rewrite): parse the graph ``_engine_graph`` makes of ``onnx_path``,
    from a temporary file when it differs; the bundle's own graph is never changed."""
    import tempfile

    import onnx

    proto, applied, rewrite = _engine_graph(onnx_path, profile, chunk_mb)
    if proto is None:
        return _parse(trt, network, logger, onnx_path), applied, rewrite
    with tempfile.TemporaryDirectory(dir=scratch_dir, prefix=".tsp3d-hints-") as tmp:
        path = Path(tmp) / onnx_path.name
        onnx.save(proto, str(path))
        return _parse(trt, network, logger, path), applied, rewrite


def build_engine(onnx_path: str | Path, out: str | Path, *, options: ProfileOptions | None = None,
                 timing_cache: str | Path | None = None, workspace_mb: int | None = None, force: bool = False,
                 plugin: str | Path | None = None, trt=None, gpu: dict | None = None, progress=None,
                 attention_chunk_mb: float = DEFAULT_CHUNK_MB) -> dict:
    """Build ``out`` (and ``out``.json) from ``onnx_path``; returns the manifest.

    ``trt``/``gpu``: the tensorrt module and the GPU facts (default: ``import tensorrt``, ``detect_gpu()``).
    ``attention_chunk_mb``: attention blocks whose worst-case score tensor exceeds it are split over queries
    (attention_chunks.py; 0: the graph as exported). With chunks the engine runs on one stream
    (``max_aux_streams = 0``), so that the chunks run one after the other as check-engine counts them.
    """
    from tsp3d.utils.atomic import write_json
    from tsp3d.utils.libraries import LIBRARIES

    say = progress or (lambda msg: None)
    onnx_path, out = Path(onnx_path), Path(out)
    _check_request(onnx_path, out, workspace_mb, attention_chunk_mb, force)
    proto, meta, max_length = _source_facts(onnx_path)
    profile = derive_profile(proto, meta["capacities"], max_length, options)
    trt = trt if trt is not None else import_tensorrt()
    gpu = gpu if gpu is not None else detect_gpu()
    plugin, logger = _load_plugin(trt, plugin)
    t0 = time.perf_counter()
    builder = trt.Builder(logger)
    network = builder.create_network(_strongly_typed_flags(trt))
    say(f"parsing {onnx_path.name}")
    parser, opt_rows, rewrite = _parse_engine_graph(trt, network, logger, onnx_path, out.parent, profile,
                                                    attention_chunk_mb)  # keep the parser: it owns the weights
    names = _network_inputs(network, profile)
    cache_path = Path(timing_cache) if timing_cache is not None else None
    config, cache_in = _builder_config(trt, builder, names, profile, workspace_mb, rewrite, cache_path)
    say(f"building the engine (TensorRT {trt.__version__}, {gpu.get('name')})")
    serialized = builder.build_serialized_network(network, config)
    del parser
    if serialized is None:
        raise Tsp3dError("TensorRT failed to build the engine: " + ("; ".join(logger.errors[-3:]) or "no reason"))
    seconds = round(time.perf_counter() - t0, 1)
    _write_engine(out, serialized, config, cache_path, force)
    source_meta = {"graph": meta.get("graph"), "precision": meta.get("precision"),
                   "checkpoint_sha256": meta.get("checkpoint_sha256")}
    build = {"strongly_typed": True, "workspace_mb": workspace_mb, "timing_cache": str(cache_path) if cache_path
             else None, "timing_cache_reused": bool(cache_in), "seconds": seconds, "opt_rows": opt_rows,
             "attention": _attention_facts(rewrite, attention_chunk_mb), "warnings": logger.warnings[-20:]}
    manifest = make_manifest(engine=out, tensorrt_version=trt.__version__, gpu=gpu, plugin=plugin,
                             kernels=plugin.with_name(LIBRARIES["cuda"]), source=onnx_path, source_meta=source_meta,
                             profile=profile, build=build)
    write_json(manifest_path(out), manifest, force=force)
    return manifest


def _check_request(onnx_path: Path, out: Path, workspace_mb, attention_chunk_mb: float, force: bool) -> None:
    """The cheap checks, before anything is read or TensorRT is touched."""
    from tsp3d.utils.atomic import check_writable

    if not onnx_path.is_file():
        raise InputFileError(f"ONNX model {onnx_path} does not exist")
    if workspace_mb is not None and workspace_mb < 1:
        raise InputFileError(f"--workspace must be >= 1 MB, got {workspace_mb}")
    if not attention_chunk_mb >= 0:
        raise InputFileError(f"--attention-chunk-mb must be >= 0 (0: no chunks), got {attention_chunk_mb}")
    check_writable(out, force)
    check_writable(manifest_path(out), force)


def _load_plugin(trt, plugin: str | Path | None):
    """(plugin path, recording logger): ``libtsp3d_trt.so`` (the given one or the built one) in TensorRT's plugin
    registry."""
    from tsp3d.utils.libraries import require_library

    plugin = Path(plugin) if plugin is not None else require_library("trt")
    if not plugin.is_file():
        raise DependencyError(f"plugin library {plugin} does not exist")
    logger = _recording_logger(trt)
    if trt.get_plugin_registry().load_library(str(plugin)) is None:
        raise DependencyError(f"TensorRT could not load {plugin}: " + ("; ".join(logger.errors[-3:]) or "no reason"),
                              hint="rebuild it against this TensorRT (scripts/build_plugins.sh, TENSORRT_ROOT)")
    return plugin, logger


def _network_inputs(network, profile: dict) -> list[str]:
    names = [network.get_input(i).name for i in range(network.num_inputs)]
    if sorted(names) != sorted(profile):
        raise ModelFormatError(f"the parsed network's inputs {sorted(names)} differ from the graph's "
                               f"{sorted(profile)}")
    return names


def _builder_config(trt, builder, names: list[str], profile: dict, workspace_mb, rewrite, cache_path: Path | None):
    """(builder config, the timing cache's bytes read, b"" when none): workspace limit, one stream when the
    attention is chunked, the optimization profile, the timing cache."""
    config = builder.create_builder_config()
    if workspace_mb is not None:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mb) << 20)
    if rewrite.chunked:  # parallel chunks on auxiliary streams could not reuse each other's memory
        config.max_aux_streams = 0
    opt_profile = builder.create_optimization_profile()
    for name in names:
        p = profile[name]
        opt_profile.set_shape(name, tuple(p["min"]), tuple(p["opt"]), tuple(p["max"]))
    config.add_optimization_profile(opt_profile)
    cache_in = cache_path.read_bytes() if cache_path is not None and cache_path.is_file() else b""
    if cache_path is not None:
        cache = config.create_timing_cache(cache_in)
        if not config.set_timing_cache(cache, ignore_mismatch=False):
            raise ModelFormatError(f"timing cache {cache_path} was made by another TensorRT or GPU",
                                   hint="delete it (it is only a build-time speed-up)")
    return config, cache_in


def _write_engine(out: Path, serialized, config, cache_path: Path | None, force: bool) -> None:
    from tsp3d.utils.atomic import atomic_path, write_bytes

    with atomic_path(out, force) as tmp:
        tmp.write_bytes(bytes(memoryview(serialized)))
    if cache_path is not None:  # a cache is meant to be updated in place
        write_bytes(cache_path, bytes(memoryview(config.get_timing_cache().serialize())), force=True)


def _attention_facts(rewrite, chunk_mb: float) -> dict:
    """The attention form the engine was built from, for its manifest."""
    return {"chunk_mb": chunk_mb, "scale_on_q": len(rewrite.scale_moved),
            "chunked": {b.softmax: b.chunks for b in rewrite.chunked}, "max_aux_streams": 0 if rewrite.chunked
            else None}
