"""Sessions that compose (issue 14, item 5): libtsp3d_ort.so runs its parallel loops on ONNX Runtime's own intra-op
pool (KernelContext_ParallelFor), not on a private process-wide pool. Two sessions in one process run at the same
time with correct (bit-identical) results and no deadlock, and running a session starts no thread of ours.
"""
from __future__ import annotations

import os
import threading

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from test_cpu_kernels import random_coords
from tsp3d.export import opset_spec as spec
from tsp3d.utils.libraries import find_library

pytestmark = pytest.mark.skipif(find_library("ort") is None,
                                reason="libtsp3d_ort.so not built (scripts/build_plugins.sh)")

CIN, COUT = 32, 64


def conv_graph(seed: int = 0) -> onnx.ModelProto:
    """coords -> KernelMap -> SparseConv (FP32) and QuantizeLinear -> SparseConvInt8: enough rows that every
    kernel splits its work into many chunks."""
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((27, CIN, COUT)) * 0.1).astype(np.float32)
    wq = rng.integers(-127, 128, (27, CIN, COUT), dtype=np.int8)
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(wq, "wq"),
             numpy_helper.from_array(np.full((COUT,), 0.01, np.float32), "ws"),
             numpy_helper.from_array(np.array(0.05, np.float32), "s"),
             numpy_helper.from_array(np.array(0, np.int8), "z")]
    nodes = [
        helper.make_node("KernelMap", ["coords", "coords"], ["nbr"], domain=spec.DOMAIN, name="km", kernel_size=3,
                         offset_stride=1),
        helper.make_node("SparseConv", ["feats", "nbr", "w"], ["y"], domain=spec.DOMAIN, name="conv", activation=1),
        helper.make_node("QuantizeLinear", ["feats", "s", "z"], ["fq"], name="q"),
        helper.make_node("SparseConvInt8", ["fq", "s", "nbr", "wq", "ws"], ["yq"], domain=spec.DOMAIN, name="conv8"),
    ]
    graph = helper.make_graph(
        nodes, "convs",
        [helper.make_tensor_value_info("coords", TensorProto.INT32, ["N", 4]),
         helper.make_tensor_value_info("feats", TensorProto.FLOAT, ["N", CIN])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", COUT]),
         helper.make_tensor_value_info("yq", TensorProto.FLOAT, ["N", COUT])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                   helper.make_opsetid(spec.DOMAIN, spec.VERSION)])


def feeds(seed: int) -> dict:
    coords = random_coords(6000, extent=14, seed=seed)
    g = torch.Generator().manual_seed(seed)
    return {"coords": coords.numpy(), "feats": torch.randn((coords.shape[0], CIN), generator=g).numpy()}


def thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs /proc (Linux)")
def test_running_a_session_starts_no_thread_of_ours():
    from tsp3d.runtime.ort_session import make_session

    sess = make_session(conv_graph(), threads=2)
    f = feeds(1)
    before = thread_count()  # ORT's intra-op pool exists from session creation
    sess.run(None, f)
    sess.run(None, f)
    assert thread_count() == before


def test_two_sessions_run_concurrently_with_the_same_results():
    from tsp3d.runtime.ort_session import make_session

    model = conv_graph()
    sessions = [make_session(model, threads=1), make_session(model, threads=2)]
    inputs = [feeds(s) for s in (2, 3)]
    expected = [[o.copy() for o in sessions[0].run(None, f)] for f in inputs]  # one session, one after the other
    results, errors = [[] for _ in sessions], []

    def work(i: int) -> None:
        try:
            for r in range(6):
                results[i].append(sessions[i].run(None, inputs[(i + r) % 2]))
        except Exception as e:  # reported below: a failure in a thread must fail the test
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "sessions deadlocked (still running after 120 s)"
    assert not errors, errors
    for i in range(2):
        for r, out in enumerate(results[i]):
            for got, want in zip(out, expected[(i + r) % 2]):
                assert np.array_equal(got, want)  # deterministic kernels: the same bits whatever runs alongside
