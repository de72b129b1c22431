"""What an exported bundle says about itself: ONNX ``metadata_props`` per graph and ``manifest.json``.

Everything a runtime needs besides the graph (voxel size, thresholds, capacities, the text encoder, interface
names and shapes) and everything needed to trace a bundle back (tsp3d version, opset, checkpoint hashes, file
hashes). ``manifest.json`` is read by ``tsp3d.runtime.manifest``; the keys below are its format (version 1).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

FORMAT = "tsp3d-onnx-bundle"
FORMAT_VERSION = 1
PREFIX = "tsp3d."  # metadata_props keys

_ELEM = {1: "float32", 10: "float16", 6: "int32", 7: "int64", 9: "bool"}


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def io_spec(proto) -> dict:
    """``{"inputs": [{name, dtype, shape}], "outputs": [...]}``; symbolic dims as their names."""

    def one(vi) -> dict:
        t = vi.type.tensor_type
        return {"name": vi.name, "dtype": _ELEM.get(t.elem_type, str(t.elem_type)),
                "shape": [d.dim_param if d.dim_param else int(d.dim_value) for d in t.shape.dim]}

    return {"inputs": [one(v) for v in proto.graph.input], "outputs": [one(v) for v in proto.graph.output]}


def model_section(cfg) -> dict:
    """The model facts a runtime needs, plus the full config (a checkpoint's config rebuilds its model)."""
    from tsp3d.model.head import COUNT_NAMES

    h = cfg.head
    return {
        "config": cfg.to_dict(),
        "voxel_size": cfg.voxel_size,
        "thresholds": {"tgp_keep_threshold": list(h.tgp_keep_threshold), "cba_threshold": h.cba_threshold,
                       "cba_samples": h.cba_samples},
        "capacities": dict(cfg.capacities.__dict__),
        "text_dim": cfg.text_dim,
        "count_names": list(COUNT_NAMES),
        "levels": {"v1": 16, "v2": 32, "v3": 64},  # tensor stride of each backbone level (base voxels)
    }


def opset_section() -> dict:
    from tsp3d.export import opset_spec
    from tsp3d.export.graph import ONNX_OPSET

    return {"domain": opset_spec.DOMAIN, "version": opset_spec.VERSION, "onnx_opset": ONNX_OPSET}


def set_graph_metadata(proto, *, graph: str, precision: str, model: dict, checkpoint: dict, text_encoder: dict):
    """Write the ``tsp3d.*`` metadata_props of one graph (replacing earlier ``tsp3d.*`` keys)."""
    import tsp3d

    props = {
        "version": tsp3d.__version__,
        "format": f"{FORMAT}/{FORMAT_VERSION}",
        "opset": json.dumps(opset_section()),
        "graph": graph,  # single | backbone | head
        "precision": precision,  # fp32 | fp16
        "voxel_size": repr(model["voxel_size"]),
        "thresholds": json.dumps(model["thresholds"]),
        "capacities": json.dumps(model["capacities"]),
        "count_names": json.dumps(model["count_names"]),
        "model_config": json.dumps(model["config"]),
        "checkpoint_sha256": checkpoint.get("sha256", ""),
        "checkpoint_state_hash": checkpoint.get("state_hash", ""),
        "text_encoder": json.dumps({k: text_encoder[k] for k in ("name", "dim") if k in text_encoder}),
        "io": json.dumps(io_spec(proto)),
    }
    keep = [p for p in proto.metadata_props if not p.key.startswith(PREFIX)]
    del proto.metadata_props[:]
    proto.metadata_props.extend(keep)
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = PREFIX + key, value
    proto.producer_name, proto.producer_version = "tsp3d", tsp3d.__version__
    proto.doc_string = f"TSP3D {graph} graph ({precision}), tsp3d {tsp3d.__version__}; see manifest.json"


def read_graph_metadata(proto) -> dict:
    """The ``tsp3d.*`` metadata_props of a graph, JSON values decoded."""
    out = {}
    for p in proto.metadata_props:
        if p.key.startswith(PREFIX):
            key = p.key[len(PREFIX):]
            try:
                out[key] = json.loads(p.value)
            except json.JSONDecodeError:
                out[key] = p.value
    return out


def file_entries(root: Path) -> dict:
    """``{relative path: {sha256, bytes}}`` of every file under ``root`` except the manifest itself."""
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel != "manifest.json":
            out[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return out
