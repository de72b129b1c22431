"""The referring-expression grammar: a small logical form, its rendering to English, and the parser back.

A ``Description`` is a target noun phrase ("the small red chair") plus at most one of: a relation to one or two
anchor noun phrases ("next to the bed", "between the sofa and the blue table", "closest to the lamp") or a
superlative ("the leftmost chair"). ``render`` picks synonyms and a carrier phrase at random; ``parse`` inverts
any rendering exactly, so a sentence on disk can be re-checked against its scene without trusting the generator.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from tsp3d.data.synth.catalog import CLASS_NAMES
from tsp3d.data.synth.palette import COLOR_NAMES
from tsp3d.data.synth.relations import RELATIONS, SUPERLATIVES

SIZE_WORDS = {"small": ("small", "little"), "large": ("large", "big")}
SUPERLATIVE_WORDS = {
    "leftmost": ("leftmost",), "rightmost": ("rightmost",), "largest": ("largest", "biggest"),
    "smallest": ("smallest",),
}
RELATION_WORDS = {
    "next_to": ("next to", "beside"),
    "left_of": ("to the left of", "left of"),
    "right_of": ("to the right of", "right of"),
    "on": ("on top of", "on"),
    "under": ("under", "below", "beneath"),
    "between": ("between",),
    "closest": ("closest to", "nearest to"),
    "farthest": ("farthest from", "furthest from"),
}
PREFIXES = ("", "find ", "select ", "look for ", "it is ")
SUFFIXES = ("", " in the room")
RELATIVE = ("", "that is ")
assert set(RELATION_WORDS) == set(RELATIONS) and set(SUPERLATIVE_WORDS) == set(SUPERLATIVES)


class ParseError(ValueError):
    """The sentence is not in the grammar."""


@dataclass(frozen=True)
class NounPhrase:
    cls: str
    color: str | None = None
    size: str | None = None  # "small" | "large" (a medium object is never called so)


@dataclass(frozen=True)
class Description:
    target: NounPhrase
    relation: str | None = None
    anchors: tuple[NounPhrase, ...] = ()
    superlative: str | None = None

    @property
    def kind(self) -> str:
        return "relation" if self.relation else "superlative" if self.superlative else "attribute"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["anchors"] = [asdict(a) for a in self.anchors]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Description":
        return cls(NounPhrase(**d["target"]), d.get("relation"), tuple(NounPhrase(**a) for a in d.get("anchors", ())),
                   d.get("superlative"))


def _pick(options, rng: np.random.Generator):
    return options[int(rng.integers(len(options)))]


def _np_text(np_: NounPhrase, rng, superlative: str | None = None) -> str:
    words = ["the"]
    if superlative:
        words.append(_pick(SUPERLATIVE_WORDS[superlative], rng))
    if np_.size:
        words.append(_pick(SIZE_WORDS[np_.size], rng))
    if np_.color:
        words.append(np_.color)
    words.append(np_.cls)
    return " ".join(words)


def render(desc: Description, rng: np.random.Generator) -> str:
    body = _np_text(desc.target, rng, desc.superlative)
    if desc.relation:
        anchors = " and ".join(_np_text(a, rng) for a in desc.anchors)
        body += f" {_pick(RELATIVE, rng)}{_pick(RELATION_WORDS[desc.relation], rng)} {anchors}"
    return f"{_pick(PREFIXES, rng)}{body}{_pick(SUFFIXES, rng)}."


# ------------------------------------------------------------------------------------------------ parser


def _alt(words) -> str:
    return "(?:" + "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)) + ")"


_CANON_SIZE = {w: k for k, ws in SIZE_WORDS.items() for w in ws}
_CANON_SUP = {w: k for k, ws in SUPERLATIVE_WORDS.items() for w in ws}
_CANON_REL = {w: k for k, ws in RELATION_WORDS.items() for w in ws}


def _np_re(name: str, superlative: bool = False) -> str:
    sup = f"(?:(?P<{name}_sup>{_alt(_CANON_SUP)}) )?" if superlative else ""
    return (
        f"the {sup}(?:(?P<{name}_size>{_alt(_CANON_SIZE)}) )?(?:(?P<{name}_color>{_alt(COLOR_NAMES)}) )?"
        f"(?P<{name}_cls>{_alt(CLASS_NAMES)})"
    )


_SENTENCE = re.compile(
    f"{_alt(PREFIXES)}{_np_re('t', superlative=True)}"
    f"(?: {_alt(RELATIVE)}(?P<rel>{_alt(_CANON_REL)}) {_np_re('a1')}(?: and {_np_re('a2')})?)?"
    f"{_alt(SUFFIXES)}\\."
)


def _np(m: re.Match, name: str) -> NounPhrase:
    size = m.group(f"{name}_size")
    return NounPhrase(m.group(f"{name}_cls"), m.group(f"{name}_color"), _CANON_SIZE[size] if size else None)


def parse(text: str) -> Description:
    """The logical form of a sentence of the grammar (case and surrounding spaces are ignored)."""
    m = _SENTENCE.fullmatch(" ".join(text.strip().lower().split()))
    if m is None:
        raise ParseError(f"not a sentence of the synthetic grammar: {text!r}")
    sup = m.group("t_sup")
    relation = _CANON_REL[m.group("rel")] if m.group("rel") else None
    anchors = tuple(_np(m, a) for a in ("a1", "a2") if m.group(f"{a}_cls"))
    if sup and relation:
        raise ParseError(f"a superlative and a relation in one sentence are not in the grammar: {text!r}")
    if (relation == "between") != (len(anchors) == 2):
        raise ParseError(f"'between' takes exactly two anchors, other relations one: {text!r}")
    return Description(_np(m, "t"), relation, anchors, _CANON_SUP[sup] if sup else None)
