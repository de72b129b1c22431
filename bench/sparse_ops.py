"""The sparse layer mix of the ``base`` TSP3D model on a room-like scene: our C++ kernels vs the PyTorch reference
vs spconv ``ConvAlgo.Native`` (CPU), rulebook time and GEMM time separately.

The mix is recorded from one real forward of the benchmark model (``layer_mix.py``): every rulebook it builds and
every conv that applies one, with the real voxel sets and pair counts. Per rulebook: the time to build it (output
set, when this rulebook is the first onto a new set, + kernel map) on each backend. Per layer (rulebook, Cin,
Cout): the time of one rulebook application on each backend, and for spconv also on our rulebook (identical
work). Whole-mix totals count every rulebook once (rulebooks are shared by every conv on the same pair of sets,
in every backend here: spconv reuses its submanifold rulebooks through ``indice_key``) and every layer ``count``
times. Useful GFLOP/s = 2 * pairs * Cin * Cout / time (MinkowskiEngine's pairs: the work the model needs),
against this machine's dense fp32 GEMM rate measured in the same run.

    python -m tsp3d.bench.sparse_ops [--config base] [--quick] [--threads 2] [--out DIR]
    python -m tsp3d.bench.sparse_ops --threads 1 --clock thread     # CPU time: robust on a shared machine

(Folds in the former ``plugins/kernels/cpu/bench/bench_conv.py``: the mix now comes from the model itself.)
"""
from __future__ import annotations

import argparse
import contextlib

import torch

from tsp3d.bench import layer_mix, spconv_layers
from tsp3d.bench.common import dense_gemm_gflops, set_clock, timeit, write_result
from tsp3d.bench.scenes import load_inputs

BACKENDS = ("cpp", "ref", "spconv")
WIDE = 64  # the GEMM-efficiency target covers layers with at least this many input and output channels


def _cpp(threads: int):
    try:
        from tsp3d.kernels import cpu as cpu_kernels

        k = cpu_kernels.load()
        k.set_num_threads(threads)
        return k
    except Exception:  # not built: the C++ columns are left out and the report says so
        return None


