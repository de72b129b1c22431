"""Per-layer speed of the C++ sparse conv (libtsp3d_cpu.so) vs spconv Native vs the PyTorch reference, on the
`base` layer mix over room-like sets (room_sets.py), plus the dense-GEMM efficiency of the C++ conv.

    .venv/bin/python plugins/kernels/cpu/bench/bench_conv.py [--threads 2] [--repeat 7] [--json out.json]

Times are the minimum over `repeat` runs (the machine is shared; the minimum is the least disturbed run).
"rulebook" = output coordinates (CoordsDown for strided layers) + kernel map; "conv" = the rulebook application.
GFLOP/s counts useful work only (2 * pairs * Cin * Cout) of the conv kernel writing into a preallocated output;
the dense reference is the best torch.mm [P, 128] x [128, 128] rate over P in 2k..50k, same thread count.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from room_sets import room_sets  # noqa: E402

# (name, cin, cout, kernel, stride of the conv (1 = same sites), input tensor stride)
BASE_MIX = [
    ("stem k3 s2", 6, 64, 3, 2, 1),
    ("k3 s1", 64, 64, 3, 1, 2),
    ("k2 s2", 64, 64, 2, 2, 2),
    ("k3 s2", 64, 128, 3, 2, 4),
    ("k1 s2", 64, 128, 1, 2, 4),
    ("k3 s1", 128, 128, 3, 1, 8),
]


CLOCK = {"fn": time.perf_counter}  # --clock thread: CPU time of the calling thread (single-threaded runs only)


def best_time(fn, repeat: int) -> float:
    clock = CLOCK["fn"]
    fn()  # warm-up (first-touch of buffers, pool start)
    best = float("inf")
    for _ in range(repeat):
        t = clock()
        fn()
        best = min(best, clock() - t)
    return best


def ours(k, coords, cin, cout, kernel, conv_stride, s, repeat, g):
    feats = torch.randn((coords.shape[0], cin), generator=g)
    w = torch.randn((kernel**3, cin, cout), generator=g) * 0.1

    def rulebook():
        out = coords if conv_stride == 1 else k.coords_down(coords, s)
        return k.kernel_map(coords, out, kernel, s)

    nbr = rulebook()
    t_rb = best_time(rulebook, repeat)
    t_conv = best_time(lambda: k.sparse_conv(feats, nbr, w), repeat)
    out = torch.empty((nbr.shape[0], cout))  # the kernel alone: no first-touch page faults of a fresh output
    t_kernel = best_time(lambda: k.sparse_conv(feats, nbr, w, out=out), repeat)
    return {"out_rows": nbr.shape[0], "pairs": int((nbr >= 0).sum()), "rulebook_s": t_rb, "conv_s": t_conv,
            "conv_kernel_s": t_kernel}


def reference(coords, cin, cout, kernel, conv_stride, s, repeat, g):
    from tsp3d.sparse import ops, set_backend

    set_backend("reference")
    feats = torch.randn((coords.shape[0], cin), generator=g)
    w = torch.randn((kernel**3, cin, cout), generator=g) * 0.1

    def layer():
        out = coords if conv_stride == 1 else ops.coords_down(coords, s, 0)
        nbr = ops.kernel_map(coords, out, kernel, s, False)
        return ops.sparse_conv(feats, nbr, w, None, 0)

    with torch.no_grad():
        return {"total_s": best_time(layer, max(1, repeat // 2))}


def spconv_native(coords, cin, cout, kernel, conv_stride, s, repeat):
    import spconv.pytorch as spconv
    from spconv.core import ConvAlgo

    grid = coords.clone()
    grid[:, 1:] = torch.div(grid[:, 1:], s, rounding_mode="floor")
    grid[:, 1:] -= grid[:, 1:].min(dim=0).values
    idx = grid[:, [0, 3, 2, 1]].contiguous()  # spconv: (batch, z, y, x), spatial shape in the same order
    shape = (idx[:, 1:].max(dim=0).values + 1).tolist()
    feats = torch.randn((coords.shape[0], cin))
    if conv_stride == 1:
        layer = spconv.SubMConv3d(cin, cout, kernel, padding=kernel // 2, bias=False, indice_key="k",
                                  algo=ConvAlgo.Native)
    else:
        layer = spconv.SparseConv3d(cin, cout, kernel, stride=2, padding=kernel // 2 if kernel == 3 else 0,
                                    bias=False, indice_key="k", algo=ConvAlgo.Native)
    layer.eval()

    def run():
        return layer(spconv.SparseConvTensor(feats, idx, shape, 1))

    with torch.no_grad():
        out = run()
        pairs = int(out.indice_dict["k"].indice_pair_num.sum())
        return {"out_rows": out.features.shape[0], "pairs": pairs, "total_s": best_time(run, repeat)}


def dense_gemm_gflops(repeat: int, rows=(2000, 8000, 20000, 50000)) -> float:
    """The best torch.mm [P, 128] x [128, 128] rate over a few P (the most favourable to the dense side)."""
    best = 0.0
    for p in rows:
        a, b = torch.randn(p, 128), torch.randn(128, 128)
        t = best_time(lambda: torch.mm(a, b), repeat * 3)
        best = max(best, 2 * p * 128 * 128 / t / 1e9)
    return best


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", type=Path, default=None, help="write the results here (atomically)")
    ap.add_argument("--force", action="store_true", help="overwrite --json")
    ap.add_argument("--no-reference", action="store_true", help="skip the (slow) PyTorch reference")
    ap.add_argument("--clock", choices=("wall", "thread"), default="wall",
                    help="thread: CPU time of this thread, robust to other processes on a shared machine; needs "
                         "--threads 1 (every library then computes on the calling thread)")
    args = ap.parse_args(argv)
    if args.clock == "thread":
        if args.threads != 1:
            ap.error("--clock thread needs --threads 1")
        CLOCK["fn"] = time.thread_time

    from tsp3d.runtime.cpu_kernels import load

    torch.set_num_threads(args.threads)
    k = load()
    k.set_num_threads(args.threads)
    sets = room_sets()["sets"]
    g = torch.Generator().manual_seed(0)
    dense = dense_gemm_gflops(args.repeat)
    rows = []
    for name, cin, cout, kernel, conv_stride, s in BASE_MIX:
        coords = sets[s]
        r = {"layer": name, "cin": cin, "cout": cout, "in_rows": coords.shape[0]}
        r["ours"] = ours(k, coords, cin, cout, kernel, conv_stride, s, args.repeat, g)
        r["spconv"] = spconv_native(coords, cin, cout, kernel, conv_stride, s, args.repeat)
        if not args.no_reference:
            r["reference"] = reference(coords, cin, cout, kernel, conv_stride, s, args.repeat, g)
        o = r["ours"]
        o["total_s"] = o["rulebook_s"] + o["conv_s"]
        o["conv_gflops"] = 2 * o["pairs"] * cin * cout / o["conv_kernel_s"] / 1e9
        rows.append(r)

    print(f"threads {args.threads}, clock {args.clock}; dense fp32 GEMM (best torch.mm [P,128]x[128,128]): "
          f"{dense:.1f} GFLOP/s")
    hdr = (f"{'layer':<11}{'ch':>8}{'in':>7}{'out':>7}{'pairs':>8} | {'rulebook':>9}{'conv':>8}{'total':>8}"
           f"{'GFLOP/s':>8}{'%dense':>7} | {'spconv':>8}{'sp out':>7}{'sp pairs':>9}{'speedup':>8}"
           f" | {'torch ref':>9}")
    print(hdr)
    sum_ours = sum_sp = 0.0
    for r in rows:
        o, sp = r["ours"], r["spconv"]
        sum_ours += o["total_s"]
        sum_sp += sp["total_s"]
        ref = f"{r['reference']['total_s'] * 1e3:8.1f}m" if "reference" in r else "       -"
        print(f"{r['layer']:<11}{r['cin']:>3}->{r['cout']:<4}{r['in_rows']:>7}{o['out_rows']:>7}{o['pairs']:>8} | "
              f"{o['rulebook_s'] * 1e3:8.2f}m{o['conv_s'] * 1e3:7.2f}m{o['total_s'] * 1e3:7.2f}m"
              f"{o['conv_gflops']:8.1f}{100 * o['conv_gflops'] / dense:6.0f}% | {sp['total_s'] * 1e3:7.2f}m"
              f"{sp['out_rows']:>7}{sp['pairs']:>9}{sp['total_s'] / o['total_s']:7.2f}x | {ref}")
    print(f"mix total: ours {sum_ours * 1e3:.1f} ms, spconv Native {sum_sp * 1e3:.1f} ms, "
          f"speedup {sum_sp / sum_ours:.2f}x")
    result = {"threads": args.threads, "clock": args.clock, "dense_gemm_gflops": dense, "layers": rows,
              "mix_ours_s": sum_ours, "mix_spconv_s": sum_sp}
    if args.json:
        from tsp3d.utils.atomic import atomic_path

        with atomic_path(args.json, force=args.force) as tmp:
            tmp.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
