"""Library-level refusals (typed errors), capacity bounds and atomic outputs — the cases the CLI tests cannot reach
or that belong to the library API (test_reliability_cli.py and
test_reliability_cli_models.py cover the same inputs through the command line)."""
from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from plyfile import PlyData, PlyElement

from test_export_shared import room_points, tiny_checkpoint
from tsp3d.errors import CapacityError, InputFileError, ModelFormatError, SparseInputError
from tsp3d.runtime.base import VOXEL_MAX, VOXEL_MIN, check_points

ROOM = room_points(2000, seed=3)


@pytest.fixture(scope="module")
def torch_rt():
    from tsp3d.runtime.torch_runtime import TorchRuntime

    return TorchRuntime(tiny_checkpoint())


# ---------------------------------------------------------------- point clouds


def test_colours_0_255_and_0_1_read_to_identical_points(tmp_path):
    """The colour rule (docs/data-format.md): integers and floats above 1 are 8-bit values divided by 256; floats
    <= 1 are kept. Every encoding of the same 8-bit colours reads to the same bits."""
    from tsp3d.data.pointcloud import read_point_cloud

    rgb8 = np.random.default_rng(1).integers(0, 256, (len(ROOM), 3)).astype(np.uint8)
    xyz = ROOM[:, :3]
    np.save(tmp_path / "unit.npy", np.c_[xyz, rgb8 / np.float32(256)].astype(np.float32))
    np.save(tmp_path / "f255.npy", np.c_[xyz, rgb8.astype(np.float32)])
    np.save(tmp_path / "f255_64.npy", np.c_[xyz, rgb8].astype(np.float64))
    v = np.empty(len(xyz), dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("red", "u1"), ("green", "u1"),
                                  ("blue", "u1")])
    v["x"], v["y"], v["z"] = xyz.T
    v["red"], v["green"], v["blue"] = rgb8.T
    for text in (False, True):
        PlyData([PlyElement.describe(v, "vertex")], text=text).write(str(tmp_path / f"u8_{text}.ply"))
    clouds = [read_point_cloud(tmp_path / n) for n in ("unit.npy", "f255.npy", "f255_64.npy", "u8_False.ply",
                                                        "u8_True.ply")]
    for c in clouds[1:]:
        assert c.dtype == np.float32 and np.array_equal(c, clouds[0])
    assert float(clouds[0][:, 3:].max()) <= 255 / 256


@pytest.mark.parametrize("rgb, match", [
    (lambda: ROOM[:, 3:] * 255, r"in \[0, 1\], found values in \[.*, 2\d\d"),
    (lambda: -ROOM[:, 3:], r"in \[0, 1\]"),
    (lambda: np.where(np.arange(len(ROOM))[:, None] == 9, np.nan, ROOM[:, 3:]), "NaN/Inf"),
])
def test_runtimes_refuse_colours_outside_0_1(rgb, match):
    """Arrays handed to a runtime must already follow the rule: 8-bit colours are refused (with the converter
    named), never fed to the model as values up to 255."""
    with pytest.raises(InputFileError, match=match) as err:
        check_points(np.c_[ROOM[:, :3], rgb()].astype(np.float32), 10_000)
    assert "colors_to_unit" in err.value.hint


def test_a_file_is_refused_from_its_header_before_it_is_read(tmp_path):
    """A header that declares 5M points is refused with the bound even though the body is missing: the count is
    checked before anything is loaded."""
    from tsp3d.data.pointcloud import read_point_cloud

    with open(tmp_path / "big.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (5_000_000, 3)})
        f.write(b"\0" * 64)
    with pytest.raises(InputFileError, match="5000000 points, more than max_points=20000"):
        read_point_cloud(tmp_path / "big.npy", max_points=20_000)
    (tmp_path / "big.bin").write_bytes(b"\0" * (4 * 6 * 30_001))
    with pytest.raises(InputFileError, match="30001 points, more than max_points=30000"):
        read_point_cloud(tmp_path / "big.bin", columns=6, max_points=30_000)
    with pytest.raises(InputFileError, match="not a readable .npy"):  # the body is still checked when it fits
        read_point_cloud(tmp_path / "big.npy")


def test_five_million_points_subsample_deterministically(tmp_path):
    from tsp3d.data.pointcloud import read_point_cloud

    path = tmp_path / "huge.npy"
    arr = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(5_000_000, 3))
    arr[:] = np.random.default_rng(0).uniform(-1, 1, (5_000_000, 3)).astype(np.float32)
    del arr
    a = read_point_cloud(path, max_points=20_000, subsample_to_max=True)
    b = read_point_cloud(path, max_points=20_000, subsample_to_max=True)
    assert a.shape == (20_000, 6) and np.array_equal(a, b)
    with pytest.raises(CapacityError, match="5000000 points exceed capacities.max_points=20000"):
        check_points(np.zeros((5_000_000, 6), np.float32), 20_000)


