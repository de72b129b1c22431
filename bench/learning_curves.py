"""Learning curves of the accuracy benchmark's runs (issue 12), drawn from their result files: Acc@0.25, right-class
rate and target-among-right-class rate on the fixed validation subset against CPU-minutes of training, with the
class-only oracle of the full split for scale.

    python -m tsp3d.bench.learning_curves [--results docs/bench] [--out docs/img/learning-curves.png]

Reads ``accuracy.json`` (the 15 CPU-minute benchmark) and ``accuracy_reference.json`` (the reference checkpoint) when
present; each holds the curve its training logged (``results.learning_curve``).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from tsp3d.bench.charts import _plt, _save
from tsp3d.bench.common import RESULTS_DIR

REPO = Path(__file__).resolve().parents[1]
RUNS = {"accuracy": "15 CPU-minutes", "accuracy_reference": "reference (120 CPU-minutes)"}
SERIES = (("overall_acc@0.25", "Acc@0.25"), ("right_class", "right class"),
          ("target_in_right_class", "target among the right class"))


def load_curves(results: Path) -> dict[str, tuple[list[dict], float | None]]:
    """{run label: (curve rows, class-only oracle Acc@0.25)} for the result files present."""
    out = {}
    for stem, label in RUNS.items():
        path = results / f"{stem}.json"
        if not path.is_file():
            continue
        r = json.loads(path.read_text())["results"]
        oracle = ((r.get("baselines") or {}).get("class_only") or {}).get("overall", {}).get("acc@0.25")
        if r.get("learning_curve"):
            out[label] = (r["learning_curve"], oracle)
    return out


def draw(curves: dict, out: Path) -> str:
    plt = _plt()
    fig, axes = plt.subplots(1, len(SERIES), figsize=(13, 3.8), sharey=True)
    for ax, (key, title) in zip(axes, SERIES):
        for label, (rows, oracle) in curves.items():
            x = [float(row["train_s"]) / 60 for row in rows]
            ax.plot(x, [float(row[key]) for row in rows], marker="o", label=label)
            if key == "overall_acc@0.25" and oracle is not None:
                ax.axhline(oracle, color="#7f7f7f", linestyle="--", linewidth=1)
        ax.set_title(title)
        ax.set_xlabel("CPU-minutes of training (1 thread)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("fraction of the validation subset")
    axes[0].text(0.02, 0.02, "dashed: class-only oracle", transform=axes[0].transAxes, fontsize=8, color="#555555")
    axes[-1].legend(loc="lower right", fontsize=8)
    out.parent.mkdir(parents=True, exist_ok=True)
    return _save(fig, out.parent, out.name)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=Path, default=RESULTS_DIR)
    p.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "learning-curves.png")
    a = p.parse_args(argv)
    curves = load_curves(a.results)
    if not curves:
        raise SystemExit(f"no learning curve in {a.results} (accuracy.json, accuracy_reference.json)")
    print(f"wrote {a.out.parent / draw(curves, a.out)}")


if __name__ == "__main__":
    main()
