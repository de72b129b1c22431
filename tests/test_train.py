"""Training: a run stopped and resumed follows the same trajectory as an uninterrupted one; a killed run resumes
from its last checkpoint; DDP on 2 CPU processes (gloo) trains and checkpoints; evaluation reports the metrics."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tsp3d.checkpoint import load_checkpoint
from tsp3d.train import TrainOptions, train

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    """A tiny synthetic dataset and a micro config (same topology as tiny, small sizes) so steps take ~0.1 s."""
    from tsp3d.data.synth import generate

    root = tmp_path_factory.mktemp("micro")
    data = root / "data"
    generate(data, train_scenes=3, val_scenes=2, points=3000, seed=1, workers=1)
    cfg = json.loads((ROOT / "tsp3d" / "configs" / "tiny.json").read_text())
    cfg["name"] = "micro"
    cfg["text_encoder"], cfg["text_dim"] = "tiny", _tiny_text_dim()
    cfg["backbone"].update(stem_channels=8, max_channels=16)
    cfg["head"].update(channels=16, attn_ffn=16, cba_samples=64, train_attn_samples=[16, 64], train_topk_32=64,
                       train_topk_16=[32, 64])
    cfg["capacities"]["max_points"] = 3000
    path = root / "micro.json"
    path.write_text(json.dumps(cfg))
    return data, path


def _tiny_text_dim() -> int:
    from tsp3d.text.registry import load_text_encoder

    return load_text_encoder("tiny").dim


def _opts(micro, out, **kw):
    data, cfg = micro
    base = dict(config=str(cfg), data=str(data), out=str(out), batch_size=2, val_every=0, ckpt_every_steps=1,
                log_every_steps=1, threads=1)
    return TrainOptions(**{**base, **kw})


def test_stop_and_resume_follows_the_same_trajectory(micro, tmp_path):
    straight = train(_opts(micro, tmp_path / "a", max_steps=4), progress=False)
    assert straight.step == 4 and straight.stopped_by == "max_steps"
    train(_opts(micro, tmp_path / "b", max_steps=2), progress=False)
    resumed = train(_opts(micro, tmp_path / "b", max_steps=4), resume=True, progress=False)
    assert resumed.step == 4
    a, b = load_checkpoint(tmp_path / "a" / "last.pt"), load_checkpoint(tmp_path / "b" / "last.pt")
    assert a.step == b.step == 4
    for k in a.state:
        assert torch.equal(a.state[k], b.state[k]), k
    rows = (tmp_path / "b" / "train_log.csv").read_text().strip().splitlines()
    assert [int(r.split(",")[0]) for r in rows[1:]] == [1, 2, 3, 4]


def test_refuses_a_non_empty_run_dir_without_resume_or_force(micro, tmp_path):
    from tsp3d.errors import OutputExistsError

    train(_opts(micro, tmp_path / "r", max_steps=1), progress=False)
    with pytest.raises(OutputExistsError):
        train(_opts(micro, tmp_path / "r", max_steps=1), progress=False)
    assert train(_opts(micro, tmp_path / "r", max_steps=1), force=True, progress=False).step == 1


def _cli(*args, env=None):
    return [sys.executable, "-m", "tsp3d.cli", *args]


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_checkpoint(micro, tmp_path):
    data, cfg = micro
    out = tmp_path / "killed"
    args = ["train", "--config", str(cfg), "--data", str(data), "--out", str(out), "--batch-size", "2",
            "--val-every", "0", "--ckpt-every", "1", "--threads", "1", "--max-steps", "1000"]
    proc = subprocess.Popen(_cli(*args), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        try:
            if load_checkpoint(out / "last.pt").step >= 2:
                break
        except Exception:  # not written yet
            pass
        time.sleep(0.5)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = load_checkpoint(out / "last.pt").step
    assert killed_at >= 2
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")], "a half-written file was left behind"
    done = subprocess.run(_cli(*args[:-1], str(killed_at + 2), "--resume"), cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert load_checkpoint(out / "last.pt").step == killed_at + 2


@pytest.mark.slow
def test_ddp_two_cpu_processes(micro, tmp_path):
    data, cfg = micro
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                        "29517", "-m", "tsp3d.cli", "train", "--config", str(cfg), "--data", str(data), "--out",
                        str(out), "--batch-size", "1", "--val-every", "0", "--max-steps", "3", "--threads", "1"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    ck = load_checkpoint(out / "last.pt")
    assert ck.step == 3 and ck.meta["options"]["batch_size"] == 1
    rows = (out / "train_log.csv").read_text().strip().splitlines()
    assert rows[0].startswith("step,") and rows[1].startswith("1,")  # rank 0 alone writes the log


def test_evaluate_reports_splits_and_latency(micro, tmp_path):
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.evaluation import evaluate
    from tsp3d.model import TSP3D
    from tsp3d.model.config import load_config
    from tsp3d.text.registry import load_text_encoder

    data, cfg_path = micro
    torch.manual_seed(0)
    model = TSP3D(load_config(cfg_path))
    ds = GroundingDataset(data, "val")
    rep = evaluate(model, ds, load_text_encoder("tiny"))
    acc = rep["accuracy"]
    assert acc["overall"]["n"] == len(ds) == acc["unique"]["n"] + acc["multiple"]["n"]
    assert 0.0 <= acc["overall"]["acc@0.25"] <= 1.0
    assert rep["latency"]["single_query"]["n"] == len(ds)
    again = evaluate(model, ds, load_text_encoder("tiny"))  # inference is deterministic
    assert [p["box"] for p in again["predictions"]] == [p["box"] for p in rep["predictions"]]