def test_a_single_point_gives_a_finite_box(torch_rt):
    r = torch_rt.predict(ROOM[:1], np.ones((1, 3, 32), np.float32), np.zeros((1, 3), bool))
    assert np.isfinite(r.box).all() and np.isfinite(r.score) and r.counts["v3"] == 1


def _at_voxel(v: int) -> np.float32:
    return np.float32((v + 0.5) * 0.01)  # the middle of voxel v at 1 cm


def test_the_coordinate_limit_is_exact(torch_rt):
    """A scene whose voxels reach VOXEL_MIN and VOXEL_MAX runs; one voxel further is refused with the limit in
    metres and the fixes."""
    p = ROOM.copy()
    p[0, 0], p[1, 1], p[2, 2] = _at_voxel(VOXEL_MIN), _at_voxel(VOXEL_MAX), _at_voxel(VOXEL_MIN)
    assert np.isfinite(torch_rt.predict(p, np.ones((1, 3, 32), np.float32), np.zeros((1, 3), bool)).box).all()
    for row, axis, v in ((0, 0, VOXEL_MIN - 1), (1, 1, VOXEL_MAX + 1), (2, 2, -40_000)):
        q = ROOM.copy()
        q[row, axis] = _at_voxel(v)
        with pytest.raises(InputFileError, match=rf"point {row} has {'xyz'[axis]} = .*within \[-327.04, 327.67\] "
                                                 rf"m of the origin") as err:
            torch_rt.encode_scene(q)
        assert "re-centre" in err.value.hint and "voxel_size" in err.value.hint


def test_the_margin_below_is_what_generative_upsampling_needs():
    """Why VOXEL_MIN is -32768 + 64: a voxel at VOXEL_MIN - 1 lands on -32768 at stride 64, whose upsampled
    children leave the 16-bit range; a voxel at VOXEL_MIN does not. (The runtime check makes this data-independent:
    the model alone fails only when pruning happens to keep that voxel.)"""
    from tsp3d.sparse import ops

    def through_the_levels(x: int):
        c = torch.tensor([[0, x, 0, 0]], dtype=torch.int32)
        for s in (1, 2, 4, 8, 16, 32):
            c = ops.coords_down(c, s, 0)
        return ops.coords_up(ops.coords_up(c, 64, 0)[:1], 32, 0)

    through_the_levels(VOXEL_MIN)
    with pytest.raises(SparseInputError, match="coordinate range"):
        through_the_levels(VOXEL_MIN - 1)


# ---------------------------------------------------------------- text


@pytest.fixture(scope="module")
def tiny_encoder():
    from tsp3d.text import load_text_encoder

    return load_text_encoder("tiny")


def test_text_with_no_known_token_is_refused_and_unicode_is_accepted(tiny_encoder):
    for bad in ("\U0001FA91", "\x00\x07", "\u200b\u200b", "黑色的椅子"):  # emoji, control, zero-width, CJK
        with pytest.raises(InputFileError, match="no word or character the tiny encoder knows"):
            tiny_encoder.encode([bad])
    out = tiny_encoder.encode(["la chaise près de la fenêtre"])  # accents are normalised away
    assert torch.equal(out.feats, tiny_encoder.encode(["la chaise pres de la fenetre"]).feats)


def test_the_bundle_text_encoder_applies_the_same_rules(tiny_encoder, tmp_path):
    """``OnnxTextEncoder.encode`` (robots: tokenizers + ONNX Runtime, no torch) checks before running its graph."""
    from tokenizers import Tokenizer

    from tsp3d.runtime.text_encoder import OnnxTextEncoder

    tiny_encoder.tokenizer.save_pretrained(str(tmp_path))
    enc = OnnxTextEncoder.__new__(OnnxTextEncoder)
    enc.tokenizer = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    enc.tokenizer.no_padding()
    enc.tokenizer.no_truncation()
    enc.unk_id = enc.tokenizer.token_to_id(enc.tokenizer.model.unk_token)
    enc.name, enc.max_length = "tiny", 512
    enc.session = types.SimpleNamespace(run=lambda *a: pytest.fail("the graph ran on a refused text"))
    for bad, match in (("", "empty"), (" \n", "empty"), ("\U0001FA91", "no word"), ("\x00", "no word"),
                       ("chair " * 600, "3002 tokens, more than the 512")):
        with pytest.raises(InputFileError, match=match):
            enc.encode(bad)


