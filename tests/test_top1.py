"""The top-1 tie rule (tsp3d/model/top1.py): lowest index among the maxima, the same in PyTorch and ONNX Runtime.

The rule is written without ArgMax (whose tie order TensorRT does not promise); the exported form is run in ONNX
Runtime on crafted ties and compared with the reference, and checked against TensorRT's operator support.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tsp3d.model.top1 import first_argmax

TIES = [
    [1.0, 3.0, 3.0, 2.0, 3.0],  # three-way tie: 1
    [5.0, 5.0, 5.0, 5.0],  # all equal: 0
    [0.0, -1.0, 2.5, 2.5],  # tie at the end: 2
    [-math.inf, -math.inf],  # all -inf: 0
    [1.0, math.nan, 7.0, math.nan],  # NaN ranks first: 1
    [math.inf, 0.0, math.nan],  # NaN and +inf tie: the lower index, 0
    [4.0],
]
EXPECTED = [1, 0, 2, 0, 1, 0, 0]


def test_reference_rule():
    for values, want in zip(TIES, EXPECTED):
        got = first_argmax(torch.tensor(values))
        assert got.dtype == torch.int64 and got.shape == (1,) and int(got) == want, values


def test_matches_torch_argmax_without_ties_or_nan():
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        x = torch.randn(int(torch.randint(1, 500, (1,), generator=g)), generator=g)
        assert int(first_argmax(x)) == int(torch.argmax(x))


class _Top1(torch.nn.Module):
    def forward(self, scores):
        return first_argmax(scores * 1.0)


@pytest.fixture(scope="module")
def top1_onnx(tmp_path_factory):
    import onnx

    path = tmp_path_factory.mktemp("top1") / "top1.onnx"
    example = (torch.tensor([1.0, 3.0, 3.0, 2.0]),)
    n = torch.export.Dim("n", min=1)
    ep = torch.export.export(_Top1(), example, dynamic_shapes=({0: n},))
    program = torch.onnx.export(ep, example, dynamo=True, opset_version=20, input_names=["scores"],
                                output_names=["best"])
    onnx.save(program.model_proto, str(path))
    return path


def test_onnx_runtime_agrees_on_crafted_ties(top1_onnx):
    import onnx
    import onnxruntime as ort

    ops = {n.op_type for n in onnx.load(str(top1_onnx)).graph.node}
    assert "ArgMax" not in ops and {"ReduceMin", "Equal"} <= ops, ops
    sess = ort.InferenceSession(str(top1_onnx), providers=["CPUExecutionProvider"])
    for values, want in zip(TIES, EXPECTED):
        (got,) = sess.run(None, {"scores": np.asarray(values, dtype=np.float32)})
        assert got.tolist() == [want] == first_argmax(torch.tensor(values)).tolist(), values


def test_exported_rule_uses_only_ops_tensorrt_parses(top1_onnx):
    from tsp3d.engine.preflight import check

    report = check(top1_onnx, dims={"n": 100_000})
    for release, r in report.releases.items():
        assert not r["problems"], (release, [p.message for p in r["problems"]])
