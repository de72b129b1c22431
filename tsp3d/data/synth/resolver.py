"""Which objects of a scene a description refers to. A sentence is accepted only if it resolves to exactly one.

``resolve(text, scene)`` parses the sentence and evaluates it on the scene's boxes and attributes, so anyone can
re-check a dataset on disk (the tests do, for every annotation).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tsp3d.data.synth.language import Description, NounPhrase, parse
from tsp3d.data.synth.relations import BINARY_RELATIONS, TRUE, UNSURE, SceneFacts
from tsp3d.data.types import Scene


@dataclass
class Resolution:
    matches: list[int] = field(default_factory=list)  # objects the description clearly fits
    unsure: list[int] = field(default_factory=list)  # competitors too close to call (the sentence is ambiguous)
    anchors: list[int] = field(default_factory=list)
    reason: str = ""  # why it is not unique, when it is not

    @property
    def unique(self) -> bool:
        return len(self.matches) == 1 and not self.unsure and not self.reason

    @property
    def target(self) -> int:
        if not self.unique:
            raise ValueError(f"description is not unique: {self.reason or self}")
        return self.matches[0]


def candidates(facts: SceneFacts, np_: NounPhrase) -> np.ndarray:
    """Objects whose class, colour and size category fit the noun phrase."""
    return np.array([
        i for i in range(len(facts))
        if facts.labels[i] == np_.cls
        and (np_.color is None or facts.colors[i] == np_.color)
        and (np_.size is None or facts.sizes[i] == np_.size)
    ], dtype=np.int64)


def _ranked(key: np.ndarray, cand: np.ndarray, margin: float, lower_wins: bool) -> Resolution:
    if cand.size < 2:  # "the leftmost chair" with one chair is not a sentence we produce
        return Resolution(reason="fewer than two candidates to compare")
    k = key[cand] if lower_wins else -key[cand]
    order = np.argsort(k, kind="stable")
    best = k[order[0]]
    close = [int(cand[j]) for j in order[1:] if k[j] - best < margin]
    return Resolution(matches=[int(cand[order[0]])], unsure=close)


def evaluate(facts: SceneFacts, desc: Description) -> Resolution:
    anchors = []
    for a in desc.anchors:
        found = candidates(facts, a)
        if found.size != 1:
            return Resolution(reason=f"anchor {a} matches {found.size} objects")
        anchors.append(int(found[0]))
    if len(set(anchors)) != len(anchors):
        return Resolution(anchors=anchors, reason="the same object is named twice as an anchor")
    cand = candidates(facts, desc.target)
    cand = cand[~np.isin(cand, anchors)]
    if desc.superlative:
        key, margin, lower = facts.ranking_key(desc.superlative)
        res = _ranked(key, cand, margin, lower)
    elif desc.relation in ("closest", "farthest"):
        key, margin, lower = facts.ranking_key(desc.relation, anchors[0])
        res = _ranked(key, cand, margin, lower)
    elif desc.relation == "between":
        state = facts.between(cand, anchors[0], anchors[1])
        res = Resolution([int(i) for i in cand[state == TRUE]], [int(i) for i in cand[state == UNSURE]])
    elif desc.relation in BINARY_RELATIONS:
        state = facts.rel[desc.relation][cand, anchors[0]]
        res = Resolution([int(i) for i in cand[state == TRUE]], [int(i) for i in cand[state == UNSURE]])
    elif desc.relation is None:
        res = Resolution([int(i) for i in cand])
    else:
        raise ValueError(f"unknown relation {desc.relation!r}")
    res.anchors = anchors
    if not res.reason and (len(res.matches) != 1 or res.unsure):
        res.reason = f"{len(res.matches)} clear matches, {len(res.unsure)} too close to call"
    return res


def resolve(text: str, scene: Scene) -> Resolution:
    """Parse ``text`` and evaluate it on a synthetic scene (it needs the colour/size attributes)."""
    return evaluate(SceneFacts.from_scene(scene), parse(text))
