"""``tsp3d quickstart`` end to end on a very small set: every step runs, the summary is complete, a second run
reuses the finished steps instead of redoing them, and bad options are refused."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ARGS = ["--train-scenes", "4", "--val-scenes", "2", "--max-steps", "2", "--bench-scenes", "1", "--threads", "1"]


def _run(out: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "tsp3d.cli", "quickstart", "--out", str(out), *ARGS, *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, env={**os.environ, "COLUMNS": "160"})


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("qs") / "quick"
    return out, _run(out)


def test_every_step_produces_its_output(first_run):
    out, proc = first_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    for rel in ("data/meta.json", "run/quickstart.json", "bundle/manifest.json", "bundle/model.onnx",
                "validate.json", "validate.md", "latency.json", "summary.json"):
        assert (out / rel).is_file(), rel
    summary = json.loads((out / "summary.json").read_text())
    assert summary["train"]["step"] == 2 and summary["train"]["stopped_by"] == "max_steps"
    assert set(summary["latency"]) == {"pytorch-eager", "onnxruntime-fp32", "onnxruntime-fp16"}
    assert all(v["full_ms"] > 0 and v["sentence_ms"] > 0 for v in summary["latency"].values())
    assert {p["precision"] for p in summary["parity"].values()} == {"fp32", "fp16"}
    assert summary["tensorrt"]["status"] in ("skipped", "available")
    assert "Acc@0.25" in proc.stdout and "onnxruntime-fp32" in proc.stdout
    rows = summary["accuracy"]["rows"]  # the trained model next to the pretrained one and the two baselines
    assert list(rows) == ["trained (this run)", "pretrained tiny-synrefer", "baseline: random", "baseline: class-only"]
    assert summary["accuracy"]["sentences"] >= 2 and "class-only" in proc.stdout
    assert all(0 <= r["overall"]["acc@0.25"] <= 1 for r in rows.values())


def test_a_second_run_reuses_data_training_and_export(first_run):
    out, _ = first_run
    stamps = {rel: (out / rel).stat().st_mtime_ns for rel in ("data/meta.json", "run/last.pt", "bundle/model.onnx",
                                                               "accuracy.json")}
    proc = _run(out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("reusing") == 4
    assert stamps == {rel: (out / rel).stat().st_mtime_ns for rel in stamps}


def test_bad_options_are_refused_with_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tsp3d.cli", "quickstart", "--out", str(tmp_path / "q"),
                           "--train-scenes", "0"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert proc.stderr.startswith("error: train_scenes must be >= 1") and "Traceback" not in proc.stderr
    assert not (tmp_path / "q").exists()
