"""``GroundingDataset(root, split)``: a sequence of ``(Scene, Annotation)`` over the on-disk format.

Annotations are read (and validated) up front; scenes are loaded on first use and kept in a small LRU cache,
since consecutive annotations usually share a scene (the file groups them by scene).
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Iterator

from tsp3d.data import format as fmt
from tsp3d.data.types import Annotation, Scene
from tsp3d.errors import InputFileError

DEFAULT_CACHE_SCENES = 16


class GroundingDataset:
    """One split of a tsp3d grounding dataset (the synthetic benchmark or any converted one)."""

    def __init__(self, root: str | Path, split: str, cache_scenes: int = DEFAULT_CACHE_SCENES):
        self.root = Path(root)
        self.split = split
        self.meta = fmt.read_meta(self.root)
        path = self.root / fmt.annotations_file(split)
        if not path.is_file():
            have = sorted(p.name[len("annotations_"):-len(".jsonl")] for p in self.root.glob("annotations_*.jsonl"))
            raise InputFileError(f"{path} does not exist: no split {split!r} in {self.root} (splits: {have})")
        self.annotations: list[Annotation] = fmt.read_annotations(path)
        if cache_scenes < 1:
            raise ValueError(f"cache_scenes must be >= 1, got {cache_scenes}")
        self._cache_size = cache_scenes
        self._cache: OrderedDict[str, Scene] = OrderedDict()
        self._checked: set[str] = set()

    def __len__(self) -> int:
        return len(self.annotations)

    def __getitem__(self, i: int) -> tuple[Scene, Annotation]:
        ann = self.annotations[i]
        scene = self.scene(ann.scene_id)
        if ann.ann_id not in self._checked:
            self._check(scene, ann)
            self._checked.add(ann.ann_id)
        return scene, ann

    def __iter__(self) -> Iterator[tuple[Scene, Annotation]]:
        for i in range(len(self)):
            yield self[i]

    @property
    def scene_ids(self) -> list[str]:
        """Scenes of this split, in file order, each once."""
        return list(dict.fromkeys(a.scene_id for a in self.annotations))

    def scene(self, scene_id: str) -> Scene:
        if scene_id in self._cache:
            self._cache.move_to_end(scene_id)
            return self._cache[scene_id]
        scene = fmt.read_scene(fmt.scene_path(self.root, scene_id), scene_id)
        self._cache[scene_id] = scene
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return scene

    def _check(self, scene: Scene, ann: Annotation) -> None:
        m = scene.boxes.shape[0]
        bad = [i for i in [ann.target, *ann.anchors, *ann.extra_targets] if i >= m]
        if bad:
            raise InputFileError(
                f"{self.root / fmt.annotations_file(self.split)}: annotation {ann.ann_id} refers to object "
                f"{bad[0]}, but scene {scene.scene_id} has {m} objects"
            )
