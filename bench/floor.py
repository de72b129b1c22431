"""The FLOP floor of one forward: its useful FLOPs (``flops.py``) at this machine's dense fp32 GEMM rate.

No runtime can do the forward's multiply-adds faster than the best dense GEMM on this machine does the same number
of them, so ``floor_s = useful GFLOP / dense GFLOP/s`` is a lower bound on its time (everything that is not a
multiply-add -- rulebooks, softmax, normalisation, memory traffic -- only adds to it). The suite compares ONNX
Runtime's end-to-end time with it, per kind of work as well (sparse convs against the profile's SparseConv nodes).
"""
from __future__ import annotations

import torch


@torch.no_grad()
def run(checkpoint, inputs, dense: dict, threads: int) -> dict:
    from tsp3d.bench.flops import count_forward
    from tsp3d.bench.scenes import load_inputs
    from tsp3d.checkpoint import load_model
    from tsp3d.sparse import backend as sparse_backend

    torch.set_num_threads(threads)
    model, ckpt = load_model(checkpoint)
    points, feats, mask = (torch.from_numpy(a) for a in load_inputs(inputs))
    old = sparse_backend.get_backend()
    sparse_backend.set_backend("cpp" if sparse_backend.cpp_available() else "reference")
    try:
        counted = count_forward(model, points, feats, mask)
    finally:
        sparse_backend.set_backend(old)
    rate = dense["gflops"]
    return {"config": ckpt.config.name, "points": int(points.shape[0]), "dense_gflops": rate,
            "useful_gflop": counted["total_gflop"], "by_kind_gflop": counted["by_kind_gflop"],
            "calls": counted["calls"], "counts": counted["counts"], "floor_s": counted["total_gflop"] / rate,
            "floor_by_kind_s": {k: v / rate for k, v in counted["by_kind_gflop"].items()},
            "sparse_convs": counted["sparse_convs"]}