def test_every_sentence_is_checked_before_the_scene_is_encoded():
    """``ground_sentences`` encodes (and so checks) all sentences first: a bad one fails before the backbone."""
    from tsp3d.ground import ground_sentences

    class Stub:
        label = "stub"

        def encode_text(self, text):
            if not text.strip():
                raise InputFileError("empty text")
            return types.SimpleNamespace(feats=None, mask=None)

        def encode_scene(self, points):
            pytest.fail("the scene was encoded before every sentence was checked")

    with pytest.raises(InputFileError, match="empty"):
        ground_sentences(Stub(), ROOM, ["the lamp", " "])


# ---------------------------------------------------------------- bundles, ONNX files, engines


GOOD_MODEL = {"text_dim": 32, "voxel_size": 0.01, "capacities": {"max_points": 100, "up_s16": 50},
              "count_names": [], "config": {"voxel_size": 0.01, "capacities": {"up_s32": 64},
                                            "head": {"attn_heads": 4, "channels": 32, "cba_samples": 16}}}


@pytest.mark.parametrize("change, match", [
    (lambda m: m.pop("text_dim"), "text_dim is missing"),
    (lambda m: m.update(text_dim="32"), "text_dim is missing or not a positive integer"),
    (lambda m: m.pop("capacities"), "capacities.max_points is missing"),
    (lambda m: m["capacities"].pop("max_points"), "capacities.max_points is missing"),
    (lambda m: m["capacities"].update(up_s16=0), "capacities.up_s16 is not a positive integer"),
    (lambda m: m.update(voxel_size=0), "voxel_size 0 is not a positive number"),
    (lambda m: m.pop("count_names"), "count_names is missing"),
])
def test_bundle_metadata_that_runtimes_need_is_checked_on_open(tmp_path, change, match):
    from tsp3d.runtime.manifest import Bundle

    model = json.loads(json.dumps(GOOD_MODEL))
    change(model)
    manifest = {"format": "tsp3d-onnx-bundle", "format_version": 1, "opset": {"domain": "tsp3d", "version": 1},
                "model": model, "graphs": {}, "files": {}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match=match) as err:
        Bundle(tmp_path)
    assert "re-export" in err.value.hint


def test_bundle_facts():
    from tsp3d.runtime.manifest import _model_section_problem

    assert _model_section_problem(GOOD_MODEL) is None
    assert _model_section_problem({k: v for k, v in GOOD_MODEL.items() if k != "voxel_size"}) is None


def test_a_bundle_with_incomplete_text_encoder_metadata(tmp_path):
    from tsp3d.runtime.manifest import Bundle
    from tsp3d.runtime.text_encoder import OnnxTextEncoder

    manifest = {"format": "tsp3d-onnx-bundle", "format_version": 1, "opset": {"domain": "tsp3d", "version": 1},
                "model": GOOD_MODEL, "graphs": {}, "files": {}, "text_encoder": {"file": "text_encoder.onnx"}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match=r"text_encoder lacks \['name', 'dim', 'max_length', 'tokenizer'\]"):
        OnnxTextEncoder(Bundle(tmp_path))
    manifest["text_encoder"] = {"file": "text_encoder.onnx", "name": "tiny", "dim": 32, "max_length": 512,
                                "tokenizer": "tokenizer"}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "tokenizer").mkdir()
    (tmp_path / "tokenizer" / "tokenizer.json").write_text("{not json")
    with pytest.raises(ModelFormatError, match="not a readable tokenizer"):
        OnnxTextEncoder(Bundle(tmp_path))


