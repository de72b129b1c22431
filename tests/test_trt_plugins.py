"""TensorRT plugin library (the robot runtime's tsp3d_infer: test_trt_infer.py).

* CPU (always, once built): the C++ glue tests (plugins/trt/tests: shapes and size-tensor bounds through a fake
  IExprBuilder, formats, types, field round trips, attribute/schema errors), each creator against the op table of
  export/opset_spec.py, host waits per plugin call, the creators' table of check-engine.
* TensorRT (skipped where ``import tensorrt`` fails, i.e. everywhere here): one-node ONNX per op, built into an
  engine with libtsp3d_trt.so, run, compared with the PyTorch reference.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from plugin_builds import build_file, built_binary


@pytest.fixture(scope="module")
def glue_test() -> Path:
    return built_binary("tsp3d_trt_glue_test", "TensorRT plugin glue")


# ---------------------------------------------------------------------------------------------- glue (CPU)


def test_plugin_glue(glue_test):
    r = subprocess.run([str(glue_test)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all tests passed" in r.stdout and "FAIL" not in r.stdout


def _valid_value(a):
    """A value the opset allows, different from the default where possible."""
    if a.choices:
        return next((c for c in a.choices if c != a.default), a.choices[0])
    lo = a.min if a.min is not None else 0
    if a.type == "float":
        return float(lo) + 0.5
    v = lo + 1 if (a.exclusive_min or a.default == lo) else lo
    if a.multiple_of:
        v = -(-v // a.multiple_of) * a.multiple_of
    return v


def _invalid_values(a) -> list:
    """Values the opset refuses that an int32/float32 plugin field can carry."""
    bad = []
    if a.choices:
        bad += [max(a.choices) + 1, min(a.choices) - 1]
    if a.min is not None:
        bad.append(a.min if a.exclusive_min else (a.min - 1 if a.type == "int" else a.min - 0.5))
    if a.max is not None and a.max < 2**31 - 1:
        bad.append(a.max + 1)
    if a.multiple_of:
        bad.append(_valid_value(a) + 1)
    return bad


def _spec_text() -> str:
    from tsp3d.export import opset_spec as spec

    lines = []
    for op in spec.OPS:
        lines.append(f"op {op.name} {len(op.attributes)}")
        for a in op.attributes:
            bad = ",".join(str(v) for v in _invalid_values(a)) or "-"
            default = "-" if a.default is None else str(a.default)
            lines.append(f"attr {a.name} {a.type} {int(a.required)} {default} {_valid_value(a)} {bad}")
    return "\n".join(lines) + "\n"


def test_creators_match_the_opset_table(glue_test, tmp_path):
    try:
        text = _spec_text()
    except ImportError as e:
        pytest.skip(f"export/opset_spec.py not importable yet: {e}")
    spec_file = tmp_path / "opset_spec.txt"
    spec_file.write_text(text)
    r = subprocess.run([str(glue_test), "--check-spec", str(spec_file)], capture_output=True, text=True, timeout=120)
    assert "PASS check_spec" in r.stdout, r.stdout + r.stderr
    assert r.returncode == 0, r.stdout + r.stderr


def test_spec_check_catches_a_wrong_default(glue_test, tmp_path):
    """The spec check can fail: a table whose Prune min_keep default differs from the plugin's is refused."""
    try:
        text = _spec_text()
    except ImportError as e:
        pytest.skip(f"export/opset_spec.py not importable yet: {e}")
    lines = [ln.replace("attr min_keep int 0 1 ", "attr min_keep int 0 3 ") for ln in text.splitlines()]
    assert lines != text.splitlines()
    spec_file = tmp_path / "wrong.txt"
    spec_file.write_text("\n".join(lines) + "\n")
    r = subprocess.run([str(glue_test), "--check-spec", str(spec_file)], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "FAIL check_spec" in r.stdout
    assert "min_keep" in r.stderr


# ---------------------------------------------------------------------------------------------- host waits (CPU)

SIZE_TENSOR_OPS = {"Voxelize", "CoordsDown", "CoordsUp", "Prune", "AppendMissing"}


def _waits_per_call() -> dict:
    path = built_binary("tsp3d_trt_sync_test")
    r = subprocess.run([str(path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "all tests passed" in r.stdout, r.stdout + r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("waits_per_call "))
    return json.loads(line[len("waits_per_call "):])


def test_only_size_tensor_ops_wait_for_the_device():
    """Each plugin's enqueue on a fake device (plugins/trt/tests/sync_test.cpp): deferred errors, one wait per
    size-tensor op, none elsewhere."""
    waits = _waits_per_call()
    assert set(waits) == {"Voxelize", "CoordsDown", "CoordsUp", "KernelMap", "SparseConv", "SparseConvInt8",
                          "SparseMaxPool", "Lookup", "Prune", "AppendMissing"}
    assert {op: n for op, n in waits.items() if n} == {op: 1 for op in SIZE_TENSOR_OPS}


def host_waits_per_forward(proto, waits: dict) -> dict:
    """Host waits of one forward of ``proto``: before (every plugin waited), after (the measured waits per call, plus
    the runtime's one read of deferred failures per inference)."""
    ops = [n.op_type for n in proto.graph.node if n.domain == "tsp3d"]
    return {"plugins": len(ops), "before": len(ops), "after": sum(waits[op] for op in ops) + 1}


@pytest.mark.slow
def test_host_waits_per_forward_of_the_exported_graph():
    import onnx

    from test_export_shared import shared_bundle

    proto = onnx.load(str(shared_bundle() / "model.onnx"), load_external_data=False)
    n = host_waits_per_forward(proto, _waits_per_call())
    size_ops = sum(1 for node in proto.graph.node if node.domain == "tsp3d" and node.op_type in SIZE_TENSOR_OPS)
    assert n["after"] == size_ops + 1 and n["after"] < n["before"] / 3, n


def test_creators_table_is_in_sync_with_the_library():
    """tsp3d check-engine reads tsp3d/engine/data/trt_plugin_creators.json: it must be getCreators' output."""
    from tsp3d.engine.plugin_table import TABLE

    path = built_binary("tsp3d_trt_dump_creators")
    r = subprocess.run([str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == json.loads(TABLE.read_text()), f"regenerate: {path} > {TABLE}"


# ---------------------------------------------------------------------------------------------- TensorRT


class TrtOpRunner:
    """Builds a one-node ONNX graph of a tsp3d op into an engine (strongly typed, the plugin library loaded through
    TensorRT's registry) and runs it on CUDA tensors; data-dependent outputs come through an IOutputAllocator."""

    def __init__(self, trt, lib: Path):
        self.trt = trt
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.registry = trt.get_plugin_registry()
        self.handle = self.registry.load_library(str(lib))
        assert self.handle is not None, f"TensorRT could not load {lib}"

    def model(self, op: str, inputs: dict, outputs: list, attrs: dict) -> bytes:
        from onnx import TensorProto, helper

        from tsp3d.export import opset_spec as spec

        elem = {torch.float32: TensorProto.FLOAT, torch.float16: TensorProto.FLOAT16, torch.int32: TensorProto.INT32,
                torch.int8: TensorProto.INT8}
        float_in = next((t.dtype for t in inputs.values() if t.is_floating_point()), torch.float32)
        out_types = {o.name: (elem[float_in] if o.type == "T" else {spec.INT32: TensorProto.INT32,
                                                                     spec.FLOAT: TensorProto.FLOAT}[o.type])
                     for o in spec.get(op).outputs}
        graph = helper.make_graph(
            [helper.make_node(op, list(inputs), outputs, domain="tsp3d", **attrs)], f"one_{op}",
            [helper.make_tensor_value_info(n, elem[t.dtype], list(t.shape)) for n, t in inputs.items()],
            [helper.make_tensor_value_info(n, out_types[n], None) for n in outputs])
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("tsp3d", 1)])
        return m.SerializeToString()

    def run(self, op: str, inputs: dict, outputs: list, **attrs) -> dict:
        trt = self.trt
        builder = trt.Builder(self.logger)
        network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
        parser = trt.OnnxParser(network, self.logger)
        if not parser.parse(self.model(op, inputs, outputs, attrs)):
            raise RuntimeError("; ".join(str(parser.get_error(i)) for i in range(parser.num_errors)))
        config = builder.create_builder_config()
        profile = builder.create_optimization_profile()
        for name, t in inputs.items():
            profile.set_shape(name, tuple(t.shape), tuple(t.shape), tuple(t.shape))
        config.add_optimization_profile(profile)
        plan = builder.build_serialized_network(network, config)
        if plan is None:
            raise RuntimeError(f"engine build failed for {op}")
        engine = trt.Runtime(self.logger).deserialize_cuda_engine(plan)
        ctx = engine.create_execution_context()
        dev = {n: t.cuda().contiguous() for n, t in inputs.items()}
        for n, t in dev.items():
            ctx.set_input_shape(n, tuple(t.shape))
            ctx.set_tensor_address(n, t.data_ptr())

        class Outputs(trt.IOutputAllocator):
            def __init__(self):
                trt.IOutputAllocator.__init__(self)
                self.buffers, self.shapes = {}, {}

            def reallocate_output(self, name, memory, size, alignment):
                self.buffers[name] = torch.empty((max(int(size), 1),), dtype=torch.uint8, device="cuda")
                return self.buffers[name].data_ptr()

            def reallocate_output_async(self, name, memory, size, alignment, stream):
                return self.reallocate_output(name, memory, size, alignment)

            def notify_shape(self, name, shape):
                self.shapes[name] = tuple(shape)

        alloc = Outputs()
        for n in outputs:
            ctx.set_output_allocator(n, alloc)
        stream = torch.cuda.current_stream()
        if not ctx.execute_async_v3(stream.cuda_stream):
            raise RuntimeError(f"inference failed for {op}")
        stream.synchronize()
        to_torch = {trt.float32: torch.float32, trt.float16: torch.float16, trt.int32: torch.int32,
                    trt.int8: torch.int8}
        result = {}
        for n in outputs:
            dtype, shape = to_torch[engine.get_tensor_dtype(n)], alloc.shapes[n]
            count = int(np.prod(shape)) if shape else 1
            nbytes = count * torch.empty((), dtype=dtype).element_size()
            result[n] = alloc.buffers[n][:nbytes].view(dtype).reshape(shape).cpu()
        return result


@pytest.fixture(scope="module")
def trt_runner():
    trt = pytest.importorskip("tensorrt", reason="TensorRT is not installed")
    if not torch.cuda.is_available():
        pytest.skip("TensorRT tests need a CUDA device")
    lib = build_file("lib", "libtsp3d_trt.so")
    if lib is None:
        pytest.skip("libtsp3d_trt.so not built")
    return TrtOpRunner(trt, lib)


def _ref():
    from tsp3d.sparse import ops

    return ops


def _coords(n, extent, stride=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    xyz = torch.randint(-extent, extent, (n, 3), generator=g) * stride
    return torch.unique(torch.cat([torch.zeros((n, 1), dtype=torch.int64), xyz], 1), dim=0).to(torch.int32)


def _tol(op, output, dtype):
    from tsp3d.export import opset_spec as spec

    t = spec.get(op).tolerance(output, spec.FLOAT16 if dtype == torch.float16 else spec.FLOAT)
    return dict(rtol=t.rtol, atol=t.atol)


def test_trt_voxelize(trt_runner):
    pts = torch.rand((2000, 6)) * 4 - 2
    out = trt_runner.run("Voxelize", {"points": pts}, ["coords", "first"], voxel_size=0.1, batch=0, capacity=2000)
    coords, first = _ref().voxelize(pts, 0.1, 0, 2000)
    assert torch.equal(out["coords"], coords) and torch.equal(out["first"], first)


@pytest.mark.parametrize("op,stride", [("CoordsDown", 1), ("CoordsDown", 4), ("CoordsUp", 2), ("CoordsUp", 8)])
def test_trt_coords_resample(trt_runner, op, stride):
    c = _coords(300, 40, stride)
    out = trt_runner.run(op, {"coords": c}, ["out_coords"], stride=stride, capacity=27 * 300)
    ref = _ref().coords_down(c, stride, 0) if op == "CoordsDown" else _ref().coords_up(c, stride, 0)
    assert torch.equal(out["out_coords"], ref)


@pytest.mark.parametrize("k,transposed", [(3, 0), (2, 0), (1, 0), (3, 1)])
def test_trt_kernel_map(trt_runner, k, transposed):
    c = _coords(400, 12, 2)
    out_c = _ref().coords_up(c, 2, 0) if transposed else _ref().coords_down(c, 2, 0)
    s = 1 if transposed else 2
    out = trt_runner.run("KernelMap", {"in_coords": c, "out_coords": out_c}, ["nbr"], kernel_size=k,
                         offset_stride=s, transposed=transposed)
    assert torch.equal(out["nbr"], _ref().kernel_map(c, out_c, k, s, bool(transposed)))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("bias", [True, False])
def test_trt_sparse_conv(trt_runner, dtype, bias):
    c = _coords(500, 10)
    nbr = _ref().kernel_map(c, c, 3, 1, False)
    feats = torch.randn((c.shape[0], 32)).to(dtype)
    w = (torch.randn((27, 32, 48)) * 0.1).to(dtype)
    inputs = {"feats": feats, "nbr": nbr, "weight": w}
    b = None
    if bias:
        b = torch.randn(48).to(dtype)
        inputs["bias"] = b
    out = trt_runner.run("SparseConv", inputs, ["out"], activation=1)
    ref = _ref().sparse_conv(feats.float(), nbr, w.float(), None if b is None else b.float(), 1).to(dtype)
    torch.testing.assert_close(out["out"], ref, **_tol("SparseConv", "out", dtype))


def test_trt_sparse_conv_int8(trt_runner):
    c = _coords(300, 8)
    nbr = _ref().kernel_map(c, c, 3, 1, False)
    feats = torch.randint(-127, 128, (c.shape[0], 32), dtype=torch.int8)
    w = torch.randint(-127, 128, (27, 32, 16), dtype=torch.int8)
    fs, ws, b = torch.tensor(0.02), torch.rand(16) * 0.01, torch.randn(16)
    out = trt_runner.run("SparseConvInt8", {"feats": feats, "feats_scale": fs, "nbr": nbr, "weight": w,
                                            "weight_scale": ws, "bias": b}, ["out"], activation=0)
    acc = torch.zeros((nbr.shape[0], 16), dtype=torch.int64)
    for k in range(27):
        rows = (nbr[:, k] >= 0).nonzero().squeeze(1)
        acc[rows] += feats[nbr[rows, k].long()].long() @ w[k].long()
    ref = b + fs * ws * acc.float()
    torch.testing.assert_close(out["out"], ref, **_tol("SparseConvInt8", "out", torch.float32))


def test_trt_max_pool_lookup_prune_append(trt_runner):
    c = _coords(500, 10)
    down = _ref().coords_down(c, 1, 0)
    nbr = _ref().kernel_map(c, down, 2, 1, False)
    feats = torch.randn((c.shape[0], 16))
    out = trt_runner.run("SparseMaxPool", {"feats": feats, "nbr": nbr}, ["out"])
    assert torch.equal(out["out"], _ref().sparse_max_pool(feats, nbr))

    q = _coords(200, 12, seed=1)
    out = trt_runner.run("Lookup", {"query": q, "table": c}, ["idx"])
    assert torch.equal(out["idx"], _ref().lookup(q, c))

    scores = torch.randn(1000)
    out = trt_runner.run("Prune", {"scores": scores}, ["idx"], threshold=0.5, mode=1, min_keep=1)
    assert torch.equal(out["idx"], _ref().prune(scores, 0.5, 1, 1))
    out = trt_runner.run("Prune", {"scores": scores}, ["idx"], threshold=9.0, mode=1, min_keep=5)
    assert torch.equal(out["idx"], _ref().prune(scores, 9.0, 1, 5))

    out = trt_runner.run("AppendMissing", {"coords_a": c, "coords_b": q}, ["coords", "idx_b"], capacity=700)
    coords, idx_b = _ref().append_missing(c, q, 700)
    assert torch.equal(out["coords"], coords) and torch.equal(out["idx_b"], idx_b)


def test_trt_capacity_overflow_is_an_error(trt_runner):
    c = _coords(300, 40)
    with pytest.raises(RuntimeError, match="inference failed"):
        trt_runner.run("CoordsUp", {"coords": c * 2}, ["out_coords"], stride=2, capacity=10)
