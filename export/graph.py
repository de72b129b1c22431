"""ONNX graphs of a (BatchNorm-folded, eval-mode) TSP3D: the single graph and its split into backbone + head.

One ``torch.export`` + ``torch.onnx.export`` of the whole batch-1 inference path, with the six backbone levels as
extra outputs. ``model.onnx`` is that graph without the extra outputs; ``backbone.onnx`` (points -> levels) and
``head.onnx`` (levels + text -> box) are cut from it at those six values. The three graphs therefore hold the very
same nodes: the split form cannot drift from the single graph.

Interface (docs/export.md):
    points float32 [points, 6]; text_feats float32 [1, tokens, D]; text_mask bool [1, tokens] (True = padding)
    -> center float32 [3], size float32 [3], score float32 [], counts int64 [9] (``COUNT_NAMES``)
    levels: v{1,2,3}_coords int32 [v{i}, 4], v{i}_feats [v{i}, C] (16, 32, 64 voxels)
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from tsp3d.errors import ModelFormatError
from tsp3d.export.bounds import tighten_capacities
from tsp3d.export.symbols import interface_renames, rename_symbols
from tsp3d.model.head import COUNT_NAMES, PROBE_NAMES, PROBE_SETS

INPUTS = ("points", "text_feats", "text_mask")
OUTPUTS = ("center", "size", "score", "counts")
LEVELS = ("v1_coords", "v1_feats", "v2_coords", "v2_feats", "v3_coords", "v3_feats")
TEXT_INPUTS = INPUTS[1:]
ONNX_OPSET = 20  # standard domain; LayerNormalization (17) and everything the exporter emits are in it


@dataclass
class Graphs:
    """The exported graphs (``onnx.ModelProto``). ``full`` carries the levels as extra outputs."""

    full: object

    def single(self):
        return strip_outputs(self.full, LEVELS)

    def backbone(self):
        return extract(self.full, ["points"], list(LEVELS), "tsp3d_backbone")

    def head(self):
        return extract(self.full, list(LEVELS) + list(TEXT_INPUTS), list(OUTPUTS), "tsp3d_head")


class _FullWithLevels(nn.Module):
    """The traced module: outputs, then the levels, then (``probes``) the head's intermediate values."""

    def __init__(self, model, probes: bool = False):
        super().__init__()
        self.model, self.probes = model, probes

    def forward(self, points, text_feats, text_mask, cba_coords=None):
        levels = self.model.encode_scene(points)
        seen = {} if self.probes else None
        out = self.model.ground(*levels, text_feats, text_mask, cba_coords, seen)
        return (*out, *levels, *([seen[n] for n in PROBE_NAMES] if self.probes else []))