@contextlib.contextmanager
def torch_threads(n: int):
    """PyTorch's OpenMP workers spin after each op and would take the cores from our kernels' own pool: while the
    C++ kernels are timed, PyTorch (which only allocates their outputs) runs on one thread."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _rulebook_fns(m: layer_mix.RuleMap, cpp) -> dict:
    from tsp3d.sparse import rulebook as ref

    def ours(lib):
        make = {"down": lib.coords_down, "up": lib.coords_up}.get(m.kind) if m.creates_output else None

        def build():
            out = m.out_coords if make is None else make(m.in_coords, m.level, 0)
            return lib.kernel_map(m.in_coords, out, m.k, m.offset_stride, m.transposed)

        return build

    fns = {"ref": ours(ref)}
    if cpp is not None:
        fns["cpp"] = ours(cpp)
    return fns


def bench_rulebook(m: layer_mix.RuleMap, cpp, sp, repeat: int, ref_repeat: int) -> dict:
    row = {"kind": m.kind, "level": m.level, "k": m.k, "n_in": int(m.in_coords.shape[0]),
           "n_out": int(m.out_coords.shape[0]), "pairs": m.pairs, "creates_output_set": m.creates_output}
    for name, fn in _rulebook_fns(m, cpp).items():
        r = ref_repeat if name == "ref" else repeat
        with torch_threads(1) if name == "cpp" else contextlib.nullcontext():
            row[f"rulebook_{name}_s"] = timeit(fn, repeat=r, warmup=1 if r > 1 else 0)["median_s"]
    if sp is not None:
        row["rulebook_spconv_s"] = timeit(sp.rulebook, repeat=repeat)["median_s"]
        row["spconv_n_out"] = sp.n_out
        if not sp.subm:  # submanifold: the same pairs as ours (spconv stores half of them, by symmetry)
            row["spconv_pairs"] = sp.n_pairs
    return row


@torch.no_grad()
def bench_layer(layer: layer_mix.Layer, m: layer_mix.RuleMap, cpp, sp, repeat: int, ref_repeat: int,
                g: torch.Generator) -> dict:
    from tsp3d.sparse import conv as ref_conv

    n_in = int(m.in_coords.shape[0])
    feats = torch.randn((n_in, layer.cin), generator=g)
    weight = torch.randn((m.nbr.shape[1], layer.cin, layer.cout), generator=g) * 0.05
    gflop = 2 * m.pairs * layer.cin * layer.cout / 1e9
    row = {"layer": layer.name, "map": layer.map_index, "cin": layer.cin, "cout": layer.cout, "count": layer.count,
           "pairs": m.pairs, "useful_gflop": gflop}
    fns = {"ref": lambda: ref_conv.conv_forward(feats, m.nbr, weight, None, 0)}
    if cpp is not None:
        fns["cpp"] = lambda: cpp.sparse_conv(feats, m.nbr, weight, None, 0)
    if sp is not None:
        filters = spconv_layers.krsc(weight)
        pairs, counts = spconv_layers.our_pairs(m.nbr)
        fns["spconv"] = lambda: sp.gemm(feats, filters)
        fns["spconv_on_ours"] = lambda: spconv_layers.gemm_on(feats, filters, pairs, counts, m.nbr.shape[0])
    for name, fn in fns.items():
        r = ref_repeat if name == "ref" else repeat
        with torch_threads(1) if name == "cpp" else contextlib.nullcontext():
            t = timeit(fn, repeat=r, warmup=1 if r > 1 else 0)["median_s"]
        row[f"gemm_{name}_s"] = t
        row[f"gemm_{name}_gflops"] = gflop / t
    return row


def totals(maps: list[dict], layers: list[dict], dense: float) -> dict:
    """Whole-mix time per backend: rulebooks once each, layers ``count`` times; GFLOP/s on the GEMM part."""
    out = {}
    for b in BACKENDS:
        if not all(f"gemm_{b}_s" in r for r in layers):
            continue
        gemm = sum(r[f"gemm_{b}_s"] * r["count"] for r in layers)
        rule = sum(r.get(f"rulebook_{b}_s", 0.0) for r in maps)
        flop = sum(r["useful_gflop"] * r["count"] for r in layers)
        out[b] = {"rulebook_s": rule, "gemm_s": gemm, "total_s": rule + gemm, "gemm_useful_gflops": flop / gemm}
    if all("gemm_spconv_on_ours_s" in r for r in layers):
        out["spconv_on_ours"] = {"gemm_s": sum(r["gemm_spconv_on_ours_s"] * r["count"] for r in layers)}
    wide = [r for r in layers if min(r["cin"], r["cout"]) >= WIDE]
    if wide and "cpp" in out:
        flop = sum(r["useful_gflop"] * r["count"] for r in wide)
        t = sum(r["gemm_cpp_s"] * r["count"] for r in wide)
        out["cpp_wide"] = {"gemm_s": t, "gemm_useful_gflops": flop / t, "fraction_of_dense": flop / t / dense,
                           "min_layer_fraction": min(r["gemm_cpp_gflops"] for r in wide) / dense}
    return out


def run(checkpoint, inputs, threads: int, quick: bool = False, dense: dict | None = None, out_dir=None,
        name: str | None = None, clock: str = "wall") -> dict:
    """Record the mix of ``checkpoint`` on ``inputs`` (.npz) and time it on every backend; writes the JSON."""
    if clock == "thread" and threads != 1:
        raise ValueError("the thread clock needs threads=1 (all work on the calling thread)")
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cpp = _cpp(threads)
    set_clock(clock)
    try:
        return _run(checkpoint, inputs, threads, quick, dense, out_dir, name, clock, cpp)
    finally:
        set_clock("wall")


def _run(checkpoint, inputs, threads, quick, dense, out_dir, name, clock, cpp) -> dict:
    from tsp3d.checkpoint import load_model
    from tsp3d.sparse import backend as sparse_backend

    dense = dense or dense_gemm_gflops(threads, quick)
    model, ckpt = load_model(checkpoint)
    points, feats, mask = (torch.from_numpy(a) for a in load_inputs(inputs))
    old = sparse_backend.get_backend()
    sparse_backend.set_backend("cpp" if cpp is not None else "reference")
    try:
        maps, layers, used = layer_mix.record(model, points, feats, mask)
    finally:
        sparse_backend.set_backend(old)
    repeat, ref_repeat = (2, 1) if quick else (5, 2)
    sps = {i: spconv_layers.SpconvMap(maps[i]) for i in used} if spconv_layers.available() else {}
    map_rows = [{"map": i, **bench_rulebook(maps[i], cpp, sps.get(i), repeat, ref_repeat)} for i in used]
    g = torch.Generator().manual_seed(0)
    layer_rows = [bench_layer(layer, maps[layer.map_index], cpp, sps.get(layer.map_index), repeat, ref_repeat, g)
                  for layer in layers]
    result = {"config": ckpt.config.name, "clock": clock,
              "points": int(points.shape[0]), "threads": threads, "quick": quick, "dense_gemm": dense,
              "cpp_available": cpp is not None, "spconv_available": bool(sps),
              "rulebooks": map_rows, "layers": layer_rows, "totals": totals(map_rows, layer_rows, dense["gflops"])}
    write_result(name or ("sparse_ops_quick" if quick else "sparse_ops"), result, out_dir)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="base")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--clock", choices=("wall", "thread"), default="wall",
                   help="thread: CPU time of the calling thread (needs --threads 1)")
    p.add_argument("--out", default=None, help="result directory (default: build/bench/sparse_ops)")
    a = p.parse_args()
    from tsp3d.bench.models import DEFAULT_CACHE, prepare

    bm = prepare(a.config)
    r = run(bm.checkpoint, bm.inputs, a.threads, a.quick, out_dir=a.out or DEFAULT_CACHE / "sparse_ops",
            clock=a.clock)
    for row in r["layers"]:
        print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()})
    print(r["totals"], r["dense_gemm"]["gflops"])


if __name__ == "__main__":
    main()
