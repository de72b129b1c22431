"""``tsp3d build-engine``: profile derivation, the build flow against a recording fake of the TensorRT API, the
missing-TensorRT error, and (where TensorRT and a GPU exist) a real build."""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from tsp3d.engine.build import build_engine
from tsp3d.runtime.engine_manifest import check_engine, manifest_path
from tsp3d.engine.profile import ProfileOptions, derive_profile
from tsp3d.errors import DependencyError, InputFileError, ModelFormatError, OutputExistsError, Tsp3dError

CAPS = {"max_points": 20000, "voxels_s16": 8192, "voxels_s32": 4096, "voxels_s64": 2048}
GPU = {"name": "Fake Orin", "compute_capability": "8.7"}


def _graph(path: Path, kind: str = "single", caps=CAPS) -> Path:
    """A graph with the interface and metadata of an exported one (Identity nodes: only its inputs matter)."""
    if kind == "single":
        inputs = [helper.make_tensor_value_info("points", TensorProto.FLOAT, ["points", 6]),
                  helper.make_tensor_value_info("text_feats", TensorProto.FLOAT, [1, "tokens", 32]),
                  helper.make_tensor_value_info("text_mask", TensorProto.BOOL, [1, "tokens"])]
    else:
        inputs = [helper.make_tensor_value_info(f"v{i}_feats", TensorProto.FLOAT, [f"v{i}", 32]) for i in (1, 2, 3)]
    outs = [helper.make_tensor_value_info(f"o{i}", vi.type.tensor_type.elem_type, None) for i, vi in enumerate(inputs)]
    nodes = [helper.make_node("Identity", [vi.name], [f"o{i}"]) for i, vi in enumerate(inputs)]
    model = helper.make_model(helper.make_graph(nodes, "g", inputs, outs), opset_imports=[helper.make_opsetid("", 20)])
    for key, value in (("tsp3d.capacities", json.dumps(caps)), ("tsp3d.graph", kind), ("tsp3d.precision", "int8")):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path


# ---------------------------------------------------------------- profile


def test_profile_from_capacities(tmp_path):
    proto = onnx.load(str(_graph(tmp_path / "m.onnx")))
    p = derive_profile(proto, CAPS, text_max_length=512)
    assert p["points"] == {"min": [1, 6], "opt": [20000, 6], "max": [20000, 6]}
    assert p["text_feats"] == {"min": [1, 1, 32], "opt": [1, 16, 32], "max": [1, 512, 32]}
    assert p["text_mask"] == {"min": [1, 1], "opt": [1, 16], "max": [1, 512]}  # one symbol, one range
    head = derive_profile(onnx.load(str(_graph(tmp_path / "h.onnx", "head"))), CAPS)
    assert [head[f"v{i}_feats"]["max"][0] for i in (1, 2, 3)] == [8192, 4096, 2048]
    assert [head[f"v{i}_feats"]["opt"][0] for i in (1, 2, 3)] == [4096, 2048, 1024]


def test_profile_options_and_errors(tmp_path):
    proto = onnx.load(str(_graph(tmp_path / "m.onnx")))
    p = derive_profile(proto, CAPS, 64, ProfileOptions(min_voxels=100, opt_voxels=5000, max_voxels=10000,
                                                       opt_tokens=8, max_tokens=32))
    assert p["points"] == {"min": [100, 6], "opt": [5000, 6], "max": [10000, 6]}
    assert p["text_feats"]["opt"] == [1, 8, 32] and p["text_feats"]["max"] == [1, 32, 32]
    with pytest.raises(InputFileError, match="exceeds the capacity"):
        derive_profile(proto, CAPS, 64, ProfileOptions(max_voxels=30000))
    with pytest.raises(InputFileError, match="max_length"):
        derive_profile(proto, CAPS, 64, ProfileOptions(max_tokens=65))
    with pytest.raises(InputFileError, match="min <= opt <= max"):
        derive_profile(proto, CAPS, 64, ProfileOptions(min_voxels=500, opt_voxels=100))
    with pytest.raises(ModelFormatError, match="max_points"):
        derive_profile(proto, {"voxels_s16": 1}, 64)
    odd = helper.make_model(helper.make_graph([], "g", [helper.make_tensor_value_info("x", 1, ["rows"])], []))
    with pytest.raises(ModelFormatError, match="no known bound"):
        derive_profile(odd, CAPS)


