"""The model card of a pretrained model, rendered from its record (publish.py); every number comes from the record."""
from __future__ import annotations

import json


def _pct(v) -> str:
    return f"{100 * v:.1f} %" if isinstance(v, (int, float)) else "n/a"


def _accuracy_table(record: dict) -> list[str]:
    acc, base = record["accuracy"], record["baselines"]
    lines = ["| | n | Acc@0.25 [95 % CI] | Acc@0.5 [95 % CI] |", "|---|---|---|---|"]
    for split in ("overall", "unique", "multiple"):
        a = acc[split]
        ci25, ci5 = a.get("acc@0.25_ci95", [0, 0]), a.get("acc@0.5_ci95", [0, 0])
        lines.append(f"| this model, {split} | {a['n']} | {_pct(a['acc@0.25'])} [{_pct(ci25[0])}, {_pct(ci25[1])}] | "
                     f"{_pct(a['acc@0.5'])} [{_pct(ci5[0])}, {_pct(ci5[1])}] |")
    for name in ("random", "class_only"):
        for split in ("overall", "multiple"):
            b = base[name][split]
            lines.append(f"| baseline {name.replace('_', '-')}, {split} | {b['n']} | {_pct(b['acc@0.25'])} | "
                         f"{_pct(b['acc@0.5'])} |")
    return lines


def render_card(record: dict) -> str:
    name, t, code, opts = record["name"], record["training"], record.get("code") or {}, record.get("options") or {}
    curve, sub, bench = record.get("curve") or {}, record["subset"], record["benchmark"]
    src = record.get("published_from") or {}
    commit = code.get("commit") or "unknown"
    dirty = (" (the shared checkout also had uncommitted changes to tracked files when training started)"
             if code.get("dirty") else "")
    verdicts = ", ".join(f"{k} {bench['values'][k]:.3f} (target {v}: {bench['verdict'][k]})"
                         for k, v in (bench.get("targets") or {}).items())
    lines = [
        f"# {name}", "",
        f"`{record['config']}` TSP3D ({record['text_encoder']} text encoder) trained from scratch on the default "
        "synthetic grounding benchmark (`tsp3d data synth` defaults: 1,200 train / 200 val rooms of 50k points, "
        f"seed {opts.get('seed', 0)} for training, data seed 0). A demo model: it grounds sentences about the synthetic "
        "rooms' 12 furniture classes, 10 colours, 3 sizes, relations and superlatives; it has never seen real scans.",
        "", "Use it by name: `tsp3d ground --checkpoint " + name + " ...`, `tsp3d export --checkpoint " + name
        + "`, `tsp3d validate --checkpoint " + name + " ...`, `tsp3d eval --checkpoint " + name + " ...`.",
        "", "## Training", "",
        f"- command: `{bench.get('command')}`",
        f"- code: commit `{commit}`{dirty}",
        f"- {record['step']} steps, {t['train_seconds']:.0f} s of {'CPU' if record.get('budget_clock') == 'process' else 'wall'} "
        f"time on {t.get('threads')} thread(s) (sparse backend `{t.get('sparse_backend')}`), {t.get('samples_seen')} "
        f"sentences seen ({t.get('samples_seen', 0) / max(t.get('train_annotations', 1), 1):.1f} epochs of "
        f"{t.get('train_annotations')}), {t.get('points')} points per scene",
        f"- recipe: `{json.dumps(t.get('recipe'))}` (tsp3d/train/recipes.py; the model config `tiny` is "
        "tsp3d/configs/tiny.json, saved in the weights' metadata)",
        f"- weights: `{name}.safetensors`, state hash `{record['state_hash'][:16]}...`", "",
        "## Accuracy on the full validation split", "", *_accuracy_table(record), "",
        f"Right class (the predicted box's centre designates an object of the target's class, "
        f"`evaluation.picked_object`) {_pct(curve.get('right_class'))}; the target among those "
        f"{_pct(curve.get('target_in_right_class'))}; distinct objects picked per scene "
        f"{curve.get('objects_per_scene', 0):.2f} for {curve.get('targets_per_scene', 0):.2f} distinct targets.",
        "", f"Targets (issue 12): {verdicts}.", "",
        "## Check in CI", "",
        f"`tests/test_pretrained.py` regenerates the first {sub['scenes']} {sub['split']} scenes of the default "
        f"benchmark from their seed and grounds all {sub['sentences']} sentences: recorded {sub['hits@0.25']} hits at "
        f"IoU > 0.25 and {sub['hits@0.5']} at IoU > 0.5; the test accepts +-{sub['tolerance_hits']} hits (float "
        "rounding on another machine can flip a borderline IoU or a near-tie of the top voxel).", "",
        "## Reproduce", "",
        f"Check out commit `{commit}`, run `bash scripts/setup.sh`, then `{bench.get('command')}` (the budget counts the "
        "training process's CPU time, so a loaded machine takes longer but trains the same number of steps give or "
        "take the per-step cost), then `python -m tsp3d.pretrained.publish --checkpoint "
        f"{src.get('checkpoint', 'runs/reference/last.pt')} --result "
        f"{src.get('result', 'docs/bench/accuracy_reference.json')} --name {name} --force`. Training randomness is "
        "seeded, but the "
        "number of steps a CPU budget buys varies with the machine, so a rerun lands near, not exactly on, these "
        "numbers.", "",
    ]
    return "\n".join(lines)
