"""``tsp3d export``: checker-valid graphs, node rules of the opset, FP16 types, metadata/manifest, atomic writes."""
from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from test_export_shared import SENTENCES, scratch, shared_bundle, tiny_checkpoint
from tsp3d.errors import CapacityError, InputFileError, OutputExistsError
from tsp3d.export import opset_spec
from tsp3d.bundle import export_bundle
from tsp3d.export.bundle import GRAPH_FILES, parse_capacities
from tsp3d.export.metadata import read_graph_metadata, sha256_file

pytestmark = pytest.mark.slow  # the first test of the process pays for one export (~1 min on 2 cores)
FLOAT, FLOAT16 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16


def _graphs():
    root = shared_bundle()
    return {(p, k): onnx.load(str(root / f)) for p, files in GRAPH_FILES.items() for k, f in files.items()}


@pytest.fixture(scope="module")
def graphs():
    return _graphs()


def _attr(node, name):
    return next((onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == name), None)


def test_every_graph_passes_the_full_checker(graphs):
    assert len(graphs) == 6
    for key, proto in graphs.items():
        onnx.checker.check_model(proto, full_check=True)
        assert {(o.domain, o.version) for o in proto.opset_import} >= {("tsp3d", 1)}, key


def test_tsp3d_nodes_follow_the_export_rules(graphs):
    for key, proto in graphs.items():
        for node in proto.graph.node:
            if node.domain != "tsp3d":
                continue
            assert "" not in node.input, (key, node.name)  # absent optional inputs are left out
            spec = opset_spec.get(node.op_type)
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            for name, value in attrs.items():
                assert spec.attribute(name).check(value) is None, (node.name, name, value)
            if any(a.name == "capacity" for a in spec.attributes):
                assert 1 <= attrs["capacity"] <= opset_spec.INT32_MAX, (key, node.name)
    single = graphs[("fp32", "single")]
    convs = [n for n in single.graph.node if n.op_type == "SparseConv"]
    assert len(convs) > 10 and {len(n.input) for n in convs} <= {3, 4}
    assert not any(n.op_type == "BatchNormalization" for n in single.graph.node)  # folded into the convs


def test_capacities_come_from_the_model_config(graphs):
    from tsp3d.checkpoint import load_checkpoint

    caps = load_checkpoint(tiny_checkpoint()).config.capacities
    nodes = graphs[("fp32", "single")].graph.node
    by_op = {op: [_attr(n, "capacity") for n in nodes if n.op_type == op] for op in
             ("Voxelize", "CoordsDown", "CoordsUp", "AppendMissing")}
    assert by_op["Voxelize"] == [caps.voxels_s1]
    assert by_op["CoordsDown"] == [caps.voxels(s) for s in (2, 4, 8, 16, 32, 64)]
    assert by_op["CoordsUp"] == [caps.up_s32, caps.up_s16]
    assert by_op["AppendMissing"] == [caps.final_s16]
    # Prune: the tightest bound the config implies (export/bounds.py), not the config's largest capacity.
    cfg = load_checkpoint(tiny_checkpoint()).config
    prunes = [_attr(n, "capacity") for n in nodes if n.op_type == "Prune"]
    assert prunes == [caps.voxels_s64, caps.up_s32, cfg.head.cba_samples, cfg.head.cba_samples], prunes


def test_typical_rows_are_recorded_for_every_data_dependent_node():
    manifest = json.loads((shared_bundle() / "manifest.json").read_text())
    typical = manifest["typical_rows"]
    if not typical["measured"]:
        pytest.skip(typical["reason"])
    graph = _graphs()[("fp32", "single")]
    dd = {n.name: _attr(n, "capacity") for n in graph.graph.node
          if n.op_type in ("Voxelize", "CoordsDown", "CoordsUp", "Prune", "AppendMissing")}
    assert set(typical["nodes"]) == set(dd) and typical["scenes"]
    for name, row in typical["nodes"].items():
        assert 0 <= row["median"] <= row["max"] <= dd[name] == row["capacity"], (name, row)
    assert set(typical["counts"]) == set(manifest["model"]["count_names"])


def test_interface_names_types_and_shapes(graphs):
    def io(proto):
        return {v.name: (v.type.tensor_type.elem_type, [d.dim_param or d.dim_value for d in
                                                          v.type.tensor_type.shape.dim])
                for v in list(proto.graph.input) + list(proto.graph.output)}

    single = io(graphs[("fp32", "single")])
    assert single == {"points": (FLOAT, ["points", 6]), "text_feats": (FLOAT, [1, "tokens", 32]),
                      "text_mask": (onnx.TensorProto.BOOL, [1, "tokens"]), "center": (FLOAT, [3]),
                      "size": (FLOAT, [3]), "score": (FLOAT, []), "counts": (onnx.TensorProto.INT64, [9])}
    backbone, head = io(graphs[("fp32", "backbone")]), io(graphs[("fp32", "head")])
    assert [v.name for v in graphs[("fp32", "backbone")].graph.input] == ["points"]
    assert backbone["v2_coords"] == (onnx.TensorProto.INT32, ["v2", 4]) and backbone["v3_feats"] == (FLOAT, ["v3", 32])
    assert set(head) == {"v1_coords", "v1_feats", "v2_coords", "v2_feats", "v3_coords", "v3_feats", "text_feats",
                         "text_mask", "center", "size", "score", "counts"}