# ---------------------------------------------------------------- a recording fake of the TensorRT API


class _Severity(Enum):
    INTERNAL_ERROR = 0
    ERROR = 1
    WARNING = 2
    INFO = 3


class _Input:
    def __init__(self, name):
        self.name = name


class _Network:
    def __init__(self, flags):
        self.flags, self.inputs = flags, []
        self.num_inputs = 0

    def get_input(self, i):
        return self.inputs[i]


class _Cache:
    def __init__(self, data):
        self.data = data

    def serialize(self):
        return b"CACHE:" + self.data


class _Config:
    def __init__(self):
        self.pools, self.profiles, self.cache = {}, [], None

    def set_memory_pool_limit(self, pool, size):
        self.pools[pool] = size

    def add_optimization_profile(self, p):
        self.profiles.append(p)

    def create_timing_cache(self, data):
        return _Cache(bytes(data))

    def set_timing_cache(self, cache, ignore_mismatch):
        self.cache = cache
        return True

    def get_timing_cache(self):
        return self.cache


class _Profile:
    def __init__(self):
        self.shapes = {}

    def set_shape(self, name, lo, opt, hi):
        self.shapes[name] = (lo, opt, hi)


class _Registry:
    def __init__(self, fake):
        self.fake = fake

    def load_library(self, path):
        self.fake.calls.append(("load_library", path))
        return object() if self.fake.load_ok else None


class _OnnxParser:
    fake: "FakeTrt"  # set per FakeTrt (see FakeTrt.__init__)
    num_errors = 0

    def __init__(self, network, logger):
        self.network, self.logger = network, logger

    def parse_from_file(self, path):
        fake = self.fake
        fake.calls.append(("parse", path))
        if not fake.parse_ok:
            self.num_errors = 1
            return False
        fake.parsed = onnx.load(path)  # what the parser saw (a hinted copy is deleted after parsing)
        for vi in fake.parsed.graph.input:
            self.network.inputs.append(_Input(vi.name))
        self.network.num_inputs = len(self.network.inputs)
        return True

    def get_error(self, i):
        return "In node 3 (SparseConvInt8): plugin not found"


class _Builder:
    fake: "FakeTrt"  # set per FakeTrt (see FakeTrt.__init__)

    def __init__(self, logger):
        self.logger = logger

    def create_network(self, flags):
        self.fake.network = _Network(flags)
        return self.fake.network

    def create_builder_config(self):
        self.fake.config = _Config()
        return self.fake.config

    def create_optimization_profile(self):
        return _Profile()

    def build_serialized_network(self, network, config):
        if not self.fake.build_ok:
            self.logger.log(_Severity.ERROR, "SparseConvInt8: no implementation for int8 input")
            return None
        return b"ENGINE" + json.dumps(config.profiles[0].shapes, sort_keys=True).encode()


class FakeTrt:
    """The parts of the TensorRT Python API that build_engine uses; records every call (``calls``) and keeps the
    last network, builder config and parsed graph."""

    __version__ = "10.3.0"

    class ILogger:
        Severity = _Severity

        def __init__(self):
            pass

    class NetworkDefinitionCreationFlag:
        STRONGLY_TYPED = 5

    class MemoryPoolType:
        WORKSPACE = "WORKSPACE"

    def __init__(self, parse_ok=True, build_ok=True, load_ok=True):
        self.calls, self.parse_ok, self.build_ok, self.load_ok = [], parse_ok, build_ok, load_ok
        self._registry = _Registry(self)
        # build_engine constructs these itself (trt.Builder(logger), trt.OnnxParser(...)): classes bound to this fake
        self.Builder = type("Builder", (_Builder,), {"fake": self})
        self.OnnxParser = type("OnnxParser", (_OnnxParser,), {"fake": self})

    def get_plugin_registry(self):
        return self._registry


@pytest.fixture
def plugin(tmp_path):
    p = tmp_path / "libtsp3d_trt.so"
    p.write_bytes(b"plugin v1")
    return p


