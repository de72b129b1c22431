"""Choose what to say about which object: targets, description kinds, and a rendering checked by the resolver.

The mix is set by ``KIND_WEIGHTS`` (attribute / superlative / relation; a ``mix`` argument overrides it): the
kinds are tried in a random order drawn with these weights, and the first with a valid sentence for the target
wins, so the realised mix leans to kinds that fit more often (meta.json records it). Relation kinds are ordered
the same way with ``RELATION_WEIGHTS``.
Target noun phrases in relational and superlative sentences never carry a colour that alone would identify the
target: the relation or superlative must be needed.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from tsp3d.data.synth.language import Description, NounPhrase, parse, render
from tsp3d.data.synth.relations import RELATIONS, SUPERLATIVES, SceneFacts
from tsp3d.data.synth.resolver import Resolution, candidates, evaluate

KIND_WEIGHTS = {"attribute": 0.55, "superlative": 0.20, "relation": 0.25}
KINDS = tuple(KIND_WEIGHTS)
# Relation kinds are tried in a random order drawn with these weights; "on"/"under" only fit objects that stand
# on/under something, so they go first when they can; closest/farthest fit almost always, so they go last.
RELATION_WEIGHTS = {
    "next_to": 1.0, "left_of": 1.0, "right_of": 1.0, "on": 4.0, "under": 4.0, "between": 1.0,
    "closest": 0.5, "farthest": 0.5,
}
UNIQUE_TARGET_SHARE = 0.15  # chance of picking the target among objects alone in their class (ScanRefer: ~19 %)
MAX_PER_TARGET = 2  # sentences about the same object in one scene
BETWEEN_ANCHOR_DISTANCE = (1.2, 6.0)  # metres between the two anchors of "between"


@dataclass
class Described:
    target: int
    description: Description
    text: str
    resolution: Resolution


def _np_forms(facts: SceneFacts, i: int) -> list[NounPhrase]:
    cls, color, size = facts.labels[i], facts.colors[i], facts.sizes[i]
    forms = [NounPhrase(cls), NounPhrase(cls, color)]
    if size != "medium":
        forms += [NounPhrase(cls, None, size), NounPhrase(cls, color, size)]
    return forms


def minimal_np(facts: SceneFacts, i: int) -> NounPhrase | None:
    """The shortest noun phrase that names object ``i`` alone (anchors are named this way), or None."""
    for np_ in _np_forms(facts, i):
        found = candidates(facts, np_)
        if found.size == 1 and found[0] == i:
            return np_
    return None


def _target_nps(facts: SceneFacts, t: int) -> list[NounPhrase]:
    """Target phrases for relational/superlative sentences: the class, or class + colour if that is not enough."""
    out = [NounPhrase(facts.labels[t])]
    coloured = NounPhrase(facts.labels[t], facts.colors[t])
    if candidates(facts, coloured).size > 1:
        out.append(coloured)
    return out


def _valid(facts: SceneFacts, t: int, descs) -> list[Description]:
    out = []
    for d in descs:
        res = evaluate(facts, d)
        if res.unique and res.target == t:
            out.append(d)
    return out


def _options(facts: SceneFacts, t: int, kind: str, relation: str | None = None) -> list[Description]:
    if kind == "attribute":
        return _valid(facts, t, [Description(np_) for np_ in _np_forms(facts, t)])
    if kind == "superlative":
        nps = _target_nps(facts, t)
        return _valid(facts, t, [Description(np_, superlative=s) for s in SUPERLATIVES for np_ in nps])
    others = [a for a in range(len(facts)) if a != t]
    named = {a: minimal_np(facts, a) for a in others}
    named = {a: n for a, n in named.items() if n is not None}
    if relation == "between":
        lo, hi = BETWEEN_ANCHOR_DISTANCE
        pairs = [(a, b) for a in named for b in named if a < b and lo <= facts.xy_dist[a, b] <= hi]
        descs = [Description(np_, "between", (named[a], named[b])) for a, b in pairs for np_ in _target_nps(facts, t)]
    else:
        descs = [Description(np_, relation, (named[a],)) for a in named for np_ in _target_nps(facts, t)]
    return _valid(facts, t, descs)


def check_mix(mix: dict[str, float] | None) -> dict[str, float]:
    """Validate kind weights (missing kinds get 0); None means ``KIND_WEIGHTS``."""
    if mix is None:
        return dict(KIND_WEIGHTS)
    unknown = set(mix) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown description kind(s) {sorted(unknown)}; kinds are {list(KINDS)}")
    out = {k: float(mix.get(k, 0.0)) for k in KINDS}
    if any(not np.isfinite(w) or w < 0 for w in out.values()) or sum(out.values()) <= 0:
        raise ValueError(f"kind weights must be >= 0 with a positive sum, got {mix}")
    return out


def describe_target(facts: SceneFacts, t: int, rng: np.random.Generator,
                    mix: dict[str, float] | None = None) -> Description | None:
    """One valid description of object ``t``, or None if the grammar cannot single it out."""
    mix = mix or KIND_WEIGHTS
    kinds = [k for k in KINDS if mix.get(k, 0) > 0]
    weights = np.array([mix[k] for k in kinds])
    for k in rng.choice(len(kinds), size=len(kinds), replace=False, p=weights / weights.sum()):
        kind = kinds[k]
        relations = [None]
        if kind == "relation":
            w = np.array([RELATION_WEIGHTS[r] for r in RELATIONS])
            relations = [RELATIONS[j] for j in rng.choice(len(RELATIONS), len(RELATIONS), replace=False, p=w / w.sum())]
        for relation in relations:
            options = _options(facts, t, kind, relation)
            if options:
                return options[int(rng.integers(len(options)))]
    return None


def describe_scene(facts: SceneFacts, n: int, rng: np.random.Generator,
                   mix: dict[str, float] | None = None) -> list[Described]:
    """Up to ``n`` distinct sentences, each verified: parse(render) == description and it resolves to its target."""
    counts = Counter(facts.labels)
    everyone = list(range(len(facts)))
    multiple = [i for i in everyone if counts[facts.labels[i]] > 1]
    alone = [i for i in everyone if counts[facts.labels[i]] == 1]
    used: Counter = Counter()
    said: set[Description] = set()
    out: list[Described] = []
    for _ in range(8 * n):
        if len(out) == n:
            break
        pool = alone if alone and rng.random() < UNIQUE_TARGET_SHARE else multiple or everyone
        pool = [i for i in pool if used[i] < MAX_PER_TARGET]
        if not pool:
            continue
        t = pool[int(rng.integers(len(pool)))]
        desc = describe_target(facts, t, rng, mix)
        if desc is None:
            used[t] = MAX_PER_TARGET  # nothing to say about it
            continue
        if desc in said:  # the same description again, only worded differently
            continue
        text = render(desc, rng)
        res = evaluate(facts, parse(text))
        if parse(text) != desc or not res.unique or res.target != t:  # a generator bug, never data
            raise RuntimeError(f"sentence {text!r} does not resolve to object {t}: {res}")
        said.add(desc)
        used[t] += 1
        out.append(Described(t, desc, text, res))
    return out
