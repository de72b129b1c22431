#!/usr/bin/env python3
"""GPU check: every CUDA kernel (libtsp3d_cuda.so) against the C++ CPU kernels (libtsp3d_cpu.so), on random sets
and on synthetic room-like scenes, plus the error cases both must refuse alike. Prints a table (op, case, shape,
max-abs, max-rel, exact match of index outputs, times) and writes JSON. Tolerances come from export/opset_spec.py.

    python3 scripts/gpu_check.py --lib-dir build/gpu/lib --json gpu_check.json      # GPU machine (gpu_check.sh)
    python3 scripts/gpu_check.py --cpu-only --scale 0.02                            # CPU kernels vs PyTorch

``--cpu-only`` runs the same cases with the CPU kernels as the candidate and the PyTorch reference
(tsp3d.sparse) as the baseline: it checks this script (and the CPU kernels) where no GPU exists.
Exit status: 0 all cases within tolerance, 1 a mismatch, 2 setup error.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from tsp3d.errors import CapacityError, SparseInputError  # noqa: E402


def load_spec():
    """export/opset_spec.py by path: the package need not be installed on the GPU machine."""
    spec = importlib.util.spec_from_file_location("tsp3d_opset_spec", REPO / "export" / "opset_spec.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses resolve their module
    spec.loader.exec_module(mod)
    return mod


# ----------------------------------------------------------------------------------------------- backends


def int8_conv_reference(feats, feats_scale, nbr, weight, weight_scale, bias=None, activation=0):
    """act(bias + feats_scale * weight_scale[c] * acc) with the exact integer sum (docs/opset.md)."""
    acc = torch.zeros((nbr.shape[0], weight.shape[2]), dtype=torch.int64)
    for k in range(nbr.shape[1]):
        rows = (nbr[:, k] >= 0).nonzero().squeeze(1)
        if rows.numel():
            acc[rows] += feats[nbr[rows, k].long()].long() @ weight[k].long()
    out = (torch.tensor(float(feats_scale), dtype=torch.float32) * weight_scale) * acc.to(torch.float32)
    if bias is not None:
        out = bias + out
    return out.clamp(min=0) if activation == 1 else out


class Reference:
    """The PyTorch reference (tsp3d/sparse), with the kernels' call signatures."""

    name = "pytorch"

    def __init__(self):
        from tsp3d.sparse import conv, lookup, prune, rulebook, voxelize

        self.coords_down, self.coords_up, self.kernel_map = rulebook.coords_down, rulebook.coords_up, rulebook.kernel_map
        self.lookup, self.prune, self.append_missing = lookup.lookup, prune.prune, prune.append_missing
        self.sparse_conv_int8 = int8_conv_reference
        self._voxelize, self._conv = voxelize.voxelize, conv

    def voxelize(self, points, voxel_size, batch=0, capacity=0):
        coords, first = self._voxelize(points, voxel_size, batch, capacity)
        return coords, first.to(torch.int32)

    def sparse_conv(self, feats, nbr, weight, bias=None, activation=0):
        self._conv.check_conv_args(feats, nbr, weight, bias)
        return self._conv.conv_forward(feats, nbr, weight, bias, activation)

    def sparse_max_pool(self, feats, nbr):
        return self._conv.max_pool_forward(feats, nbr)[0]