def test_build_flow_with_a_fake_tensorrt(tmp_path, plugin):
    src = _graph(tmp_path / "model.int8.onnx")
    (tmp_path / "manifest.json").write_text(json.dumps({"text_encoder": {"max_length": 40}}))
    cache = tmp_path / "timing.cache"
    cache.write_bytes(b"old")
    trt = FakeTrt()
    out = tmp_path / "out" / "model.engine"
    m = build_engine(src, out, timing_cache=cache, workspace_mb=256, plugin=plugin, trt=trt, gpu=GPU)
    assert trt.calls[0] == ("load_library", str(plugin)) and trt.calls[1] == ("parse", str(src))
    assert trt.network.flags == 1 << 5  # strongly typed: precision comes from the graph
    assert trt.config.pools == {"WORKSPACE": 256 << 20}
    shapes = trt.config.profiles[0].shapes
    assert shapes["points"] == ((1, 6), (20000, 6), (20000, 6))
    assert shapes["text_mask"] == ((1, 1), (1, 16), (1, 40))  # the bundle's text max_length bounds the tokens
    assert out.read_bytes().startswith(b"ENGINE") and cache.read_bytes() == b"CACHE:old"
    written = json.loads(manifest_path(out).read_text())
    assert written == m
    assert m["tensorrt_version"] == "10.3.0" and m["gpu"] == GPU and m["engine"]["file"] == "model.engine"
    assert m["source_onnx"]["precision"] == "int8" and m["build"]["timing_cache_reused"] is True
    assert m["profile"]["points"]["max"] == [20000, 6] and m["build"]["strongly_typed"] is True
    # The manifest now admits exactly this engine with this TensorRT and plugin.
    assert check_engine(out, tensorrt_version="10.3.0", plugin=plugin, compute_capability="8.7") == m
    with pytest.raises(OutputExistsError):
        build_engine(src, out, plugin=plugin, trt=FakeTrt(), gpu=GPU)
    build_engine(src, out, plugin=plugin, trt=FakeTrt(), gpu=GPU, force=True)


def test_typical_rows_become_opt_rows_hints(tmp_path, plugin):
    """The bundle's typical counts reach the plugins as ``opt_rows`` (capped by the capacity); the bundle's own
    graph is left as it is and the hinted copy does not outlive the build."""
    src = _graph(tmp_path / "model.onnx")
    proto = onnx.load(str(src))
    proto.graph.node.extend([
        helper.make_node("Prune", ["o0"], ["kept"], name="tgp1", domain="tsp3d", threshold=0.5, capacity=2048),
        helper.make_node("Prune", ["o0"], ["kept2"], name="cba", domain="tsp3d", threshold=0.5, capacity=512)])
    onnx.save(proto, str(src))
    typical = {"measured": True, "nodes": {"tgp1": {"op": "Prune", "median": 700, "max": 900, "capacity": 2048},
                                           "cba": {"op": "Prune", "median": 9000, "max": 9000, "capacity": 512}}}
    (tmp_path / "manifest.json").write_text(json.dumps({"typical_rows": typical}))
    trt = FakeTrt()
    m = build_engine(src, tmp_path / "model.engine", plugin=plugin, trt=trt, gpu=GPU)
    hints = {n.name: a.i for n in trt.parsed.graph.node for a in n.attribute if a.name == "opt_rows"}
    assert hints == {"tgp1": 700, "cba": 512} == m["build"]["opt_rows"]
    assert not any(a.name == "opt_rows" for n in onnx.load(str(src)).graph.node for a in n.attribute)
    assert not list(tmp_path.glob(".tsp3d-hints-*"))


