"""One tsp3d node in ONNX Runtime with libtsp3d_ort.so, for the op tests (test_ort_ops.py, test_ort_op_errors.py)."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from tsp3d.export import opset_spec as spec
from tsp3d.utils.libraries import find_library

requires_ort = pytest.mark.skipif(find_library("ort") is None,
                                  reason="libtsp3d_ort.so not built (scripts/build_plugins.sh)")

ONNX_TYPE = {torch.float32: TensorProto.FLOAT, torch.float16: TensorProto.FLOAT16, torch.int32: TensorProto.INT32,
             torch.int8: TensorProto.INT8}


def run_op(op: str, inputs: dict, n_out: int = 1, threads: int | None = None, node_name: str = "node0",
           constants: tuple = (), **attrs):
    """Run one tsp3d node on torch inputs; return torch outputs. An input given as None is absent: left out of the
    node when trailing (as the exporter does, docs/opset.md), else given the empty name. Inputs named in
    ``constants`` are initializers (as exported weights are) instead of graph inputs."""
    from onnx import numpy_helper

    from tsp3d.runtime.ort_session import make_session

    names = [n if t is not None else "" for n, t in inputs.items()]
    while names and names[-1] == "":
        names.pop()
    outs = [f"out{i}" for i in range(n_out)]
    node = helper.make_node(op, names, outs, domain=spec.DOMAIN, name=node_name, **attrs)
    graph = helper.make_graph(
        [node], op,
        [helper.make_tensor_value_info(n, ONNX_TYPE[t.dtype], list(t.shape)) for n, t in inputs.items()
         if t is not None and n not in constants],
        [onnx.ValueInfoProto(name=o) for o in outs],  # types and shapes come from the op
        [numpy_helper.from_array(inputs[n].numpy(), n) for n in constants])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid(spec.DOMAIN, spec.VERSION)])
    sess = make_session(model, threads=threads)
    feed = {n: t.numpy() for n, t in inputs.items() if t is not None and n not in constants}
    return [torch.from_numpy(np.asarray(v)) for v in sess.run(None, feed)]


def assert_close(out, ref, tol):
    assert out.dtype == ref.dtype
    torch.testing.assert_close(out.float(), ref.float(), rtol=tol.rtol, atol=tol.atol, equal_nan=True)


@pytest.fixture(scope="module", autouse=True)
def _torch_one_thread():
    """See test_cpu_kernels.py: the reference's small torch ops run faster on one thread on a loaded machine."""
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)