def _proto(opsets: dict[str, int], op: str = "Identity"):
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node(op, ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    m.ir_version = 10
    return m


@pytest.mark.parametrize("opsets, match", [
    ({"": 20, "tsp3d": 2}, "'tsp3d' opset version 2; this libtsp3d_ort.so implements version 1"),
    ({"": 20, "tsp3d": 0}, "'tsp3d' opset version 0"),
    ({"": 99}, "standard ONNX opset 99"),
])
def test_graphs_of_another_opset_are_refused_before_onnx_runtime(opsets, match):
    from tsp3d.runtime.ort_session import make_session

    for model in (_proto(opsets), _proto(opsets).SerializeToString()):
        with pytest.raises(ModelFormatError, match=match):
            make_session(model)


def test_what_onnx_runtime_cannot_load_is_one_typed_line():
    from tsp3d.runtime.ort_session import make_session
    from tsp3d.utils.libraries import find_library

    if find_library("ort") is None:
        pytest.skip("libtsp3d_ort.so not built")
    with pytest.raises(ModelFormatError, match=r"ONNX Runtime .* cannot load the model: .*NoSuchOp") as err:
        make_session(_proto({"": 20}, op="NoSuchOp"))
    assert "\n" not in str(err.value) and len(str(err.value)) < 400


def test_an_engine_of_another_tensorrt_or_plugin_version_is_a_model_format_error(tmp_path):
    """TensorRT returns no engine (and logs why) for an engine built with another TensorRT or plugin library:
    the runtime says so and how to fix it. Fake TensorRT objects: no TensorRT here."""
    from tsp3d.runtime.tensorrt_runtime import _Engine

    path = tmp_path / "model.engine"
    path.write_bytes(b"\0" * 64)
    logger = types.SimpleNamespace(errors=["IRuntime::deserializeCudaEngine: Error Code 1: Serialization "
                                           "(Version tag does not match. Current 10.14, serialized engine 10.3)"])
    runtime = types.SimpleNamespace(deserialize_cuda_engine=lambda data: None)
    with pytest.raises(ModelFormatError, match="cannot deserialize .*Version tag does not match") as err:
        _Engine(types.SimpleNamespace(), runtime, logger, path)
    assert "rebuild" in err.value.hint
    with pytest.raises(InputFileError, match="does not exist"):
        _Engine(types.SimpleNamespace(), runtime, logger, tmp_path / "none.engine")


def test_an_engine_whose_manifest_names_another_tensorrt_or_plugin_is_refused_before_loading(tmp_path):
    """``tsp3d build-engine`` writes ``model.engine.json``; the runtime compares it with this TensorRT and plugin
    library before TensorRT reads the engine (fake TensorRT module: none here)."""
    from tsp3d.runtime.engine_manifest import make_manifest, manifest_path
    from tsp3d.export.metadata import sha256_file
    from tsp3d.runtime.tensorrt_runtime import check_engine_manifest

    engine, plugin, other, onnx_file = (tmp_path / n for n in ("m.engine", "libtsp3d_trt.so", "old.so", "m.onnx"))
    for f, data in ((engine, b"engine"), (plugin, b"plugin v2"), (other, b"plugin v1"), (onnx_file, b"onnx")):
        f.write_bytes(data)
    trt = types.SimpleNamespace(__version__="10.14.1")
    check_engine_manifest(trt, engine, plugin, "9.0")  # no manifest (trtexec): nothing to compare
    manifest = make_manifest(engine=engine, tensorrt_version="10.3.0", gpu={"name": "Orin", "compute_capability":
                                                                            "8.7"}, plugin=other, kernels=None,
                             source=onnx_file, source_meta={}, profile={}, build={})
    manifest_path(engine).write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="built with TensorRT 10.3.0, this is TensorRT 10.14.1.*another "
                                               "libtsp3d_trt.so.*compute capability 8.7") as err:
        check_engine_manifest(trt, engine, plugin, "9.0")
    assert "build-engine" in err.value.hint
    manifest["tensorrt_version"] = "10.14.1"
    manifest["plugin_library"]["sha256"] = sha256_file(plugin)
    manifest_path(engine).write_text(json.dumps(manifest))
    check_engine_manifest(trt, engine, plugin, "8.7")  # the machine it was built for: accepted


# ---------------------------------------------------------------- capacities in PyTorch


def test_pytorch_capacity_errors_name_the_bound_and_how_to_raise_it():
    from tsp3d.model import TSP3D, load_config

    cfg = load_config("tiny").replace(text_encoder="tiny", text_dim=32)
    cfg.capacities.voxels_s16 = 10
    model = TSP3D(cfg).eval()
    with pytest.raises(CapacityError, match=r"coords_down\(stride=8\) produced \d+ rows, over its capacity of 10") \
            as err:
        model.encode_scene(torch.from_numpy(ROOM))
    assert "raise the capacity" in err.value.hint and "--capacity" in err.value.hint


# ---------------------------------------------------------------- nothing lost


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_an_export_that_fails_midway_leaves_nothing_and_keeps_the_old_bundle(tmp_path, monkeypatch, failure):
    from tsp3d.export import graph
    from tsp3d.bundle import export_bundle

    def broken(*args, **kwargs):
        raise failure

    monkeypatch.setattr(graph, "export_graphs", broken)
    with pytest.raises(type(failure)):
        export_bundle(tiny_checkpoint(), tmp_path / "bundle", text_encoder=False)
    assert list(tmp_path.iterdir()) == []  # neither the bundle nor its temporary sibling
    old = tmp_path / "old"
    old.mkdir()
    (old / "manifest.json").write_text("old")
    with pytest.raises(type(failure)):
        export_bundle(tiny_checkpoint(), old, text_encoder=False, force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["old"] and (old / "manifest.json").read_text() == "old"


def test_atomic_writes_keep_the_old_file_on_failure(tmp_path):
    from tsp3d.utils.atomic import atomic_path, write_json

    target = write_json(tmp_path / "r.json", {"v": 1})
    with pytest.raises(OSError):
        with atomic_path(target, force=True) as tmp:
            tmp.write_text('{"v": 2, "half')
            raise OSError("no space left on device")
    assert json.loads(Path(target).read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
