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

import numpy as np
import pytest
import torch

from tsp3d.checkpoint import load_checkpoint
from tsp3d.errors import InputFileError
from tsp3d.train import TrainOptions, train
from tsp3d.train.batches import epoch_order

ROOT = Path(__file__).resolve().parents[1]


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
    assert killed_at >= 2  # last.pt is whole whenever the kill lands (atomic rename)
    # A kill during a checkpoint write leaves its temporary sibling; resuming removes it.
    (out / ".last.pt.stale.tmp").write_bytes(b"half a checkpoint")
    done = subprocess.run(_cli(*args[:-1], str(killed_at + 2), "--resume"), cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert load_checkpoint(out / "last.pt").step == killed_at + 2
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")], "a half-written file was left behind"


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


def test_step_schedule_equals_multisteplr_and_cosine_ends_at_zero():
    from tsp3d.train.schedule import LrSchedule

    params = [torch.nn.Parameter(torch.zeros(1))]
    ref_opt = torch.optim.SGD(params, lr=0.5)
    ref = torch.optim.lr_scheduler.MultiStepLR(ref_opt, [3, 7], gamma=0.1)
    ours = LrSchedule(torch.optim.SGD(params, lr=0.5), "step", 0.5, milestones_steps=[3, 7], gamma=0.1)
    for step in range(10):  # the LR used by iteration `step`
        assert ours.apply(step, 0.0) == pytest.approx(ref.get_last_lr()[0])
        ref_opt.step()
        ref.step()
    cos = LrSchedule(torch.optim.SGD(params, lr=1.0), "cosine", 1.0, warmup_steps=4, max_steps=100)
    assert [cos.lr(s, 0.0) for s in range(3)] == pytest.approx([0.25, 0.5, 0.75], abs=1e-3)
    assert cos.lr(50, 0.0) == pytest.approx(0.5) and cos.lr(100, 0.0) == pytest.approx(0.0)
    # under a time budget the progress is the trained time, whichever limit comes first
    timed = LrSchedule(torch.optim.SGD(params, lr=1.0), "cosine", 1.0, budget_s=60.0, max_steps=1000)
    assert timed.lr(10, 30.0) == pytest.approx(0.5) and timed.lr(10, 90.0) == pytest.approx(0.0)
    assert timed.lr(500, 1.0) == pytest.approx(0.5, abs=0.01)


def test_prepared_scenes_equal_a_fresh_subsample_and_stay_bounded(micro):
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.data.points import subsample_indices
    from tsp3d.train.scenes import PreparedScenes

    data, _ = micro
    ds = GroundingDataset(data, "train")
    prepared = PreparedScenes(ds, 1000)
    scene, ann = prepared[0]
    fresh = ds[0][0]
    keep = subsample_indices(fresh.points.shape[0], 1000)
    assert ann.ann_id == ds.annotations[0].ann_id
    assert np.array_equal(scene.points, fresh.points[keep]) and np.array_equal(scene.point_objects,
                                                                               fresh.point_objects[keep])
    assert prepared[0][0] is scene  # kept
    small = PreparedScenes(ds, 1000, max_bytes=scene.points.nbytes + scene.point_objects.nbytes)
    ids = ds.scene_ids
    for sid in ids:
        small.scene(sid)
    assert list(small._scenes) == [ids[-1]]  # only the newest fits the bound


def test_budget_counts_training_time_and_validates_every_n_steps(micro, tmp_path):
    from tsp3d.train.logs import read_csv

    res = train(_opts(micro, tmp_path / "v", max_steps=4, val_every=0, val_every_steps=2, val_samples=2,
                      lr_schedule="cosine", warmup_steps=1), progress=False)
    assert res.step == 4
    rows = read_csv(tmp_path / "v" / "val_log.csv")
    assert [r["step"] for r in rows] == [2, 4]  # every 2 steps, and at the end (not twice)
    lrs = [r["lr"] for r in read_csv(tmp_path / "v" / "train_log.csv")]
    assert lrs[0] == pytest.approx(TrainOptions().lr)  # cosine at progress 0, warm-up of 1 step done
    assert lrs == sorted(lrs, reverse=True) and lrs[-1] < lrs[0]
    assert {"right_class", "target_in_right_class", "objects_per_scene"} <= set(rows[0])
    ck = load_checkpoint(tmp_path / "v" / "last.pt")
    assert ck.meta["train_seconds"] > 0 and ck.meta["sparse_backend"] in ("cpp", "reference", "spconv")
    assert ck.meta["budget_clock"] == "wall" and "commit" in ck.meta["code"]
    again = train(_opts(micro, tmp_path / "b", time_budget_min=1e-6), progress=False)
    assert again.stopped_by == "time_budget" and again.step == 1
    cpu = train(_opts(micro, tmp_path / "c", max_steps=2, budget_clock="process"), progress=False)
    ck = load_checkpoint(tmp_path / "c" / "last.pt")
    assert cpu.step == 2 and ck.meta["budget_clock"] == "process" and ck.meta["train_seconds"] > 0
    with pytest.raises(InputFileError, match="budget_clock"):
        TrainOptions(budget_clock="gpu")


def test_epoch_groups_cover_each_annotation_once_grouped_by_scene():
    from tsp3d.train.batches import epoch_groups

    scene_ids = [f"s{i % 5}" for i in range(37)]  # 5 scenes with 7-8 sentences each
    batches = epoch_groups(scene_ids, seed=3, epoch=1, rank=0, world=1, batch_size=8, per_scene=4)
    assert batches == epoch_groups(scene_ids, 3, 1, 0, 1, 8, 4) != epoch_groups(scene_ids, 3, 2, 0, 1, 8, 4)
    flat = [i for b in batches for i in b]
    assert len(flat) == len(set(flat)) and len(flat) >= 37 - 2 * 4  # the last partial batch may be dropped
    for b in batches:
        runs = [scene_ids[i] for i in b]
        groups = [runs[0]] + [s for prev, s in zip(runs, runs[1:]) if s != prev]
        assert len(b) <= 8 and len(groups) <= 2  # two groups of <= 4 (two groups of one scene may meet)
    shards = [epoch_groups(scene_ids, 3, 1, r, 2, 8, 4) for r in range(2)]
    assert not set(i for b in shards[0] for i in b) & set(i for b in shards[1] for i in b)
    assert epoch_groups(scene_ids, 3, 1, 0, 1, 4, 1) == epoch_order(37, 3, 1, 0, 1, 4)


def test_a_group_shares_one_augmented_scene(micro):
    from tsp3d.data.dataset import GroundingDataset
    from tsp3d.text.registry import load_text_encoder
    from tsp3d.train.batches import step_batch
    from tsp3d.train.scenes import PreparedScenes

    data, _ = micro
    ds = GroundingDataset(data, "train")
    first = [i for i, a in enumerate(ds.annotations) if a.scene_id == ds.annotations[0].scene_id][:2]
    other = next(i for i, a in enumerate(ds.annotations) if a.scene_id != ds.annotations[0].scene_id)
    batch = step_batch(PreparedScenes(ds, 3000), first + [other], load_text_encoder("tiny"), 0, 0, True)
    assert len(batch) == 3 and len(batch.points) == 2 and batch.scene_of == [0, 0, 1]
    assert torch.equal(batch.scene_boxes[0], batch.scene_boxes[1])  # one augmented copy for the group
    assert not torch.equal(batch.points[0][:, :3], torch.as_tensor(ds[first[0]][0].points[:, :3]))  # augmented


@pytest.mark.slow
def test_accuracy_benchmark_writes_a_self_describing_result(micro, tmp_path):
    from tsp3d.bench import accuracy

    from tsp3d.sparse import get_backend

    data, cfg = micro
    before = get_backend()
    r = accuracy.run(data, tmp_path / "run", budget_min=0.05, threads=1, curve_every=2, curve_samples=2,
                     text_cache=tmp_path / "text", out_dir=tmp_path, require_default=False,
                     recipe={"config": str(cfg), "batch_size": 2, "sentences_per_scene": 2})
    saved = json.loads((tmp_path / "accuracy.json").read_text())
    assert saved["benchmark"] == "accuracy" and saved["verdict"] == r["verdict"]
    assert set(saved["verdict"]) == set(accuracy.TARGETS) and set(saved["verdict"].values()) <= {"PASS", "MISS"}
    res = saved["results"]
    assert res["model"]["overall"]["n"] == res["baselines"]["random"]["overall"]["n"] > 0
    assert res["training"]["stopped_by"] == "time_budget" and res["training"]["steps"] >= 1
    assert Path(res["checkpoint"]).is_file() and res["errors"]["n"] == res["model"]["overall"]["n"]
    assert sum(res["errors"][k] for k in ("hit", "other_same_class", "other_class", "no_object")) == pytest.approx(1)
    assert res["errors"]["hit"] == pytest.approx(res["model"]["overall"]["acc@0.25"])
    assert get_backend() == before  # the global backend is the caller's again
    assert "| target | bound | measured | status |" in r["markdown"] and "objects picked per scene" in r["markdown"]
    assert set(res["curve"]) >= {"right_class", "target_in_right_class"} and r["values"].keys() == r["verdict"].keys()
    lo, hi = res["model"]["overall"]["acc@0.25_ci95"]
    assert lo <= res["model"]["overall"]["acc@0.25"] <= hi


def test_memorize_benchmark_trains_and_evaluates_on_the_same_sentences(micro, tmp_path):
    from tsp3d.bench import memorize

    data, cfg = micro
    r = memorize.run(data, scenes=1, steps=2, curve_every=1, threads=1, text_cache=tmp_path / "text",
                     out_dir=tmp_path, recipe={"config": str(cfg), "batch_size": 2, "sentences_per_scene": 2})
    res = json.loads((tmp_path / "memorize.json").read_text())["results"]
    n = res["sentences"]
    assert n >= 2 and res["scenes"] == 1  # the first scene's sentences (at least one group of 2)
    assert [c["step"] for c in res["curve"]] == [1, 2]
    assert res["final"]["accuracy"]["n"] == n and res["final"]["errors"]["n"] == n
    assert res["passes_per_sentence"] == pytest.approx(2 * 2 / n, abs=0.05)
    assert "distinct objects per scene" in r["markdown"] and r["results"] == res


def test_assigner_benchmark_sorts_the_positives_of_both_rules(micro, tmp_path):
    from tsp3d.bench.assigner import measure

    data, _ = micro
    train(_opts(micro, tmp_path / "run", max_steps=1), progress=False)
    res = measure(tmp_path / "run" / "last.pt", data, batches=1, text_cache=tmp_path / "text")
    assert res["samples"] >= 1 and set(res) == {"nearest", "inside", "samples"}
    for r in (res["nearest"], res["inside"]):
        if r["samples_without_positive"] < 1:
            assert r["on_target"] + r["on_other_object"] + r["on_no_object"] == pytest.approx(1)
    assert res["inside"]["on_target"] >= res["nearest"]["on_target"]
