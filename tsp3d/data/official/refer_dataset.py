"""``ScanReferDataset``: ``(Scene, Annotation)`` pairs from official scan pickles + ScanRefer / NR3D / SR3D records.

``unique`` is ScanRefer's split: no other object of the target's class in the scene. The official code compares
ScanNet-18 classes (mapped through ``scannetv2-labels.combined.tsv``, not shipped with the data); here classes are
the raw ``instance_label``s unless a ``class_of`` mapping is given.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Mapping

from tsp3d.data.official.referit import ReferRecord
from tsp3d.data.official.scan_pickle import OfficialScan, load_scans, scan_to_scene
from tsp3d.data.types import Annotation, Scene
from tsp3d.errors import InputFileError

# words that make an utterance view-dependent in the official evaluation (is_view_dep)
VIEW_DEPENDENT_WORDS = frozenset({
    "front", "behind", "back", "left", "right", "facing", "leftmost", "rightmost", "looking", "across",
})


def is_view_dependent(text: str) -> bool:
    return not VIEW_DEPENDENT_WORDS.isdisjoint(text.split())


class ScanReferDataset:
    """A sequence of ``(Scene, Annotation)``; scenes are converted on first use and kept (they are 50k points)."""

    def __init__(
        self,
        scans: Mapping[str, OfficialScan] | str | Path | Iterable[str | Path],
        records: list[ReferRecord],
        class_of: Callable[[str], str] | None = None,
        skip_missing_scenes: bool = False,
    ):
        if isinstance(scans, (str, Path)):
            scans = [scans]
        if not isinstance(scans, Mapping):
            merged: dict[str, OfficialScan] = {}
            for p in scans:
                merged.update(load_scans(p))
            scans = merged
        self.scans = dict(scans)
        self.class_of = class_of or (lambda label: label)
        missing = sorted({r.scene_id for r in records if r.scene_id not in self.scans})
        if missing and not skip_missing_scenes:
            raise InputFileError(
                f"{len(missing)} annotated scene(s) are not in the scan pickles, e.g. {missing[:3]}",
                hint="load the pickle of the same split, or pass skip_missing_scenes=True",
            )
        self.records = [r for r in records if r.scene_id in self.scans]
        for r in self.records:
            n = len(getattr(self.scans[r.scene_id], "three_d_objects", None) or [])
            bad = [i for i in [r.target, *r.anchors] if i >= n]
            if bad:
                raise InputFileError(
                    f"{r.dataset} annotation {r.ann_id}: object {bad[0]} not in scene {r.scene_id} ({n} objects)"
                )
        self._scenes: dict[str, Scene] = {}

    def __len__(self) -> int:
        return len(self.records)

    def scene(self, scene_id: str) -> Scene:
        if scene_id not in self._scenes:
            self._scenes[scene_id] = scan_to_scene(scene_id, self.scans[scene_id])
        return self._scenes[scene_id]

    def __getitem__(self, i: int) -> tuple[Scene, Annotation]:
        r = self.records[i]
        scene = self.scene(r.scene_id)
        classes = [self.class_of(label) for label in scene.labels]
        same = [j for j, c in enumerate(classes) if c == classes[r.target] and j != r.target]
        tags = {
            "dataset": r.dataset,
            "target_name": r.target_name,
            "view_dependent": is_view_dependent(r.text),
            "distractors": len(same) if r.distractors is None else len(r.distractors),
            **r.extra,
        }
        ann = Annotation(r.scene_id, r.ann_id, r.text, r.target, list(r.anchors), unique=not same, tags=tags)
        return scene, ann

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]