def test_fp16_graph_types(graphs):
    proto = graphs[("fp16", "single")]
    inits = {t.name: t for t in proto.graph.initializer}
    types = {v.name: v.type.tensor_type.elem_type for v in list(proto.graph.input) + list(proto.graph.output)}
    assert types["points"] == FLOAT and types["text_feats"] == FLOAT and types["center"] == FLOAT
    convs = [n for n in proto.graph.node if n.op_type == "SparseConv"]
    weight_types = [inits[n.input[2]].data_type for n in convs]
    # Only the stem conv (x, y, z in metres) stays FP32; every other sparse conv has FP16 weights.
    assert weight_types.count(FLOAT) == 1 and weight_types.count(FLOAT16) == len(convs) - 1
    assert weight_types[0] == FLOAT
    float_weights = sum(numpy_helper.to_array(t).size for t in proto.graph.initializer if t.data_type == FLOAT)
    half_weights = sum(numpy_helper.to_array(t).size for t in proto.graph.initializer if t.data_type == FLOAT16)
    assert half_weights > 10 * float_weights
    assert any(n.op_type == "Cast" and _attr(n, "to") == FLOAT16 for n in proto.graph.node)
    backbone = graphs[("fp16", "backbone")]
    outs = {v.name: v.type.tensor_type.elem_type for v in backbone.graph.output}
    assert outs["v1_feats"] == FLOAT16 and outs["v1_coords"] == onnx.TensorProto.INT32


def test_metadata_props_and_manifest():
    root = shared_bundle()
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["format"] == "tsp3d-onnx-bundle" and manifest["opset"]["domain"] == "tsp3d"
    assert manifest["opset"]["version"] == 1 and manifest["tsp3d_version"]
    assert manifest["checkpoint"]["sha256"] == sha256_file(tiny_checkpoint())
    from tsp3d.checkpoint import load_checkpoint

    caps = load_checkpoint(tiny_checkpoint()).config.capacities
    assert manifest["model"]["voxel_size"] == 0.01 and manifest["model"]["capacities"] == caps.__dict__
    assert manifest["model"]["thresholds"]["tgp_keep_threshold"] == [0.7, 0.3]
    assert manifest["text_encoder"]["name"] == "tiny" and manifest["text_encoder"]["dim"] == 32
    assert manifest["text_encoder"]["features"]["count"] == len(SENTENCES)
    assert manifest["fp16"]["keep_fp32"] and manifest["fp16"]["report"]["nodes_fp16"] > 0
    files = manifest["files"]
    assert {"model.onnx", "backbone.onnx", "head.onnx", "model_fp16.onnx", "text_encoder.onnx",
            "text_features.npz", "tokenizer/tokenizer.json"} <= set(files)
    for rel, entry in files.items():
        assert sha256_file(root / rel) == entry["sha256"], rel
    meta = read_graph_metadata(onnx.load(str(root / "head_fp16.onnx"), load_external_data=False))
    assert meta["graph"] == "head" and meta["precision"] == "fp16"
    assert meta["opset"]["domain"] == "tsp3d" and meta["capacities"] == caps.__dict__
    assert meta["checkpoint_sha256"] == manifest["checkpoint"]["sha256"]
    assert [i["name"] for i in meta["io"]["inputs"]][:2] == ["v1_coords", "v1_feats"]
    with np.load(root / "text_features.npz", allow_pickle=False) as z:
        assert list(z["texts"]) == list(SENTENCES) and z["feats"].shape[2] == 32


def test_existing_bundle_is_refused_without_force_and_replaced_atomically(monkeypatch):
    out = scratch("atomic") / "bundle"
    shutil.copytree(shared_bundle(), out)
    before = (out / "manifest.json").read_bytes()
    with pytest.raises(OutputExistsError):
        export_bundle(tiny_checkpoint(), out)
    # A failure inside a forced export leaves the old bundle untouched and no temporary directory.
    import tsp3d.export.graph as graph

    def boom(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(graph, "export_graphs", boom)
    with pytest.raises(RuntimeError, match="simulated"):
        export_bundle(tiny_checkpoint(), out, force=True, self_check=False)
    assert (out / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["bundle"]


def test_capacity_overrides_are_checked_before_any_work(tmp_path):
    assert parse_capacities(["up_s16=70000", "final_s16 = 5"]) == {"up_s16": 70000, "final_s16": 5}
    for bad in (["up_s16"], ["up_s16=x"], ["=5"]):
        with pytest.raises(InputFileError):
            parse_capacities(bad)
    with pytest.raises(InputFileError, match="unknown capacity"):
        export_bundle(tiny_checkpoint(), tmp_path / "b", capacities={"voxels_s3": 10})
    for value in (0, 2**31):
        with pytest.raises(CapacityError):
            export_bundle(tiny_checkpoint(), tmp_path / "b", capacities={"up_s16": value})
    assert not (tmp_path / "b").exists()


def test_cli_refuses_an_existing_output_before_any_work(tmp_path, capsys):
    from tsp3d.cli import main

    (tmp_path / "bundle").mkdir()
    code = main(["export", "--checkpoint", str(tiny_checkpoint()), "--out", str(tmp_path / "bundle")])
    assert code == 2 and "already exists" in capsys.readouterr().err
    texts = tmp_path / "texts.txt"
    texts.write_text("# nothing but a comment\n\n")
    code = main(["export", "--checkpoint", str(tiny_checkpoint()), "--out", str(tmp_path / "b2"), "--texts",
                 str(texts)])
    assert code == 2 and "no sentences" in capsys.readouterr().err and not (tmp_path / "b2").exists()
