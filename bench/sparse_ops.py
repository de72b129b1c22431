"""The sparse layer mix of the ``base`` TSP3D model on a room-like scene, per backend.

For every distinct layer (kind, channels, level) of the backbone and head: rulebook time (output set + kernel
map, on the reference ops and, when built, the C++ kernels) and the time of the rulebook application on each GEMM
backend: the PyTorch reference, spconv ``ConvAlgo.Native`` (CPU), and our C++ kernels (``libtsp3d_cpu.so``).
Useful GFLOP/s = 2 * pairs * Cin * Cout / time, against this machine's dense fp32 GEMM rate measured in the same
run. Totals weight each layer by how often the model runs it.

    python -m tsp3d.bench.sparse_ops [--points 50000] [--quick] [--out docs/bench]
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch

from tsp3d.bench.common import dense_gemm_gflops, timeit, write_result
from tsp3d.bench.scenes import room_points
from tsp3d.sparse import backend as sparse_backend
from tsp3d.sparse import ops
from tsp3d.sparse.offsets import kernel_volume


@dataclass
class Layer:
    name: str
    level: int  # input tensor stride in voxels
    kind: str  # "same" (k3 s1), "down" (k{1,2,3} s2), "up" (generative k3 s2), "pool"
    k: int
    cin: int
    cout: int
    count: int  # how many times one base forward runs this layer


# MinkResNet-34 (blocks 3-4-6-3, channels capped at 128) and the head's convs, by input stride (1 cm voxels).
BASE_MIX = [
    Layer("stem conv k3 s2", 1, "down", 3, 6, 64, 1),
    Layer("max-pool k2 s2", 2, "pool", 2, 64, 64, 1),
    Layer("layer1 conv k3 s2", 4, "down", 3, 64, 64, 1),
    Layer("layer1 downsample k1 s2", 4, "down", 1, 64, 64, 1),
    Layer("layer1 conv k3", 8, "same", 3, 64, 64, 5),
    Layer("layer2 conv k3 s2", 8, "down", 3, 64, 128, 1),
    Layer("layer2 downsample k1 s2", 8, "down", 1, 64, 128, 1),
    Layer("layer2 conv k3", 16, "same", 3, 128, 128, 7),
    Layer("layer3 conv k3 s2", 16, "down", 3, 128, 128, 1),
    Layer("layer3 downsample k1 s2", 16, "down", 1, 128, 128, 1),
    Layer("layer3 conv k3", 32, "same", 3, 128, 128, 11),
    Layer("layer4 conv k3 s2", 32, "down", 3, 128, 128, 1),
    Layer("layer4 downsample k1 s2", 32, "down", 1, 128, 128, 1),
    Layer("layer4 conv k3", 64, "same", 3, 128, 128, 5),
    Layer("head up k3 s2 (64->32)", 64, "up", 3, 128, 128, 1),
    Layer("head up k3 s2 (32->16)", 32, "up", 3, 128, 128, 1),
    Layer("head lateral/out k3 @16", 16, "same", 3, 128, 128, 2),
]


def level_sets(points: torch.Tensor) -> dict[int, torch.Tensor]:
    coords, _ = ops.voxelize(points, 0.01, 0, 0)
    sets, s = {1: coords}, 1
    while s < 64:
        sets[2 * s] = ops.coords_down(sets[s], s, 0)
        s *= 2
    return sets


def rulebook(layer: Layer, sets: dict[int, torch.Tensor]):
    cin = sets[layer.level]
    if layer.kind == "same":
        return cin, ops.kernel_map(cin, cin, 3, layer.level, False)
    if layer.kind == "up":
        cout = ops.coords_up(cin, layer.level, 0)
        return cout, ops.kernel_map(cin, cout, 3, layer.level // 2, True)
    cout = ops.coords_down(cin, layer.level, 0)
    return cout, ops.kernel_map(cin, cout, layer.k, layer.level, False)


def _cpu_kernels():
    try:
        from tsp3d.runtime import cpu_kernels

        cpu_kernels.load()
        return cpu_kernels
    except Exception:  # not built: the C++ columns are left out and the report says so
        return None


def bench_layer(layer: Layer, sets, repeat: int, cpp) -> dict:
    n_in = sets[layer.level].shape[0]
    t_rule = timeit(lambda: rulebook(layer, sets), repeat=repeat)
    _, nbr = rulebook(layer, sets)
    pairs = int((nbr >= 0).sum())
    feats = torch.randn(n_in, layer.cin)
    weight = torch.randn(kernel_volume(layer.k), layer.cin, layer.cout) * 0.05
    gflop = 2 * pairs * layer.cin * layer.cout / 1e9
    row = {"layer": layer.name, "level": layer.level, "n_in": n_in, "n_out": nbr.shape[0], "pairs": pairs,
           "cin": layer.cin, "cout": layer.cout, "count": layer.count, "useful_gflop": gflop,
           "rulebook_ref_s": t_rule["median_s"]}
    if layer.kind == "pool":
        row["pool_ref_s"] = timeit(lambda: ops.sparse_max_pool(feats, nbr), repeat=repeat)["median_s"]
        if cpp is not None:
            row["pool_cpp_s"] = timeit(lambda: cpp.sparse_max_pool(feats, nbr), repeat=repeat)["median_s"]
        return row
    backends = {"ref": lambda: ops.sparse_conv(feats, nbr, weight, None, 0)}
    if sparse_backend.spconv_available():
        from tsp3d.sparse import spconv_backend

        backends["spconv"] = lambda: spconv_backend.conv_forward(feats, nbr, weight, None, 0)
    if cpp is not None:
        backends["cpp"] = lambda: cpp.sparse_conv(feats, nbr, weight, None, 0)
        row["rulebook_cpp_s"] = timeit(lambda: cpp_rulebook(cpp, layer, sets), repeat=repeat)["median_s"]
    with torch.no_grad():
        for name, fn in backends.items():
            t = timeit(fn, repeat=repeat)["median_s"]
            row[f"conv_{name}_s"] = t
            row[f"conv_{name}_gflops"] = gflop / t
    return row


def cpp_rulebook(cpp, layer: Layer, sets):
    cin = sets[layer.level]
    if layer.kind == "same":
        return cpp.kernel_map(cin, cin, 3, layer.level, False)
    if layer.kind == "up":
        cout = cpp.coords_up(cin, layer.level)
        return cpp.kernel_map(cin, cout, 3, layer.level // 2, True)
    cout = cpp.coords_down(cin, layer.level)
    return cpp.kernel_map(cin, cout, layer.k, layer.level, False)


def totals(rows: list[dict], backend: str, with_rulebook: bool) -> dict:
    """Whole-mix time of one backend (layers weighted by count); rulebooks counted once per distinct map."""
    t = sum(r[f"conv_{backend}_s"] * r["count"] for r in rows if f"conv_{backend}_s" in r)
    if with_rulebook:
        key = "rulebook_cpp_s" if backend == "cpp" else "rulebook_ref_s"
        t += sum(r.get(key, r["rulebook_ref_s"]) for r in rows if f"conv_{backend}_s" in r)
    flops = sum(r["useful_gflop"] * r["count"] for r in rows if f"conv_{backend}_s" in r)
    return {"time_s": t, "useful_gflops": flops / t if t else 0.0}


def run(points: int = 50000, repeat: int = 5, quick: bool = False, out_dir=None) -> dict:
    torch.manual_seed(0)
    pts = room_points(points, seed=0)
    sets = level_sets(pts)
    cpp = _cpu_kernels()
    gemm = dense_gemm_gflops()
    mix = BASE_MIX[:4] + BASE_MIX[7:8] if quick else BASE_MIX
    rows = [bench_layer(layer, sets, 2 if quick else repeat, cpp) for layer in mix]
    result = {
        "points": points,
        "voxels_per_level": {str(k): int(v.shape[0]) for k, v in sets.items()},
        "dense_gemm": gemm,
        "layers": rows,
        "cpp_available": cpp is not None,
        "totals": {b: {"gemm_only": totals(rows, b, False), "with_rulebook": totals(rows, b, True)}
                   for b in ("ref", "spconv", "cpp") if any(f"conv_{b}_s" in r for r in rows)},
    }
    write_result("sparse_ops_quick" if quick else "sparse_ops", result, out_dir)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=50000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    r = run(a.points, a.repeat, a.quick, a.out)
    for row in r["layers"]:
        print(row)
    print(r["totals"], r["dense_gemm"])


if __name__ == "__main__":
    main()