def example_inputs(model, n_points: int = 6000, n_tokens: int = 8, seed: int = 0):
    """A deterministic synthetic room (floor, walls, boxes) and random text features to trace with.

    The trace does not depend on the values (no data-dependent Python); the room only has to be a valid scene.
    """
    g = torch.Generator().manual_seed(seed)
    xyz = torch.rand((n_points, 3), generator=g) * torch.tensor([5.0, 4.0, 2.5])
    xyz[: n_points // 3, 2] = 0.0  # a floor, so every level is populated
    rgb = torch.rand((n_points, 3), generator=g)
    points = torch.cat([xyz, rgb], dim=1)
    feats = torch.randn((1, n_tokens, model.cfg.text_dim), generator=g)
    mask = torch.zeros((1, n_tokens), dtype=torch.bool)
    mask[0, -2:] = True
    return points, feats, mask


def _dynamic_shapes(cba_input: bool):
    n, tokens = torch.export.Dim("points", min=1), torch.export.Dim("tokens", min=1)
    shapes = ({0: n}, {1: tokens}, {1: tokens})
    return shapes + (({0: torch.export.Dim("cba", min=1)},) if cba_input else ())


def probe_output(name: str) -> str:
    """Graph output name of a head probe (``tsp3d.model.head.PROBE_NAMES``)."""
    return f"probe_{name}"


def export_graphs(model, example=None, *, cba_input: bool = False, probes: bool = False) -> Graphs:
    """Trace ``model`` (a folded, eval-mode ``TSP3D``) and translate it to ONNX (domain ``tsp3d`` v1).

    ``cba_input``: the graph takes ``cba_coords`` int32 [cba, 4] (V1 sites) as the CBA sample instead of our
    deterministic rule (to reproduce an official evaluation's draw). ``probes``: the head's intermediate sets and
    logits become extra outputs ``probe_<name>`` (parity and golden-fixture checks)."""
    from tsp3d.export import register_schemas
    from tsp3d.export import exact_int_div, torch_ops

    register_schemas()
    if model.training:
        raise ModelFormatError("export needs an eval-mode model (dropout and BatchNorm statistics are frozen)")
    example = example if example is not None else example_inputs(model)
    if cba_input and len(example) == 3:
        example = (*example, torch.zeros((8, 4), dtype=torch.int32))  # values do not shape the trace
    module = _FullWithLevels(model, probes).eval()
    inputs = list(INPUTS) + (["cba_coords"] if cba_input else [])
    outputs = list(OUTPUTS + LEVELS) + ([probe_output(n) for n in PROBE_NAMES] if probes else [])
    # Prune calls that pass no capacity get the config's largest one here; tighten_capacities lowers it below.
    prune_bound = max(dataclasses.astuple(model.cfg.capacities))
    table = {**torch_ops.translation_table(prune_bound), **exact_int_div.translation_table()}
    chatter = io.StringIO()  # the exporter prints progress lines; keep them for the error message only
    # The exporter logs a warning per torchvision op it cannot register; torchvision is not used here.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    try:
        with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(chatter):
            warnings.simplefilter("ignore")
            ep = torch.export.export(module, example, dynamic_shapes=_dynamic_shapes(cba_input))
            program = torch.onnx.export(ep, example, dynamo=True, custom_translation_table=table,
                                        optimize=True, opset_version=ONNX_OPSET, input_names=inputs,
                                        output_names=outputs, verbose=False)
    except Exception as e:
        from tsp3d.errors import Tsp3dError

        if isinstance(e, Tsp3dError):
            raise
        tail = "\n".join(chatter.getvalue().strip().splitlines()[-5:])
        raise ModelFormatError(f"ONNX export failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                               + (f"\n{tail}" if tail else "")) from e
    proto = program.model_proto
    _name_dims(proto, model.cfg)
    # Every data-dependent node gets the tightest bound the config implies (export/bounds.py).
    tighten_capacities(proto, {"points": model.cfg.capacities.max_points})
    return Graphs(proto)


# ---------------------------------------------------------------- graph surgery


def _set_dims(value_info, dims) -> None:
    shape = value_info.type.tensor_type.shape
    del shape.dim[:]
    for d in dims:
        dim = shape.dim.add()
        if isinstance(d, str):
            dim.dim_param = d
        else:
            dim.dim_value = int(d)


def _name_dims(proto, cfg) -> None:
    """Readable, documented symbolic dims on the interface (the exporter writes s0, s57, ...)."""
    c = cfg.head.channels
    dims = {"points": ["points", 6], "text_feats": [1, "tokens", cfg.text_dim], "text_mask": [1, "tokens"],
            "center": [3], "size": [3], "score": [], "counts": [len(COUNT_NAMES)]}
    for i in (1, 2, 3):
        dims[f"v{i}_coords"], dims[f"v{i}_feats"] = [f"v{i}", 4], [f"v{i}", c]
    dims["cba_coords"] = ["cba", 4]
    for name in PROBE_NAMES:  # sets [M, 4], logits [M], top1 [1]
        dims[probe_output(name)] = [1] if name == "top1" else [f"{name}_n", 4] if name in PROBE_SETS else \
            [f"{name}_n"]
    renames = interface_renames(proto, dims)
    for vi in list(proto.graph.input) + list(proto.graph.output):
        want = dims.get(vi.name)
        if want is None:
            raise ModelFormatError(f"unexpected graph value {vi.name!r} in the exported model")
        _set_dims(vi, want)
    # Interface values may also appear in value_info: drop those entries; the interface names replace the
    # exporter's symbols everywhere else.
    names = set(dims)
    keep = [vi for vi in proto.graph.value_info if vi.name not in names]
    del proto.graph.value_info[:]
    proto.graph.value_info.extend(keep)
    rename_symbols(proto, renames)


def strip_outputs(proto, names):
    """A copy of ``proto`` without the graph outputs ``names`` (the values stay: other nodes use them)."""
    import onnx

    out = onnx.ModelProto()
    out.CopyFrom(proto)
    keep = [o for o in out.graph.output if o.name not in set(names)]
    gone = [o for o in out.graph.output if o.name in set(names)]
    del out.graph.output[:]
    out.graph.output.extend(keep)
    out.graph.value_info.extend(gone)  # their shapes stay known
    return out


def extract(proto, inputs: list[str], outputs: list[str], name: str):
    """The sub-graph computing ``outputs`` from ``inputs`` (nodes, initializers, opsets and metadata kept).

    Fails when the sub-graph needs a value that is neither one of ``inputs`` nor computed from them, i.e. when
    the cut is not a clean one.
    """
    import onnx

    graph = proto.graph
    producer = {o: n for n in graph.node for o in n.output}
    have = set(inputs) | {t.name for t in graph.initializer}
    infos = {v.name: v for v in list(graph.input) + list(graph.output) + list(graph.value_info)}
    needed, stack, seen = set(), list(outputs), set()
    while stack:
        value = stack.pop()
        if value in needed or value in have or value == "":
            continue
        needed.add(value)
        node = producer.get(value)
        if node is None:
            raise ModelFormatError(f"cannot cut {name}: value {value!r} is not computed from {inputs}")
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend(node.input)
    ordered = [n for n in graph.node if id(n) in seen]  # keep the topological order
    used = {i for n in ordered for i in n.input}
    inits = [t for t in graph.initializer if t.name in used]
    missing = [v for v in inputs + outputs if v not in infos]
    if missing:
        raise ModelFormatError(f"cannot cut {name}: no type for {missing}")
    new = onnx.helper.make_graph(ordered, name, [infos[v] for v in inputs], [infos[v] for v in outputs], inits,
                                 value_info=[v for k, v in infos.items() if k in needed and k not in outputs])
    out = onnx.helper.make_model(new, opset_imports=list(proto.opset_import), ir_version=proto.ir_version,
                                 producer_name=proto.producer_name, producer_version=proto.producer_version)
    out.metadata_props.extend(proto.metadata_props)
    return out