class Kernels:
    """cpu_kernels or cuda_kernels; CUDA inputs are moved to the device and outputs back."""

    def __init__(self, which: str, lib_dir: Path | None):
        name = {"cpu": "libtsp3d_cpu.so", "cuda": "libtsp3d_cuda.so"}[which]
        path = str(lib_dir / name) if lib_dir else None
        if which == "cpu":
            from tsp3d.kernels.cpu import load
        else:
            from tsp3d.kernels.cuda import load
        self.k = load(path)
        self.name, self.cuda = which, which == "cuda"

    def __getattr__(self, op):
        fn = getattr(self.k, op)
        if not self.cuda:
            return fn

        def call(*args, **kwargs):
            args = [a.cuda() if isinstance(a, torch.Tensor) else a for a in args]
            kwargs = {k: v.cuda() if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
            out = fn(*args, **kwargs)
            return tuple(o.cpu() for o in out) if isinstance(out, tuple) else out.cpu()

        return call


# ----------------------------------------------------------------------------------------------- data


def random_coords(n: int, extent: int, g: torch.Generator, stride: int = 1, batches: int = 1) -> torch.Tensor:
    xyz = torch.randint(-extent, extent, (n, 3), generator=g) * stride
    b = torch.randint(0, batches, (n, 1), generator=g)
    return torch.unique(torch.cat([b, xyz], 1), dim=0).to(torch.int32)


def room_scene(n: int, g: torch.Generator) -> torch.Tensor:
    """[n, 6] float32: a 6 x 5 x 2.6 m room (floor, walls) with boxes standing in it, colours in [0, 1]."""
    def u(*shape):
        return torch.rand(shape, generator=g)

    parts, w, d, h = [], 6.0, 5.0, 2.6
    m = n // 6
    parts.append(torch.stack([u(m) * w, u(m) * d, torch.zeros(m)], 1))  # floor
    for x0, y0, ax in ((0, 0, 0), (0, d, 0), (0, 0, 1), (w, 0, 1)):  # four walls
        t = u(m)
        xy = torch.stack([x0 + t * w, torch.full((m,), y0)], 1) if ax == 0 else torch.stack([torch.full((m,), x0), y0 + t * d], 1)
        parts.append(torch.cat([xy, (u(m) * h)[:, None]], 1))
    rest = n - 5 * m
    for i in range(8):  # furniture: box surfaces
        k = rest // 8 + (rest % 8 if i == 7 else 0)
        c, s = torch.tensor([0.5 + u(1).item() * (w - 1), 0.5 + u(1).item() * (d - 1), 0.0]), 0.3 + u(3) * 0.9
        p = (u(k, 3) - 0.5) * s
        face = torch.randint(0, 3, (k,), generator=g)
        p[torch.arange(k), face] = torch.sign(p[torch.arange(k), face]) * s[face] / 2
        parts.append(p + c + torch.tensor([0, 0, float(s[2]) / 2]))
    xyz = torch.cat(parts)[:n] + torch.randn((n, 3), generator=g) * 0.003  # sensor noise
    return torch.cat([xyz, u(n, 3)], 1).to(torch.float32)


def build_cases(scale: float, g: torch.Generator, ref) -> list[dict]:
    """Each case: op, label, args, kwargs. `ref` (the baseline) makes the inputs of the later ops. The cases draw
    from `g` in a fixed order (coordinates, features, selection), so a seed names the same inputs."""
    s = lambda n: max(16, int(n * scale))  # noqa: E731
    cases = []

    def add(op, label, *args, **kwargs):
        cases.append(dict(op=op, label=label, args=args, kwargs=kwargs))

    scene = room_scene(s(200_000), g)
    levels = _coordinate_cases(add, scene, s, g, ref)
    _feature_cases(add, scene, levels, g, ref)
    _selection_cases(add, levels, s, g, ref)
    return cases


def _coordinate_cases(add, scene, s, g: torch.Generator, ref) -> list:
    """Voxelize, CoordsDown/Up and KernelMap on the room's levels and on random sets; returns the room's 4 levels."""
    uniform = (torch.rand((s(200_000), 6), generator=g) * 8 - 4).to(torch.float32)
    add("voxelize", "room 2 cm", scene, 0.02)
    add("voxelize", "uniform 5 cm, batch 3", uniform, 0.05, 3)
    c0, _ = ref.voxelize(scene, 0.02)
    levels, stride = [c0], 1
    for _ in range(3):
        levels.append(ref.coords_down(levels[-1], stride))
        stride *= 2
    rnd = random_coords(s(100_000), 60, g, batches=2)
    for i, lv in enumerate(levels[:3]):
        add("coords_down", f"room level {i}", lv, 2**i)
    add("coords_down", "random, 2 batches", rnd, 1)
    add("coords_up", "room level 1", levels[1], 2)
    add("coords_up", "room level 3", levels[3], 8)
    add("kernel_map", "room k3 s1", c0, c0, 3, 1)
    add("kernel_map", "room k3 down", c0, levels[1], 3, 1)
    add("kernel_map", "room k2 down", levels[1], levels[2], 2, 2)
    add("kernel_map", "room k1 down", levels[1], levels[2], 1, 2)
    up = ref.coords_up(levels[2], 4)
    add("kernel_map", "room k3 transposed", levels[2], up, 3, 2, True)
    add("kernel_map", "random k3 s1", rnd, rnd, 3, 1)
    return levels


def _feature_cases(add, scene, levels: list, g: torch.Generator, ref) -> None:
    """SparseConv and SparseMaxPool (float32 and float16), SparseConvInt8, on the room's kernel maps."""
    c0 = levels[0]
    nbr = ref.kernel_map(c0, c0, 3, 1)
    nbr_down = ref.kernel_map(levels[1], levels[2], 2, 2)
    n0, n1 = c0.shape[0], levels[1].shape[0]
    for dtype in (torch.float32, torch.float16):
        tag = "f32" if dtype == torch.float32 else "f16"
        f = torch.randn((n0, 32), generator=g).to(dtype)
        w = (torch.randn((27, 32, 64), generator=g) * 0.1).to(dtype)
        b = torch.randn(64, generator=g).to(dtype)
        add("sparse_conv", f"room k3 32->64 relu {tag}", f, nbr, w, b, 1)
        add("sparse_conv", f"room k3 6->3 no bias {tag}", scene[:n0].contiguous().to(dtype), nbr,
            (torch.randn((27, 6, 3), generator=g) * 0.1).to(dtype), None, 0)
        add("sparse_max_pool", f"room k2 C=64 {tag}", torch.randn((n1, 64), generator=g).to(dtype), nbr_down)
    fq = torch.randint(-127, 128, (n0, 32), dtype=torch.int8, generator=g)
    wq = torch.randint(-127, 128, (27, 32, 32), dtype=torch.int8, generator=g)
    add("sparse_conv_int8", "room k3 32->32 relu", fq, 0.02, nbr, wq, torch.rand(32, generator=g) * 0.01,
        torch.randn(32, generator=g), 1)


def _selection_cases(add, levels: list, s, g: torch.Generator, ref) -> None:
    """Lookup, Prune (ties, NaN, the min_keep fallback) and AppendMissing."""
    c0, n0, n1 = levels[0], levels[0].shape[0], levels[1].shape[0]
    q = torch.cat([c0[torch.randperm(n0, generator=g)[: s(20_000)]], random_coords(s(20_000), 400, g)])
    add("lookup", "room queries, half absent", q, c0)
    scores = torch.randn(s(100_000), generator=g)
    ties = torch.round(scores * 4) / 4  # many equal scores: tie-breaking by row
    ties[:: max(1, ties.numel() // 50)] = float("nan")
    add("prune", "keep > 0.5", scores, 0.5, 1, 1)
    add("prune", "keep < -1", scores, -1.0, 0, 1)
    add("prune", "fallback min_keep 1000, ties + NaN", ties, 99.0, 1, 1000)
    add("prune", "fallback mode 0, ties + NaN", ties, -99.0, 0, 500)
    add("prune", "f16 keep > 0", scores.to(torch.float16), 0.0, 1, 1)
    keep = ref.prune(torch.randn(n1, generator=g), 0.0, 1, 1).long()
    add("append_missing", "room pruned + level", levels[1][keep], levels[1])
    add("append_missing", "random sets", random_coords(s(50_000), 30, g), random_coords(s(50_000), 30, g))


def error_cases(g: torch.Generator) -> list[dict]:
    """Inputs every runtime must refuse with the same error class."""
    c = random_coords(500, 20, g)
    dup = torch.cat([c, c[:3]])
    pts = torch.rand((100, 3), generator=g)
    pts[7, 1] = float("nan")
    return [
        dict(op="voxelize", label="NaN point", args=(pts, 0.1), kwargs={}, error=SparseInputError),
        dict(op="voxelize", label="over capacity", args=(torch.rand((500, 3), generator=g), 0.01),
             kwargs=dict(capacity=10), error=CapacityError),
        dict(op="coords_down", label="not on stride", args=(c * 2 + 1, 2), kwargs={}, error=SparseInputError),
        dict(op="coords_up", label="over capacity", args=(c * 2, 2), kwargs=dict(capacity=100), error=CapacityError),
        dict(op="kernel_map", label="duplicate input rows", args=(dup, c, 3, 1), kwargs={}, error=SparseInputError),
        dict(op="lookup", label="duplicate table rows", args=(c, dup), kwargs={}, error=SparseInputError),
        dict(op="append_missing", label="over capacity", args=(c[:100], c[50:]), kwargs=dict(capacity=120),
             error=CapacityError),
    ]


# ----------------------------------------------------------------------------------------------- compare


def as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


def compare(a: torch.Tensor, b: torch.Tensor, tol) -> dict:
    """a: candidate, b: baseline. Index outputs must be equal; floats within atol + rtol * |b|."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return dict(ok=False, note=f"shape/dtype {list(a.shape)} {a.dtype} vs {list(b.shape)} {b.dtype}",
                    max_abs=math.inf, max_rel=math.inf, exact=False)
    if not a.is_floating_point():
        exact = bool(torch.equal(a, b))
        return dict(ok=exact, exact=exact, max_abs=float((a.long() - b.long()).abs().max()) if a.numel() else 0.0,
                    max_rel=0.0)
    x, y = a.double(), b.double()
    both_nan = torch.isnan(x) & torch.isnan(y)
    diff = torch.where(both_nan, torch.zeros_like(x), (x - y).abs())
    rel = diff / y.abs().clamp_min(1e-12)
    ok = bool(((diff <= tol.atol + tol.rtol * y.abs()) | both_nan).all())
    return dict(ok=ok, exact=bool(torch.equal(a, b)), max_abs=float(diff.max()) if diff.numel() else 0.0,
                max_rel=float(rel.max()) if rel.numel() else 0.0)


def timed(fn, repeats: int, cuda: bool):
    times, out = [], None
    for _ in range(repeats):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        if cuda:
            torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
    return out, statistics.median(times)


def shape_of(args) -> str:
    return " ".join("x".join(str(d) for d in a.shape) for a in args if isinstance(a, torch.Tensor))


OP_NAMES = {"voxelize": "Voxelize", "coords_down": "CoordsDown", "coords_up": "CoordsUp", "kernel_map": "KernelMap",
            "sparse_conv": "SparseConv", "sparse_conv_int8": "SparseConvInt8", "sparse_max_pool": "SparseMaxPool",
            "lookup": "Lookup", "prune": "Prune", "append_missing": "AppendMissing"}  # opset_spec names


def run(args) -> int:
    spec = load_spec()
    g = torch.Generator().manual_seed(args.seed)
    if args.cpu_only:
        candidate, baseline = Kernels("cpu", args.lib_dir), Reference()
    else:
        if not torch.cuda.is_available():
            print("error: no CUDA device (use --cpu-only to check the CPU kernels against PyTorch)")
            return 2
        candidate, baseline = Kernels("cuda", args.lib_dir), Kernels("cpu", args.lib_dir)
    rows, t_start = [], time.perf_counter()
    print(f"candidate {candidate.name} vs baseline {baseline.name}; scale {args.scale}, seed {args.seed}")
    head = f"{'op':<17}{'case':<38}{'shape':<26}{'max-abs':>10}{'max-rel':>10}{'exact':>6}"
    print(head + f"{baseline.name + ' ms':>12}{candidate.name + ' ms':>12}  result")
    for case in build_cases(args.scale, g, baseline):
        rows.append(check_case(case, spec, candidate, baseline, args.repeats))
    for case in error_cases(g):
        rows.append(check_error_case(case, candidate, baseline))
    failed = sum(not r["ok"] for r in rows)
    elapsed = time.perf_counter() - t_start
    print(f"{len(rows) - failed}/{len(rows)} cases pass in {elapsed:.1f} s")
    if args.json:
        write_report(args, candidate, baseline, elapsed, failed, rows)
    return 1 if failed else 0


def check_case(case: dict, spec, candidate, baseline, repeats: int) -> dict:
    """One op on one input: every output of the candidate against the baseline's, within the op's tolerance."""
    op, spec_op = case["op"], spec.get(OP_NAMES[case["op"]])
    call = lambda k: getattr(k, op)(*case["args"], **case["kwargs"])  # noqa: E731
    want, t_base = timed(lambda: call(baseline), 1, False)  # the baseline's time is for information
    got, t_cand = timed(lambda: call(candidate), repeats, getattr(candidate, "cuda", False))
    results = []
    for o_spec, a, b in zip(spec_op.outputs, as_tuple(got), as_tuple(want)):
        elem = spec.FLOAT16 if b.dtype == torch.float16 else spec.FLOAT
        results.append(dict(output=o_spec.name, **compare(a, b, spec_op.tolerance(o_spec.name, elem))))
    ok = all(r["ok"] for r in results)
    worst_abs = max(r["max_abs"] for r in results)
    worst_rel = max(r["max_rel"] for r in results)
    exact = all(r["exact"] for r in results)
    print(f"{op:<17}{case['label'][:37]:<38}{shape_of(case['args'])[:25]:<26}{worst_abs:>10.2e}{worst_rel:>10.2e}"
          f"{'yes' if exact else 'no':>6}{t_base:>12.2f}{t_cand:>12.2f}  {'PASS' if ok else 'FAIL'}")
    return dict(op=op, case=case["label"], shape=shape_of(case["args"]), outputs=results, ok=ok,
                baseline_ms=t_base, candidate_ms=t_cand)


def check_error_case(case: dict, candidate, baseline) -> dict:
    """Bad input: both backends must raise the case's error class."""
    got = []
    for k in (baseline, candidate):
        try:
            getattr(k, case["op"])(*case["args"], **case["kwargs"])
            got.append("no error")
        except (SparseInputError, CapacityError) as e:
            got.append(type(e).__name__)
    ok = got == [case["error"].__name__] * 2
    print(f"{case['op']:<17}{('error: ' + case['label'])[:37]:<38}{'raised: ' + ' / '.join(got):<70}"
          f"  {'PASS' if ok else 'FAIL'}")
    return dict(op=case["op"], case="error: " + case["label"], expected=case["error"].__name__,
                baseline=got[0], candidate=got[1], ok=ok)


def write_report(args, candidate, baseline, elapsed: float, failed: int, rows: list) -> None:
    env = dict(python=platform.python_version(), torch=torch.__version__, host=platform.node(),
               device=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
               cuda=torch.version.cuda)
    report = dict(candidate=candidate.name, baseline=baseline.name, scale=args.scale, seed=args.seed,
                  environment=env, elapsed_s=elapsed, failed=failed, rows=rows)
    tmp = args.json.with_name(args.json.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(args.json)
    print(f"wrote {args.json}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cpu-only", action="store_true", help="CPU kernels vs the PyTorch reference (no GPU needed)")
    p.add_argument("--lib-dir", type=Path, default=None, help="folder of libtsp3d_{cpu,cuda}.so (default: the "
                   "TSP3D_PLUGIN_DIR / build/plugins/lib search)")
    p.add_argument("--scale", type=float, default=None, help="size factor of every case (default 1, 0.02 on CPU)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per case (median reported)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, help="write the report here (atomically)")
    p.add_argument("--force", action="store_true", help="replace an existing --json report")
    args = p.parse_args()
    if args.scale is None:
        args.scale = 0.02 if args.cpu_only else 1.0
    if args.json is not None and args.json.exists() and not args.force:
        print(f"error: {args.json} already exists (pass --force to replace it)")
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
