"""INT8 vs FP32 on the sparse layer mix of ``base``: per layer, the GEMM rate of our SparseConv (FP32) and of
SparseConvInt8 on every int8 code path this CPU has, against the int8 GEMM ceiling measured in the same run.

The mix is recorded from one real forward (``layer_mix.py``, as ``sparse_ops.py`` does). Per layer (rulebook, Cin,
Cout) and backend: the time of one application of the rulebook, preallocated nothing (the op's own per-call work
included: weight packing, feature row sums). Useful GOP/s = 2 * pairs * Cin * Cout / time.

The ceiling is ONNX Runtime's ``MatMulInteger`` (MLAS; u8 activations x s8 weights, the weights an initializer so
that MLAS packs them once) at the same thread count: per layer on the layer's dense equivalent ``[pairs, Cin] x
[Cin, Cout]`` (the same multiply-adds without the gather), and over the suite's dense shapes; the *ceiling* is the
best of all of these. The FP32 dense rate of ``common.dense_gemm_gflops`` is measured alongside.

    python -m tsp3d.bench.int8_ops [--config base] [--threads 1 --clock thread] [--quick] [--out DIR]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from tsp3d.bench import layer_mix
from tsp3d.bench.common import GEMM_SHAPES, GEMM_SHAPES_QUICK, dense_gemm_gflops, set_clock, timeit, write_result
from tsp3d.bench.scenes import load_inputs
from tsp3d.bench.sparse_ops import WIDE, _cpp, torch_threads

NAME = "int8_ops"
TARGET_SHARE = 0.6  # of the int8 GEMM ceiling, layers with >= WIDE channels (issue 16)
# Dense int8 shapes of the ceiling besides each layer's own: the FP32 dense shapes and their 64-channel forms.
EXTRA_SHAPES = ((25000, 64, 64),)


def matmul_integer_session(k: int, n: int, threads: int, seed: int = 0):
    """ONNX Runtime session of ``MatMulInteger(A u8 [M, k], B s8 [k, n] initializer)``."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    b = np.random.default_rng(seed).integers(-127, 128, (k, n), dtype=np.int8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "B"], ["C"])], "int8_gemm",
        [helper.make_tensor_value_info("A", TensorProto.UINT8, ["M", k])],
        [helper.make_tensor_value_info("C", TensorProto.INT32, ["M", n])], [numpy_helper.from_array(b, "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def int8_gemm_gops(m: int, k: int, n: int, threads: int, repeat: int) -> float:
    """GOP/s (2 * m * k * n per call) of ORT MatMulInteger u8 x s8 on [m, k] x [k, n]."""
    sess = matmul_integer_session(k, n, threads)
    a = np.random.default_rng(1).integers(0, 256, (m, k), dtype=np.uint8)
    t = timeit(lambda: sess.run(None, {"A": a}), repeat=repeat, warmup=2, min_time=0.2)["median_s"]
    return 2.0 * m * k * n / t / 1e9


def bf16_gemm_gflops(threads: int, quick: bool) -> dict:
    """The best BF16 dense GEMM rate of torch.mm (oneDNN; AVX512-BF16 where the CPU has it) over the FP32 dense
    shapes: what a BF16 path could reach for the layers INT8 leaves in float (docs/int8.md)."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    rows = []
    try:
        for m, k, n in GEMM_SHAPES_QUICK if quick else GEMM_SHAPES:
            a, b = torch.randn(m, k).bfloat16(), torch.randn(k, n).bfloat16()
            t = timeit(lambda: torch.mm(a, b), repeat=3 if quick else 5, warmup=2, min_time=0.2)["median_s"]
            rows.append({"shape": [m, k, n], "gflops": 2.0 * m * k * n / t / 1e9})
    finally:
        torch.set_num_threads(old)
    return {"library": "torch.mm bfloat16", "gflops": max(r["gflops"] for r in rows), "shapes": rows}


def ceiling_shapes(threads: int, quick: bool) -> list[dict]:
    shapes = (GEMM_SHAPES_QUICK if quick else GEMM_SHAPES) + EXTRA_SHAPES
    return [{"library": "onnxruntime MatMulInteger u8s8", "shape": list(s),
             "gops": int8_gemm_gops(*s, threads, 3 if quick else 5)} for s in shapes]


@torch.no_grad()
def bench_layer(layer: layer_mix.Layer, m: layer_mix.RuleMap, cpp, threads: int, repeat: int,
                g: torch.Generator) -> dict:
    n_in = int(m.in_coords.shape[0])
    k = int(m.nbr.shape[1])
    feats = torch.randn((n_in, layer.cin), generator=g)
    weight = torch.randn((k, layer.cin, layer.cout), generator=g) * 0.05
    fq = torch.randint(-128, 128, (n_in, layer.cin), generator=g, dtype=torch.int8)
    wq = torch.randint(-127, 128, (k, layer.cin, layer.cout), generator=g, dtype=torch.int8)
    ws = torch.full((layer.cout,), 1e-3)
    gop = 2 * m.pairs * layer.cin * layer.cout / 1e9
    row = {"layer": layer.name, "map": layer.map_index, "cin": layer.cin, "cout": layer.cout, "count": layer.count,
           "pairs": m.pairs, "useful_gop": gop}
    runs = [("fp32", "auto", lambda: cpp.sparse_conv(feats, m.nbr, weight, None, 0))]
    runs += [(f"int8_{p}", p, lambda: cpp.sparse_conv_int8(fq, 0.01, m.nbr, wq, ws)) for p in cpp.int8_paths()]
    try:
        for name, path, fn in runs:
            cpp.set_int8_path(path)
            with torch_threads(1):
                t = timeit(fn, repeat=repeat, warmup=1)["median_s"]
            row[f"{name}_s"] = t
            row[f"{name}_gops"] = gop / t
    finally:
        cpp.set_int8_path("auto")
    row["int8_auto_path"] = cpp.int8_path()
    row["ceiling_gops"] = int8_gemm_gops(max(m.pairs, 1), layer.cin, layer.cout, threads, repeat)
    return row


def totals(layers: list[dict], ceiling: float, paths: list[str], auto: str) -> dict:
    """Whole-mix and wide-layer (>= WIDE channels) figures: time per backend, rates, shares of the ceiling."""
    out = {}
    for group, rows in (("mix", layers), ("wide", [r for r in layers if min(r["cin"], r["cout"]) >= WIDE])):
        if not rows:
            continue
        gop = sum(r["useful_gop"] * r["count"] for r in rows)
        entry = {"useful_gop": gop, "layers": len(rows)}
        for b in ["fp32"] + [f"int8_{p}" for p in paths]:
            t = sum(r[f"{b}_s"] * r["count"] for r in rows)
            entry[b] = {"s": t, "gops": gop / t, "share_of_ceiling": gop / t / ceiling}
        a = entry[f"int8_{auto}"]
        entry["int8_speedup_vs_fp32"] = entry["fp32"]["s"] / a["s"]
        entry["same_shape_ceiling_share"] = sum(r["useful_gop"] / r["ceiling_gops"] * r["count"] for r in rows) / a["s"]
        entry["min_layer_share"] = min(r[f"int8_{auto}_gops"] for r in rows) / ceiling
        out[group] = entry
    return out


def run(checkpoint, inputs, threads: int, quick: bool = False, out_dir=None, clock: str = "wall") -> dict:
    if clock == "thread" and threads != 1:
        raise ValueError("the thread clock needs threads=1 (all work on the calling thread)")
    cpp = _cpp(threads)
    if cpp is None:
        raise RuntimeError("libtsp3d_cpu.so is not built (scripts/build_plugins.sh)")
    torch.set_num_threads(threads)
    set_clock(clock)
    try:
        return _run(checkpoint, inputs, threads, quick, out_dir, clock, cpp)
    finally:
        set_clock("wall")


def _run(checkpoint, inputs, threads, quick, out_dir, clock, cpp) -> dict:
    from tsp3d.checkpoint import load_model
    from tsp3d.sparse import backend as sparse_backend

    dense = dense_gemm_gflops(threads, quick)
    bf16 = bf16_gemm_gflops(threads, quick)
    shapes = ceiling_shapes(threads, quick)
    model, ckpt = load_model(checkpoint)
    points, feats, mask = (torch.from_numpy(a) for a in load_inputs(inputs))
    old = sparse_backend.get_backend()
    sparse_backend.set_backend("cpp")
    try:
        maps, layers, _ = layer_mix.record(model, points, feats, mask)
    finally:
        sparse_backend.set_backend(old)
    g = torch.Generator().manual_seed(0)
    rows = [bench_layer(layer, maps[layer.map_index], cpp, threads, 2 if quick else 5, g) for layer in layers]
    best = max([s["gops"] for s in shapes] + [r["ceiling_gops"] for r in rows])
    paths, auto = cpp.int8_paths(), cpp.int8_path()
    result = {"title": "INT8 sparse convs: per-layer GEMM rate against the int8 GEMM ceiling",
              "config": ckpt.config.name, "points": int(points.shape[0]), "threads": threads, "clock": clock,
              "quick": quick, "dense_gemm": dense, "bf16_gemm": bf16, "int8_ceiling": {"gops": best, "shapes": shapes},
              "int8_paths": paths, "int8_auto_path": auto, "target_share": TARGET_SHARE, "layers": rows,
              "totals": totals(rows, best, paths, auto)}
    from tsp3d.bench.int8_markdown import int8_ops_markdown

    result["markdown"] = int8_ops_markdown(result)
    write_result(NAME + ("_quick" if quick else ""), result, out_dir)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="base")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--clock", choices=("wall", "thread"), default="wall",
                   help="thread: CPU time of the calling thread (needs --threads 1)")
    p.add_argument("--cache", default=None, help="benchmark model cache (default: build/bench)")
    p.add_argument("--out", default=None, help="result directory (default: build/bench/int8_ops)")
    a = p.parse_args()
    from tsp3d.bench.models import DEFAULT_CACHE, prepare

    bm = prepare(a.config, a.cache)
    r = run(bm.checkpoint, bm.inputs, a.threads, a.quick, out_dir=a.out or DEFAULT_CACHE / NAME, clock=a.clock)
    paths = ["fp32"] + [f"int8_{x}" for x in r["int8_paths"]]
    print(f"{'layer':<28} {'pairs':>7} " + " ".join(f"{x:>16}" for x in paths) + f" {'ceiling':>8}")
    for row in r["layers"]:
        print(f"{row['layer']:<28} {row['pairs']:>7} " + " ".join(f"{row[x + '_gops']:>16.1f}" for x in paths)
              + f" {row['ceiling_gops']:>8.1f}")
    w = r["totals"].get("wide", {})
    auto = f"int8_{r['int8_auto_path']}"
    print(f"int8 ceiling {r['int8_ceiling']['gops']:.1f} GOP/s, fp32 dense {r['dense_gemm']['gflops']:.1f} GFLOP/s")
    if w:
        print(f"wide layers: {auto} {w[auto]['gops']:.1f} GOP/s = {100 * w[auto]['share_of_ceiling']:.0f} % of the "
              f"ceiling (target {100 * TARGET_SHARE:.0f} %), x{w['int8_speedup_vs_fp32']:.2f} vs fp32")


if __name__ == "__main__":
    main()
