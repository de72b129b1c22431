"""The engine manifest: an engine built with another TensorRT, plugin library or GPU is refused before loading."""
from __future__ import annotations

import json

import pytest

from tsp3d.runtime.engine_manifest import check_engine, make_manifest, manifest_path, mismatches, read_manifest
from tsp3d.errors import InputFileError, ModelFormatError


@pytest.fixture
def built(tmp_path):
    engine, plugin, source = tmp_path / "m.engine", tmp_path / "libtsp3d_trt.so", tmp_path / "model.onnx"
    engine.write_bytes(b"serialized engine")
    plugin.write_bytes(b"plugin build 1")
    source.write_bytes(b"onnx")
    m = make_manifest(engine=engine, tensorrt_version="10.3.0", gpu={"name": "Orin", "compute_capability": "8.7"},
                      plugin=plugin, kernels=None, source=source, source_meta={"graph": "single"},
                      profile={"points": {"min": [1, 6], "opt": [9, 6], "max": [9, 6]}}, build={"seconds": 1})
    manifest_path(engine).write_text(json.dumps(m))
    return engine, plugin, m


def test_matching_engine_is_accepted(built):
    engine, plugin, m = built
    assert manifest_path(engine).name == "m.engine.json"
    assert check_engine(engine, tensorrt_version="10.3.0", plugin=plugin, compute_capability="8.7") == m
    assert m["engine"]["sha256"] and m["plugin_library"]["sha256"] and m["source_onnx"]["graph"] == "single"


def test_other_tensorrt_version_is_refused(built):
    engine, plugin, _ = built
    with pytest.raises(ModelFormatError, match="built with TensorRT 10.3.0, this is TensorRT 10.14.1") as e:
        check_engine(engine, tensorrt_version="10.14.1", plugin=plugin)
    assert "rebuild" in e.value.hint


def test_other_plugin_library_is_refused(built, tmp_path):
    engine, _, _ = built
    other = tmp_path / "other.so"
    other.write_bytes(b"plugin build 2")
    with pytest.raises(ModelFormatError, match="another libtsp3d_trt.so"):
        check_engine(engine, tensorrt_version="10.3.0", plugin=other)


def test_other_gpu_architecture_is_refused(built):
    engine, plugin, m = built
    with pytest.raises(ModelFormatError, match="compute capability 8.7"):
        check_engine(engine, tensorrt_version="10.3.0", plugin=plugin, compute_capability="9.0")
    problems = mismatches(m, tensorrt_version="11.0", plugin_sha256="x", compute_capability="9.0")
    assert len(problems) == 3 and problems[2].startswith("built for")


def test_replaced_engine_or_missing_manifest_is_refused(built, tmp_path):
    engine, plugin, _ = built
    engine.write_bytes(b"another engine")
    with pytest.raises(ModelFormatError, match="does not match the sha256"):
        check_engine(engine, tensorrt_version="10.3.0", plugin=plugin)
    lone = tmp_path / "lone.engine"
    lone.write_bytes(b"x")
    with pytest.raises(ModelFormatError, match="no manifest"):
        read_manifest(lone)
    with pytest.raises(InputFileError, match="does not exist"):
        read_manifest(tmp_path / "none.engine")


@pytest.mark.parametrize("edit", [lambda m: m.update(format="x"), lambda m: m.update(format_version=2),
                                  lambda m: m.pop("plugin_library")])
def test_malformed_manifests_are_refused(built, edit):
    engine, plugin, m = built
    edit(m)
    manifest_path(engine).write_text(json.dumps(m))
    with pytest.raises(ModelFormatError):
        check_engine(engine, tensorrt_version="10.3.0", plugin=plugin)
