"""The benchmark suite (``tsp3d bench``): its pieces on small inputs, and ``--quick`` end to end."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from tsp3d.bench import report, report_sections, targets
from tsp3d.bench.common import fit_exponent, percentile, summarize
from tsp3d.bench.flops import FlopCount
from tsp3d.errors import ModelFormatError
from tsp3d.utils.libraries import find_library

needs_ort = pytest.mark.skipif(find_library("ort") is None, reason="libtsp3d_ort.so not built")


# ---------------------------------------------------------------- statistics


def test_percentile_and_summary():
    s = summarize([3.0, 1.0, 2.0, 4.0])
    assert s["p50_s"] == 2.5 and s["min_s"] == 1.0 and s["runs"] == 4
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 90) == pytest.approx(4.6)


def test_fit_exponent_recovers_a_power_law():
    xs = [10_000, 50_000, 200_000]
    assert fit_exponent(xs, [3.0 * x ** 1.3 for x in xs]) == pytest.approx(1.3)
    assert fit_exponent(xs, [5.0, 5.0, 5.0]) == pytest.approx(0.0)
    assert fit_exponent([10_000], [1.0]) is None


# ---------------------------------------------------------------- FLOP counting


def test_flop_count_of_dense_layers_and_attention():
    lin = torch.nn.Linear(16, 8)
    q, k, v = torch.randn(1, 2, 5, 4), torch.randn(1, 2, 7, 4), torch.randn(1, 2, 7, 4)
    with torch.no_grad(), FlopCount() as f:
        lin(torch.randn(10, 16))
        torch.nn.functional.scaled_dot_product_attention(q, k, v)
        torch.matmul(q, k.transpose(-1, -2))
    assert f.flops["dense_gemm"] == 2 * 10 * 16 * 8
    assert f.flops["attention_bmm"] == 2 * 2 * 5 * 7 * (4 + 4) + 2 * 2 * 5 * 4 * 7


def test_flop_count_of_a_sparse_conv_uses_present_pairs():
    from tsp3d.sparse import ops

    nbr = torch.tensor([[0, -1, 1], [-1, -1, 2], [1, 0, -1]], dtype=torch.int32)  # 5 present pairs
    feats, weight = torch.randn(3, 4), torch.randn(3, 4, 6)
    with torch.no_grad(), FlopCount() as f:
        ops.sparse_conv(feats, nbr, weight, None, 0)
    assert f.flops["sparse_conv"] == 2 * 5 * 4 * 6
    assert f.sparse_convs[0]["pairs"] == 5 and f.sparse_convs[0]["n_out"] == 3


# ---------------------------------------------------------------- the layer mix of a real forward


def test_layer_mix_records_every_conv_of_a_forward():
    from tsp3d.bench import layer_mix
    from tsp3d.bench.scenes import room_scene
    from tsp3d.model import TSP3D, load_config

    torch.manual_seed(0)
    model = TSP3D(load_config("tiny")).eval()
    points, _ = room_scene(4000)
    feats, mask = torch.randn(1, 5, 384), torch.zeros(1, 5, dtype=torch.bool)
    with FlopCount() as f:
        maps, layers, used = layer_mix.record(model, torch.from_numpy(points), feats, mask)
    assert sum(layer.count for layer in layers) == f.calls["sparse_conv"]
    kinds = {maps[i].kind for i in used}
    assert {"same", "down", "up"} <= kinds
    for layer in layers:
        assert maps[layer.map_index].nbr.shape[1] in (1, 8, 27)
    # every created output set is paid for by exactly one rulebook
    created = [m for m in maps if m.creates_output]
    assert len({id(m.out_coords) for m in created}) == len(created)


# ---------------------------------------------------------------- targets


def _floor_rows(points_last=1_200_000, peak_mb=1500.0):
    floors = [("4 x 4 m", 16.0, 20_000, 3_000), ("32 x 30 m", 960.0, points_last, 150_000)]
    return [{"floor": f, "area_m2": a, "points": n, "v16": v, "p50_s": 1.0, "peak_rss_mb": peak_mb,
             "setup_peak_rss_mb": 400.0} for f, a, n, v in floors]


def _judged(drop: float, samples: int = 800, ref: float = 0.6, oracle: float = 0.42):
    status = "NOT JUDGED" if samples < 500 or ref < oracle else ("PASS" if drop <= 0.003 else "MISS")
    return {"status": status, "drop": drop, "ci95": [drop - 0.01, drop + 0.01], "samples": samples,
            "discordant": 3, "reference_acc": ref, "oracle_acc": oracle, "reason": "" if status != "NOT JUDGED"
            else "below the class-only oracle"}


def _results(spconv_s=3.0, cpp_s=1.0, official_x=4.0, ort_p50=1.0, floor_s=0.8, exponent=0.9, control=2.0,
             peak_mb=1500.0, drop=0.0, oracle=0.42):
    rows = [{"key": "ort-fp32", "p50_s": ort_p50, "peak_rss_mb": 300.0}]
    scaling_rt = {
        "ort-fp32": {"complete": True, "rows": _floor_rows(peak_mb=peak_mb), "memory_exponent_voxels": exponent,
                     "time_exponent_voxels": 1.6},
        "ort-fp32-tiled": {"complete": True, "rows": _floor_rows(), "time_exponent_area": exponent,
                           "memory_exponent_voxels": 0.5},
        "ort-fp32-plain": {"complete": True, "rows": _floor_rows(), "memory_exponent_voxels": control}}
    return {
        "sparse_ops": {"config": "base", "dense_gemm": {"gflops": 100.0}, "totals": {
            "cpp": {"total_s": cpp_s + 0.1, "gemm_s": cpp_s}, "spconv": {"total_s": 9.0},
            "spconv_on_ours": {"gemm_s": spconv_s},
            "cpp_wide": {"fraction_of_dense": 0.8, "gemm_useful_gflops": 80.0, "min_layer_fraction": 0.5}}},
        "e2e": {"main_config": "base", "plan": {"points": 50_000}, "configs": [
            {"config": "base", "rows": rows,
             "floor": {"floor_s": floor_s, "useful_gflop": 80.0, "dense_gflops": 100.0}}]},
        "official": {"ratios": {"1": {"ort-fp32": official_x, "detail": "d"}, "2": {"ort-fp32": official_x}}},
        "scaling": {"floors": [{"floor": "4 x 4 m", "points": 20_000}, {"floor": "32 x 30 m", "points": 1_200_000}],
                    "runtimes": scaling_rt},
        "parity": {"fp16_drop": _judged(drop, oracle=oracle)},
        "int8": {"data": {"eval_samples": 100}},
    }


def test_targets_pass_miss_and_not_judged():
    by = {r["id"]: r for r in targets.evaluate(_results())}
    assert by.pop("growth_memory_control")["status"] == "MISS"  # the control must fail
    assert by.pop("int8_drop")["status"] == "NOT JUDGED"  # the INT8 study gives no per-sample verdict
    assert {by.pop(k)["status"] for k in ("int8_gemm_efficiency", "int8_e2e_speedup")} == {"N/A"}  # no int8_* files
    assert all(r["status"] == "PASS" for r in by.values()), by
    bad = {r["id"]: r["status"] for r in targets.evaluate(_results(spconv_s=1.2, official_x=2.8, floor_s=0.5,
                                                                   exponent=1.3, peak_mb=2500.0, drop=0.01))}
    assert bad == {"sparse_vs_spconv": "MISS", "sparse_gemm_efficiency": "PASS", "official_1t": "MISS",
                   "official_2t": "MISS", "flop_floor": "MISS", "growth_memory": "MISS",
                   "growth_memory_control": "MISS", "growth_time_tiled": "MISS", "floor_peak_rss": "MISS",
                   "fp16_drop": "MISS", "int8_drop": "NOT JUDGED", "int8_gemm_efficiency": "N/A",
                   "int8_e2e_speedup": "N/A"}
    below = {r["id"]: r for r in targets.evaluate(_results(drop=0.05, oracle=0.9))}
    assert below["fp16_drop"]["status"] == "NOT JUDGED" and "not judged" in below["fp16_drop"]["detail"]
    # a control that passed would mean the memory target cannot discriminate: it is judged like any target
    passing_control = {r["id"]: r["status"] for r in targets.evaluate(_results(control=1.0))}
    assert passing_control["growth_memory_control"] == "PASS"
    assert "same rulebooks" in next(r["target"] for r in targets.evaluate(_results()) if r["id"] == "sparse_vs_spconv")


def test_a_control_that_was_refused_fails():
    res = _results()
    res["scaling"]["runtimes"]["ort-fp32-plain"] = {"rows": _floor_rows()[:1], "complete": False,
                                                     "memory_exponent_voxels": None,
                                                     "first_failure": {"floor": "32 x 30 m", "error": "refused"}}
    row = next(r for r in targets.evaluate(res) if r["id"] == "growth_memory_control")
    assert row["status"] == "MISS" and "refused" in row["detail"]


def _int8_results(share: float, fp32_s: float, int8_s: float) -> dict:
    wide = {"int8_avx512vnni": {"gops": 400 * share, "share_of_ceiling": share}, "int8_speedup_vs_fp32": 2.0}
    one = {"threads": 1, "clock": "cpu", "pairs": 3, "p50_s": {"ort-fp32": fp32_s, "ort-int8": int8_s},
           "int8_speedup": fp32_s / int8_s}
    return {"int8_ops": {"int8_auto_path": "avx512vnni", "int8_ceiling": {"gops": 400.0}, "totals": {"wide": wide}},
            "int8_e2e": {"results": [one, {**one, "threads": 2, "int8_speedup": 9.0}]}}


def test_int8_speed_targets_pass_and_miss():
    good = {r["id"]: r for r in targets.evaluate(_int8_results(0.7, 1.2, 0.4))}
    assert good["int8_gemm_efficiency"]["status"] == "PASS" and good["int8_e2e_speedup"]["status"] == "PASS"
    assert good["int8_e2e_speedup"]["value"] == pytest.approx(3.0)  # the 1-thread row, not the 2-thread one
    bad = {r["id"]: r["status"] for r in targets.evaluate(_int8_results(0.5, 1.2, 0.8))}
    assert bad["int8_gemm_efficiency"] == "MISS" and bad["int8_e2e_speedup"] == "MISS"


def test_a_speed_up_from_pruning_more_is_not_judged():
    res = _int8_results(0.7, 1.2, 0.4)
    fp32, int8 = [560, 168, 2941, 1764, 25313, 2400, 600, 317, 25630], [560, 47, 1054, 607, 9506, 2400, 1454, 1150,
                                                                         10656]
    res["int8_e2e"]["results"][0]["runs"] = {"ort-fp32": [{"counts": fp32}], "ort-int8": [{"counts": int8}]}
    row = next(r for r in targets.evaluate(res) if r["id"] == "int8_e2e_speedup")
    assert row["status"] == "NOT JUDGED" and "tgp64_kept 47 vs 168" in row["detail"]
    res["int8_e2e"]["results"][0]["runs"]["ort-int8"] = [{"counts": fp32}]  # the same work: judged
    assert next(r for r in targets.evaluate(res) if r["id"] == "int8_e2e_speedup")["status"] == "PASS"
    matched = [560, 168, 3000, 1764, 25690, 2400, 600, 319, 26009]  # pruning matched: INT8 does a little more
    res["int8_e2e"]["results"][0]["runs"]["ort-int8"] = [{"counts": matched}]
    assert next(r for r in targets.evaluate(res) if r["id"] == "int8_e2e_speedup")["status"] == "PASS"


def test_targets_not_measured_are_not_passed():
    rows = targets.evaluate({"sparse_ops": None, "e2e": None, "scaling": None})
    assert {r["status"] for r in rows} == {"N/A"}


# ---------------------------------------------------------------- report assembly


def test_merge_keeps_hand_written_text_and_replaces_generated_blocks():
    first = report.merge("", {"e2e": "## E2E\n\nold numbers", "targets": "## Targets\n\nT1"})
    assert first.index("bench:begin targets") < first.index("bench:begin e2e")  # in ORDER
    edited = first.replace("<!-- bench:begin e2e -->", "## Notes by hand\n\nkeep me\n\n<!-- bench:begin e2e -->")
    edited += "\n## Closing remarks\n\nalso kept\n"
    again = report.merge(edited, {"e2e": "## E2E\n\nnew numbers", "accuracy": "## Accuracy\n\nacc table"})
    assert "keep me" in again and "also kept" in again
    assert "new numbers" in again and "old numbers" not in again
    assert "bench:begin targets" not in again  # its result file is gone
    assert again.index("bench:begin accuracy") > again.index("bench:end e2e")
    assert report.merge(again, {"e2e": "## E2E\n\nnew numbers", "accuracy": "## Accuracy\n\nacc table"}) == again


def test_report_renders_foreign_results_and_the_gpu_section(tmp_path):
    (tmp_path / "accuracy.json").write_text(json.dumps({"title": "Accuracy", "acc@0.25": 0.41, "rows": [
        {"model": "tiny", "acc@0.25": 0.41}, {"model": "base", "acc@0.25": 0.52}]}))
    (tmp_path / "accuracy_curve.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "parity.json").write_text(json.dumps({"markdown": "## Parity\n\nall identical"}))
    out = report.write_report(tmp_path, tmp_path / "BENCHMARKS.md").read_text()
    assert "| base | 0.52 |" in out and "![accuracy_curve.png](accuracy_curve.png)" in out
    assert "all identical" in out
    assert "No GPU has been available yet" in out
    (tmp_path / "gpu_check.json").write_text(json.dumps({"gpu": "H200", "passed": 12}))
    out = report.write_report(tmp_path, tmp_path / "BENCHMARKS.md").read_text()
    assert "No GPU has been available yet" not in out and "H200" in out


def test_generic_section_tables_lists_of_records():
    md = report_sections.generic("int8", {"method": "entropy", "sweep": [{"layer": "a", "drop": 0.1},
                                                                        {"layer": "b", "drop": 0.2}]}, str)
    assert md.startswith("## Int8") and "| a | 0.1 |" in md and "| method | entropy |" in md


# ---------------------------------------------------------------- the no-pruning graph


def _prune(name, min_keep, mode=1, threshold=0.3):
    return helper.make_node("Prune", [f"s{name}"], [f"i{name}"], domain="tsp3d", name=name, threshold=threshold,
                            mode=mode, min_keep=min_keep, capacity=100)


def _graph(nodes, path):
    inputs = [helper.make_tensor_value_info(n.input[0], TensorProto.FLOAT, ["n"]) for n in nodes]
    outputs = [helper.make_tensor_value_info(n.output[0], TensorProto.INT32, ["m"]) for n in nodes]
    model = helper.make_model(helper.make_graph(nodes, "g", inputs, outputs),
                              opset_imports=[helper.make_opsetid("", 20), helper.make_opsetid("tsp3d", 1)])
    onnx.save(model, str(path))
    return path


def test_no_pruning_graph_opens_only_the_two_tgp_prunes(tmp_path):
    from tsp3d.bench.pruning import no_pruning_graph

    src = _graph([_prune("tgp1", 1), _prune("tgp2", 1, mode=0), _prune("cba", 0, threshold=0.15)], tmp_path / "a.onnx")
    out = onnx.load(str(no_pruning_graph(src, tmp_path / "b.onnx")))
    th = {n.name: next(a.f for a in n.attribute if a.name == "threshold") for n in out.graph.node}
    assert th["tgp1"] == pytest.approx(-1e30) and th["tgp2"] == pytest.approx(1e30)
    assert th["cba"] == pytest.approx(0.15)
    with pytest.raises(ModelFormatError):
        no_pruning_graph(_graph([_prune("tgp1", 1)], tmp_path / "c.onnx"), tmp_path / "d.onnx")


def test_pruning_levels_from_counts():
    from tsp3d.bench.pruning import levels

    rows = levels([560, 168, 2879, 1727, 24622, 2400, 600, 323, 24945])
    assert [(r["before"], r["after"]) for r in rows] == [(560, 168), (2879, 1727), (24622, 24945)]
    assert rows[-1]["cba_added"] == 323


# ---------------------------------------------------------------- CLI


def test_cli_refuses_to_replace_results_without_force(tmp_path):
    (tmp_path / "targets.json").write_text("{}")
    proc = subprocess.run([sys.executable, "-m", "tsp3d.cli", "bench", "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "already exists" in proc.stderr
    assert json.loads((tmp_path / "targets.json").read_text()) == {}


@pytest.mark.slow
@needs_ort
def test_quick_suite_end_to_end(tmp_path):
    """``tsp3d bench --quick``: every part writes its JSON, the targets are judged, the report is assembled."""
    proc = subprocess.run([sys.executable, "-m", "tsp3d.cli", "bench", "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for part in ("pipeline", "sparse_ops", "e2e", "scaling", "pruning", "targets"):  # official: skipped (no DIR)
        assert (tmp_path / f"{part}.json").is_file(), part
    e2e = json.loads((tmp_path / "e2e.json").read_text())
    rows = {r["key"]: r for r in e2e["configs"][0]["rows"]}
    assert {"torch-reference", "torch-cpp", "ort-fp32"} <= set(rows)
    for r in rows.values():
        assert r["p50_s"] > 0 and r["p90_s"] >= r["p50_s"] and r["peak_rss_mb"] > 0, r
    # every runtime grounds the same scene to the same voxel counts (FP32)
    assert rows["torch-reference"]["counts"] == rows["torch-cpp"]["counts"] == rows["ort-fp32"]["counts"]
    floor = e2e["configs"][0]["floor"]
    assert floor["useful_gflop"] > 0 and math.isclose(floor["floor_s"], floor["useful_gflop"] /
                                                      floor["dense_gflops"])
    assert e2e["configs"][0]["ort_fp32_profile"]["by_op"][0]["seconds"] > 0
    sparse = json.loads((tmp_path / "sparse_ops.json").read_text())
    assert sparse["layers"] and all(r["gemm_cpp_s"] > 0 for r in sparse["layers"])
    scaling = json.loads((tmp_path / "scaling.json").read_text())
    assert scaling["runtimes"]["ort-fp32"]["complete"] and scaling["runtimes"]["ort-fp32-tiled"]["complete"]
    assert not (tmp_path / "official.json").exists()
    pruning = json.loads((tmp_path / "pruning.json").read_text())
    assert pruning["levels_no_pruning"][0]["after"] == pruning["levels"][0]["before"]  # TGP-1 kept everything
    tgt = json.loads((tmp_path / "targets.json").read_text())
    assert {t["status"] for t in tgt["targets"]} <= {"PASS", "MISS", "N/A", "NOT JUDGED"}
    md = (tmp_path / "BENCHMARKS.md").read_text()
    for block in ("targets", "sparse_ops", "e2e", "scaling", "pruning", "pipeline", "gpu"):
        assert f"<!-- bench:begin {block} -->" in md, block
    assert (tmp_path / "e2e.png").stat().st_size > 1000
    assert np.isfinite(tgt["seconds"])


def test_parity_targets_and_rerender(tmp_path):
    from tsp3d.bench import parity

    fp32 = {"precision": "fp32", "top1_identical": 1.0, "top1_same_site": 1.0, "kept_sets_identical": 1.0,
            "counts_identical": 1.0, "accuracy": {"acc@0.25": 0.5, "acc@0.5": 0.4},
            "accuracy_drop": {"acc@0.25": 0.0}, "iou_vs_ref": {"mean": 1.0, "min": 1.0}, "max_scaled_rel": 2e-7}
    fp16 = {**fp32, "precision": "fp16", "top1_identical": 0.6, "top1_same_site": 0.98,
            "accuracy_drop": {"acc@0.25": 0.01}, "max_scaled_rel": 1e-3}
    rows = {r["target"]: r["status"] for r in parity.check_targets({"onnxruntime-fp32": fp32,
                                                                    "onnxruntime-fp16": fp16}, 0.2)}
    assert rows["FP32 top-1 box identical (IoU >= 0.999)"] == "PASS"
    assert rows["FP16 top-1 agreement (same top-1 voxel)"] == "MISS"  # 0.98 < 0.99
    assert "FP16 Acc@0.25 drop (fraction)" not in rows  # judged only with per-sample hits (accuracy_drop)
    assert rows["extra sentence / full query (ONNX Runtime FP32, split graphs)"] == "PASS"
    saved = {"title": "Parity", "machine": {"date": "d", "cpu": "c"}, "checkpoint": "c.pt", "data": "d", "scenes": 2,
             "reference_accuracy": {"acc@0.25": 0.5}, "multi_query": {"scenes": 1, "full_ms": 10.0,
                                                                     "sentence_ms": 3.0, "ratio": 0.3},
             "runtimes": {"onnxruntime-fp32": fp32, "onnxruntime-fp16": {**fp16, "top1_same_site": 0.995}}}
    (tmp_path / "parity.json").write_text(json.dumps(saved))
    assert parity.rerender(tmp_path) == 0
    out = json.loads((tmp_path / "parity.json").read_text())
    status = {r["target"]: r["status"] for r in out["targets"]}
    assert status["FP16 top-1 agreement (same top-1 voxel)"] == "PASS"
    assert status["extra sentence / full query (ONNX Runtime FP32, split graphs)"] == "MISS"  # 0.3 > 0.25
    assert "| onnxruntime-fp16 | 0.6000 | 0.9950 |" in out["markdown"]
    assert status["FP16 Acc@0.25 drop (fraction)"] == "NOT JUDGED"  # a saved result without per-sample hits
    assert "not judged" in out["markdown"].lower()
