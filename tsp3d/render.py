"""Draw a scene with its grounded boxes: a top-down and an oblique view (matplotlib, Agg backend, no display).

    render_groundings(points, results, "out.png")   # results: GroundingResult list (text, center, size, score)

Points are drawn in their own colours (at most ``max_draw`` of them, a fixed subsample); each box gets one colour,
used for its outline in both views and for its sentence in the legend.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tsp3d.data.boxes import to_corners

BOX_COLORS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324")
MAX_LABEL = 60  # characters of a sentence in the legend


def _edges(box) -> list[tuple[np.ndarray, np.ndarray]]:
    lo, hi = np.split(to_corners(np.asarray(box, np.float64)), 2)
    corners = np.array([[x, y, z] for z in (lo[2], hi[2]) for y in (lo[1], hi[1]) for x in (lo[0], hi[0])])
    pairs = [(0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5), (2, 6), (3, 7)]
    return [(corners[a], corners[b]) for a, b in pairs]


def _label(i: int, result) -> str:
    text = result.text or f"box {i + 1}"
    text = text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"
    return f"{i + 1}. {text} ({result.score:.2f})"


def render_groundings(points, results, path, *, title: str = "", max_draw: int = 40_000, force: bool = False,
                      dpi: int = 110) -> Path:
    """Write a PNG of ``points`` ``[N, 6]`` with the boxes of ``results`` (atomic; no overwrite without force)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tsp3d.utils.atomic import atomic_path

    pts = np.asarray(points, dtype=np.float32)
    if pts.shape[0] > max_draw:
        pts = pts[np.random.default_rng(0).choice(pts.shape[0], max_draw, replace=False)]
    rgb = np.clip(pts[:, 3:6], 0.0, 1.0) if pts.shape[1] >= 6 else "0.5"
    fig = plt.figure(figsize=(13, 6.2))
    top = fig.add_subplot(1, 2, 1)
    side = fig.add_subplot(1, 2, 2, projection="3d")
    order = np.argsort(pts[:, 2])  # higher points drawn last in the top view
    top.scatter(pts[order, 0], pts[order, 1], c=rgb if isinstance(rgb, str) else rgb[order], s=0.6, linewidths=0)
    side.scatter(pts[:, 0], pts[:, 1], pts[:, 2], c=rgb, s=0.4, linewidths=0, depthshade=False)
    for i, r in enumerate(results):
        color = BOX_COLORS[i % len(BOX_COLORS)]
        (x0, y0, _), (x1, y1, _) = np.split(to_corners(np.asarray(r.box, np.float64)), 2)
        top.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=color, linewidth=2.2,
                                    label=_label(i, r)))
        top.annotate(str(i + 1), (x1, y1), color=color, fontsize=11, fontweight="bold")
        for a, b in _edges(r.box):
            side.plot(*zip(a, b), color=color, linewidth=2.0)
    top.set_aspect("equal")
    top.set_title("top-down")
    top.set_xlabel("x (m)")
    top.set_ylabel("y (m)")
    side.view_init(elev=35, azim=-60)
    side.set_title("oblique")
    side.set_xlabel("x (m)")
    side.set_ylabel("y (m)")
    side.set_zlabel("z (m)")
    lo, hi = pts[:, :3].min(axis=0), pts[:, :3].max(axis=0)
    side.set_box_aspect(tuple(np.maximum(hi - lo, 1e-3)))
    if results:
        fig.legend(loc="lower center", ncol=1 if len(results) < 3 else 2, fontsize=9, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.05 + 0.03 * min(len(results), 6), 1, 1))
    with atomic_path(path, force) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)
    return Path(path)
