"""The optimization profile of an engine: min / opt / max shapes for every dynamic input dimension.

The exported graphs name their dynamic dimensions (docs/export.md): ``points`` (rows of ``points``), ``tokens``
(``text_feats``/``text_mask``) and ``v1``/``v2``/``v3`` (rows of the backbone levels, the head graph's inputs).
Every bound comes from the bundle: a row dimension's max is its capacity (``points``: ``max_points``; ``v1``:
``voxels_s16``, ``v2``: ``voxels_s32``, ``v3``: ``voxels_s64``, the levels' tensor strides 16/32/64), the token
max is the text encoder's ``max_length``. Defaults: min 1; opt = max for ``points`` (the toolkit subsamples scenes
to ``max_points``, so full scenes are the common case), half the capacity for the levels, 16 tokens.
``--min/--opt/--max-voxels`` set the row dims (each checked against its capacity: a profile larger than the
graph's capacity would only admit inputs the graph then refuses), ``--min/--opt/--max-tokens`` the tokens.
"""
from __future__ import annotations

from dataclasses import dataclass

from tsp3d.errors import InputFileError, ModelFormatError

ROW_CAPACITY = {"points": "max_points", "v1": "voxels_s16", "v2": "voxels_s32", "v3": "voxels_s64"}
DEFAULT_OPT_TOKENS = 16
DEFAULT_MAX_TOKENS = 128  # when the bundle does not say the text encoder's max_length


@dataclass(frozen=True)
class DimRange:
    min: int
    opt: int
    max: int

    def check(self, what: str) -> "DimRange":
        if not 1 <= self.min <= self.opt <= self.max:
            raise InputFileError(f"profile of {what}: need 1 <= min <= opt <= max, got min={self.min} "
                                 f"opt={self.opt} max={self.max}")
        return self


@dataclass
class ProfileOptions:
    min_voxels: int | None = None
    opt_voxels: int | None = None
    max_voxels: int | None = None
    min_tokens: int | None = None
    opt_tokens: int | None = None
    max_tokens: int | None = None


def _pick(given, default):
    return default if given is None else int(given)


def dim_ranges(symbols: set[str], capacities: dict, text_max_length: int | None,
               options: ProfileOptions | None = None) -> dict[str, DimRange]:
    """``{symbol: DimRange}`` for the symbolic dimensions ``symbols`` of a graph's inputs."""
    o = options or ProfileOptions()
    out = {}
    for sym in sorted(symbols):
        if sym in ROW_CAPACITY:
            key = ROW_CAPACITY[sym]
            if key not in capacities:
                raise ModelFormatError(f"the graph's capacities lack {key!r} (bound of dimension {sym!r})")
            cap = int(capacities[key])
            hi = _pick(o.max_voxels, cap)
            if hi > cap:
                raise InputFileError(f"--max-voxels {hi} exceeds the capacity of {sym!r} ({key}={cap})",
                                     hint="re-export with a larger --capacity, or lower --max-voxels")
            opt = _pick(o.opt_voxels, hi if sym == "points" else max(1, hi // 2))
            out[sym] = DimRange(_pick(o.min_voxels, 1), opt, hi)
        elif sym == "tokens":
            hi = _pick(o.max_tokens, text_max_length or DEFAULT_MAX_TOKENS)
            if text_max_length and hi > text_max_length:
                raise InputFileError(f"--max-tokens {hi} exceeds the text encoder's max_length {text_max_length}")
            opt = _pick(o.opt_tokens, min(DEFAULT_OPT_TOKENS, hi))
            out[sym] = DimRange(_pick(o.min_tokens, 1), opt, hi)
        else:
            raise ModelFormatError(f"dynamic dimension {sym!r} has no known bound (expected one of "
                                   f"{sorted([*ROW_CAPACITY, 'tokens'])}): not a tsp3d graph?")
        out[sym].check(f"dimension {sym!r}")
    return out


def graph_inputs(proto) -> list[tuple[str, list]]:
    """``[(name, dims)]``: ints for static dims, strings for symbolic ones; an unnamed dynamic dim is an error."""
    out = []
    for vi in proto.graph.input:
        dims = []
        for d in vi.type.tensor_type.shape.dim:
            if d.HasField("dim_value"):
                dims.append(int(d.dim_value))
            elif d.dim_param:
                dims.append(d.dim_param)
            else:
                raise ModelFormatError(f"input {vi.name!r} has an unnamed dynamic dimension")
        out.append((vi.name, dims))
    return out


def derive_profile(proto, capacities: dict, text_max_length: int | None = None,
                   options: ProfileOptions | None = None) -> dict:
    """``{input: {"min": [...], "opt": [...], "max": [...]}}`` for every input of ``proto``."""
    inputs = graph_inputs(proto)
    symbols = {d for _, dims in inputs for d in dims if isinstance(d, str)}
    ranges = dim_ranges(symbols, capacities, text_max_length, options)
    profile = {}
    for name, dims in inputs:
        profile[name] = {k: [getattr(ranges[d], k) if isinstance(d, str) else d for d in dims]
                         for k in ("min", "opt", "max")}
    return profile