def _attention_graph(path: Path) -> Path:
    """A head-kind graph with one attention over the v1 rows: [v1, v1] scores, 256 MiB float32 at v1 = 8192."""
    proto = onnx.load(str(_graph(path, "head")))
    proto.graph.node.extend([
        helper.make_node("Transpose", ["v1_feats"], ["kt"], name="kt", perm=[1, 0]),
        helper.make_node("MatMul", ["v1_feats", "kt"], ["qk"], name="qk"),
        helper.make_node("Mul", ["qk", "scale"], ["scaled"], name="scale"),
        helper.make_node("Softmax", ["scaled"], ["p"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["p", "v1_feats"], ["att"], name="pv")])
    proto.graph.initializer.append(helper.make_tensor("scale", TensorProto.FLOAT, [], [0.25]))
    proto.graph.output.append(helper.make_tensor_value_info("att", TensorProto.FLOAT, ["v1", 32]))
    onnx.save(proto, str(path))
    return path


def test_attention_over_the_chunk_budget_is_split_for_tensorrt(tmp_path, plugin):
    """The parser sees the attention split over queries (engine/attention_chunks.py), the engine runs on one
    stream, the manifest says so; the bundle's graph stays as exported and no temporary copy is left."""
    src = _attention_graph(tmp_path / "head.onnx")
    before = onnx.load(str(src))
    trt = FakeTrt()
    m = build_engine(src, tmp_path / "head.engine", plugin=plugin, trt=trt, gpu=GPU, attention_chunk_mb=64)
    ops = [n.op_type for n in trt.parsed.graph.node]
    assert ops.count("Softmax") == 4 and ops.count("Slice") == 4 and "Concat" in ops
    assert trt.calls[1][1] != str(src) and trt.config.max_aux_streams == 0
    assert m["build"]["attention"] == {"chunk_mb": 64, "scale_on_q": 1, "chunked": {"softmax": 4},
                                       "max_aux_streams": 0}
    assert onnx.load(str(src)) == before and not list(tmp_path.glob(".tsp3d-hints-*"))
    trt = FakeTrt()
    m = build_engine(src, tmp_path / "plain.engine", plugin=plugin, trt=trt, gpu=GPU, attention_chunk_mb=0)
    assert trt.calls[1] == ("parse", str(src)) and not hasattr(trt.config, "max_aux_streams")
    assert m["build"]["attention"]["chunked"] == {} and m["build"]["attention"]["scale_on_q"] == 0
    with pytest.raises(InputFileError, match="attention-chunk-mb"):
        build_engine(src, tmp_path / "bad.engine", plugin=plugin, trt=FakeTrt(), gpu=GPU, attention_chunk_mb=-1)


def test_build_errors_are_typed(tmp_path, plugin):
    src = _graph(tmp_path / "model.onnx")
    with pytest.raises(ModelFormatError, match="could not parse.*plugin not found"):
        build_engine(src, tmp_path / "a.engine", plugin=plugin, trt=FakeTrt(parse_ok=False), gpu=GPU)
    with pytest.raises(Tsp3dError, match="failed to build.*no implementation"):
        build_engine(src, tmp_path / "b.engine", plugin=plugin, trt=FakeTrt(build_ok=False), gpu=GPU)
    with pytest.raises(DependencyError, match="could not load"):
        build_engine(src, tmp_path / "c.engine", plugin=plugin, trt=FakeTrt(load_ok=False), gpu=GPU)
    assert not any(tmp_path.glob("*.engine*"))  # nothing half-written
    with pytest.raises(InputFileError, match="does not exist"):
        build_engine(tmp_path / "none.onnx", tmp_path / "d.engine", trt=FakeTrt(), gpu=GPU)
    bare = tmp_path / "bare.onnx"
    onnx.save(helper.make_model(helper.make_graph([], "g", [], [])), str(bare))
    with pytest.raises(ModelFormatError, match="tsp3d.capacities"):
        build_engine(bare, tmp_path / "e.engine", trt=FakeTrt(), gpu=GPU)


def _tensorrt_missing() -> bool:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return True
    return False


@pytest.mark.skipif(not _tensorrt_missing(), reason="TensorRT is installed here")
def test_cli_without_tensorrt_is_one_clear_line(tmp_path, capsys):
    from tsp3d.cli import main

    src = _graph(tmp_path / "model.onnx")
    code = main(["build-engine", str(src), "--out", str(tmp_path / "m.engine")])
    err = capsys.readouterr().err
    assert code == 3 and err.startswith("error: TensorRT engines need TensorRT >= 10.3") and "Traceback" not in err
    assert not (tmp_path / "m.engine").exists()
    # Bad input is reported before TensorRT is even looked for.
    code = main(["build-engine", str(src), "--out", str(tmp_path / "m.engine"), "--max-voxels", "999999"])
    assert code == 2 and "exceeds the capacity" in capsys.readouterr().err


@pytest.mark.tensorrt
@pytest.mark.gpu
@pytest.mark.slow
def test_real_build_of_the_shared_bundle(tmp_path):
    trt = pytest.importorskip("tensorrt")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from test_export_shared import shared_bundle

    out = tmp_path / "model.engine"
    m = build_engine(shared_bundle() / "model.onnx", out, workspace_mb=1024)
    assert out.stat().st_size > 0 and m["tensorrt_version"] == trt.__version__
    from tsp3d.utils.libraries import require_library

    check_engine(out, tensorrt_version=trt.__version__, plugin=require_library("trt"))
