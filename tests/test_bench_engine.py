"""``tsp3d bench-engine``: statistics and the trtexec-style summary, scene sources, the ONNX Runtime path on the
tiny bundle (JSON + PNG) and the clear error for engines without TensorRT."""
from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from test_export_shared import needs_ort, shared_bundle, tiny_dataset
from tsp3d.engine.bench_report import latency_stats, percentile, summary_lines
from tsp3d.errors import InputFileError


def test_latency_stats_are_nearest_rank():
    s = latency_stats([float(x) for x in range(10, 0, -1)])  # unsorted input
    assert (s["n"], s["min"], s["max"], s["mean"], s["median"]) == (10, 1.0, 10.0, 5.5, 5.5)
    assert (s["p50"], s["p90"], s["p95"], s["p99"]) == (5.0, 9.0, 10.0, 10.0)  # every percentile is a sample
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        latency_stats([])


def test_summary_reads_like_trtexec():
    lat = latency_stats([2.0, 4.0, 6.0])
    result = {"runtime": "tensorrt-engine", "timing": "CUDA events", "fps": 250.0, "latency_ms": lat,
              "stages": {"backbone": latency_stats([1.0, 2.0])}, "memory": {"peak_rss_mb": 100.0, "gpu_used_mb": 5.0},
              "warmup": 2, "scenes": {"count": 1, "source": "synthetic"}}
    lines = summary_lines(result)
    assert lines[0] == "=== Performance summary ==="
    assert "Throughput: 250 qps" in lines
    assert ("Latency: min = 2 ms, max = 6 ms, mean = 4 ms, median = 4 ms, percentile(90%) = 6 ms, "
            "percentile(95%) = 6 ms, percentile(99%) = 6 ms") in lines
    assert any(line.startswith("  backbone: min = 1 ms") for line in lines)
    assert "Memory: peak RSS = 100.0 MB, GPU used = 5.0 MB" in lines


def test_scene_sources(tmp_path):
    from tsp3d.engine.bench import load_scenes

    g = np.random.default_rng(0)
    for i in range(2):
        np.save(tmp_path / f"s{i}.npy", np.concatenate([g.uniform(0, 3, (1500, 3)), g.uniform(0, 1, (1500, 3))],
                                                       axis=1).astype(np.float32))
    source, scenes = load_scenes(tmp_path, 0, max_points=1000)
    assert "point clouds" in source and len(scenes) == 2 and all(p.shape == (1000, 6) for p, _ in scenes)
    source, scenes = load_scenes(None, 2, max_points=3000)
    assert source.startswith("synthetic") and [p.shape for p, _ in scenes] == [(3000, 6)] * 2
    assert all(isinstance(t, str) and t for _, t in scenes)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputFileError, match="no dataset and no point clouds"):
        load_scenes(empty, 0, 1000)


def test_engine_without_tensorrt_is_one_clear_line(tmp_path, capsys):
    try:
        import tensorrt  # noqa: F401

        pytest.skip("TensorRT is installed here")
    except ImportError:
        pass
    from tsp3d.cli import main

    engine = tmp_path / "m.engine"
    engine.write_bytes(b"x")
    code = main(["bench-engine", str(engine), "--iters", "1"])
    err = capsys.readouterr().err
    assert code == 3 and "TensorRT" in err and "Traceback" not in err


@pytest.mark.slow
@needs_ort
def test_bench_on_the_bundle_writes_json_and_png(tmp_path, capsys):
    from tsp3d.cli import main

    out, png = tmp_path / "b.json", tmp_path / "b.png"
    args = ["bench-engine", str(shared_bundle()), "--iters", "3", "--warmup", "1", "--count", "2", "--threads", "2",
            "--json", str(out), "--png", str(png)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert re.search(r"^Latency: min = [\d.]+ ms, max = [\d.]+ ms, mean = [\d.]+ ms, median = [\d.]+ ms, "
                     r"percentile\(90%\) = [\d.]+ ms", text, re.M)
    r = json.loads(out.read_text())
    assert r["runtime"] == "onnxruntime-fp32" and r["form"] == "split" and r["scenes"]["count"] == 2
    lat = r["latency_ms"]
    assert lat["n"] == 3 and lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    assert r["fps"] == pytest.approx(1e3 / lat["mean"])
    assert set(r["stages"]) == {"backbone", "head", "text_encoder"} and r["memory"]["peak_rss_mb"] > 0
    assert r["text"] == "bundle text encoder"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(args) == 2  # outputs are never overwritten without --force
    capsys.readouterr()

    lone = tmp_path / "lone" / "model.onnx"  # a graph outside its bundle: single form, seeded text features
    lone.parent.mkdir()
    shutil.copy(shared_bundle() / "model.onnx", lone)
    assert main(["bench-engine", str(lone), "--iters", "2", "--warmup", "0", "--scenes", str(tiny_dataset()),
                 "--count", "1", "--json", str(tmp_path / "lone.json")]) == 0
    r = json.loads((tmp_path / "lone.json").read_text())
    assert r["kind"] == "onnxruntime-file" and r["form"] == "single" and r["text"] == "random features"
    assert r["scenes"]["source"].startswith("dataset") and not r["stages"]
