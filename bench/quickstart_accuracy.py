"""The quickstart's accuracy target (issue 12): ``tiny`` trained with the quickstart's recipe and budget on its own small
synthetic set, Acc@0.25 on every validation sentence of that set (95 % Wilson interval), next to the random and
class-only baselines of the same sentences.

    python -m tsp3d.bench.quickstart_accuracy [--out runs/quickstart-bench] [--minutes 8] \\
        [--budget-clock process] [--threads 1] [--force]

The quickstart itself trains for 8 wall-clock minutes with the library's default threads (2 on our CPU). On a shared
machine the wall clock measures the other jobs too, so the benchmark defaults to 8 minutes of the training process's
CPU time on 1 thread: on an idle 2-core machine the quickstart gets at least that much training, as long as a step at
2 threads is no slower than at 1 (the JSON records the steps trained). The run directory is a quickstart
directory: steps already done there are reused (``--force`` starts over). Writes docs/bench/quickstart.json.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from tsp3d.bench.common import RESULTS_DIR, machine_info, write_result

REPO = Path(__file__).resolve().parents[1]
TARGET = 0.30  # issue 12: the quickstart's model reaches Acc@0.25 >= 30 % on its val sentences


def run(out: Path, minutes: float, budget_clock: str, threads: int, force: bool) -> dict:
    from tsp3d.evaluation import wilson_interval
    from tsp3d.quickstart import QuickstartOptions, train_and_score

    opts = QuickstartOptions(out=str(out), minutes=minutes, budget_clock=budget_clock, threads=threads, force=force)
    _, checkpoint, train_info, accuracy = train_and_score(opts, say=lambda m: print(f"> {m}", flush=True))
    n = accuracy["sentences"]
    trained = accuracy["rows"]["trained (this run)"]["overall"]
    hits = round(trained["acc@0.25"] * n)
    low, high = wilson_interval(hits, n)
    value = hits / n
    status = "PASS" if value >= TARGET else "MISS"
    baselines = {name[len("baseline: "):]: row["overall"] for name, row in accuracy["rows"].items()
                 if name.startswith("baseline: ")}
    return {"options": {"minutes": minutes, "budget_clock": budget_clock, "threads": threads,
                        "train_scenes": opts.train_scenes, "val_scenes": opts.val_scenes, "points": opts.points},
            "train": train_info, "sentences": n, "acc@0.25": value, "acc@0.25_ci95": [low, high],
            "acc@0.5": trained["acc@0.5"], "multiple": accuracy["rows"]["trained (this run)"]["multiple"],
            "baselines": baselines, "target": {"acc@0.25": TARGET, "status": status,
                                              "ci_straddles_bound": low < TARGET <= high}}


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def markdown(d: dict) -> str:
    o, t = d["options"], d["train"]
    lo, hi = d["acc@0.25_ci95"]
    base = ", ".join(f"{name} {_pct(row['acc@0.25'])}" for name, row in d["baselines"].items())
    straddle = (" (on the point estimate; the 95 % interval includes the bound: this sample cannot tell)"
                if d["target"]["ci_straddles_bound"] else "")
    return "\n".join([
        "### Quickstart accuracy (issue 12)", "",
        f"_{d['machine']['date']}; `tiny`, the quickstart's recipe, {o['minutes']:g} minutes on the "
        f"{o['budget_clock']} clock at {o['threads'] or 'default'} thread(s): {t['step']} steps; "
        f"{o['train_scenes']} train / {o['val_scenes']} val scenes of {o['points']:,} points._", "",
        f"Acc@0.25 on its {d['sentences']} val sentences: **{_pct(d['acc@0.25'])}** [95 % CI {_pct(lo)}, {_pct(hi)}], "
        f"Acc@0.5 {_pct(d['acc@0.5'])}; multiple split Acc@0.25 {_pct(d['multiple']['acc@0.25'])}. "
        f"Baselines on the same sentences (Acc@0.25): {base}.", "",
        f"Target: Acc@0.25 >= {_pct(d['target']['acc@0.25'])}: **{d['target']['status']}**{straddle}.", ""])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=REPO / "runs" / "quickstart-bench", help="quickstart directory")
    p.add_argument("--minutes", type=float, default=8.0)
    p.add_argument("--budget-clock", default="process", choices=("wall", "process"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--results", type=Path, default=RESULTS_DIR, help="where quickstart.json goes")
    p.add_argument("--force", action="store_true", help="start the quickstart directory over")
    a = p.parse_args(argv)
    payload = run(a.out, a.minutes, a.budget_clock, a.threads, a.force)
    payload["markdown"] = markdown({**payload, "machine": machine_info()})
    write_result("quickstart", payload, a.results)
    print(payload["markdown"])


if __name__ == "__main__":
    main()
