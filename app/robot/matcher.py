"""Interim matcher (character bigram cosine) with the final interface; replaced by the
matcher branch (c13-matcher)."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

HANDOVER = ("转人工", "人工", "真人", "客服", "human", "agent", "real person", "operator")


@dataclass(frozen=True)
class Candidate:
    entry_id: int
    confidence: float


@dataclass(frozen=True)
class Thresholds:
    answer: float
    suggest: float
    margin: float


DEFAULT_THRESHOLDS = Thresholds(answer=0.5, suggest=0.3, margin=0.05)


@dataclass(frozen=True)
class Verdict:
    decision: str
    reason: str
    entry_id: int | None
    confidence: float
    candidates: tuple[Candidate, ...]


def _grams(text: str) -> Counter:
    text = re.sub(r"\W+", " ", text.lower()[:500]).strip()
    return Counter(text[i : i + 2] for i in range(len(text) - 1))


def _cos(a: Counter, b: Counter) -> float:
    dot = sum(v * b[k] for k, v in a.items())
    norm = math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def wants_person(question: str) -> bool:
    lowered = question.lower()
    return any(phrase in lowered for phrase in HANDOVER)


class Index:
    def __init__(self, phrasings):
        self._phrasings = phrasings

    @classmethod
    def build(cls, entries, *, synonyms=(), words=()):
        return cls([(entry_id, _grams(t)) for entry_id, texts in entries for t in texts])

    def __len__(self):
        return len(self._phrasings)

    def rank(self, question: str, limit: int = 3) -> list[Candidate]:
        asked = _grams(question)
        best: dict[int, float] = {}
        for entry_id, grams in self._phrasings:
            best[entry_id] = max(best.get(entry_id, 0.0), _cos(asked, grams))
        ranked = sorted(best.items(), key=lambda kv: -kv[1])[:limit]
        return [Candidate(e, c) for e, c in ranked if c > 0]

    def answer(self, question: str, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Verdict:
        found = tuple(self.rank(question))
        top = found[0].confidence if found else 0.0
        if wants_person(question):
            return Verdict("handover", "asked_for_person", None, top, found)
        if not _grams(question):
            return Verdict("handover", "empty", None, 0.0, ())
        if top < thresholds.suggest:
            return Verdict("handover", "out_of_scope", None, top, found)
        second = found[1].confidence if len(found) > 1 else 0.0
        if top < thresholds.answer:
            return Verdict("suggest", "unsure", None, top, found)
        if top - second < thresholds.margin:
            return Verdict("suggest", "ambiguous", None, top, found)
        return Verdict("answer", "matched", found[0].entry_id, top, found)
