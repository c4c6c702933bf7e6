"""Which knowledge-base entry answers a visitor's question: a per-shop index, pure Python.

Every phrasing of an entry (its question and alternatives) becomes a TF-IDF vector over the
features of ``app.robot.tokens`` (words, Chinese characters and bigrams, pinyin, English
character trigrams), L2-normalised. A question's similarity to a phrasing is their cosine, so it
is already a calibrated 0..1 figure; an entry's confidence mixes its three closest phrasings
with the entry's centroid (the mean of its phrasings), so a question that borrows words from
several phrasings of one entry still scores; a naive Bayes posterior trained on the phrasings
adds a supervised part. Document frequencies count entries, not phrasings.
Features of the question that the knowledge base has never seen count in its norm, so a
question about something else scores low.

Thresholds (DEFAULT_THRESHOLDS) were chosen on the development sets' *training* sentences only
(tests/bench/robot_eval.py --cross-validate): whole entries held out of the knowledge base turn
their phrasings into out-of-scope questions, held-out phrasings of kept entries are in-scope
ones, and the one triple doing best across BANKING77, HINT3 Curekart and zh-shop-faq's kb was
kept. Mostly Chinese questions are then scaled by CJK_SCALE, chosen on the development half
(even rows) of zh-shop-faq's real buyer questions, which the kb folds cannot stand in for.
docs/BENCHMARKS.md ("Robot answers") has the figures.

An Index is read-only once built, so green threads and threads share it freely.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from app.robot.tokens import (
    MAX_CHARS,
    Vocabulary,
    chinese,
    features,
    initials,
    normalise,
    spell_out,
    stem,
    word_set,
)

# How much each kind of feature counts (see app.robot.tokens for the namespaces).
WEIGHTS = {"w": 1.0, "c": 0.4, "b": 0.8, "p": 0.4, "g": 0.5}
# An entry's confidence: NEAREST_SHARE from its closest phrasings, the rest from its centroid
# (both chosen by cross-validation on the development sets' training sentences).
NEAREST = 3
NEAREST_SHARE = 0.8
# A supervised part, trained on the entries' phrasings: a multinomial naive Bayes over the same
# TF-IDF weights (Laplace smoothing BAYES_ALPHA); its posterior, sharpened, makes BAYES_SHARE of
# the confidence. It tells apart entries sharing words (an entry with many phrasings knows which
# words are its own). Share and sharpness chosen by cross-validation on training sentences.
BAYES_ALPHA = 0.1
BAYES_SHARE = 0.2
BAYES_SHARPNESS = 3.0
# Buyers write Chinese longer and looser than a knowledge base's phrasings, so a right entry
# scores lower in Chinese than in English: a mostly Chinese question's confidence is scaled
# onto the English scale (tests/bench/robot_eval.py --cross-validate chooses it).
CJK_SCALE = 1.43


@dataclass(frozen=True)
class Candidate:
    entry_id: int
    confidence: float


@dataclass(frozen=True)
class Thresholds:
    answer: float
    suggest: float
    margin: float


DEFAULT_THRESHOLDS = Thresholds(answer=0.40, suggest=0.20, margin=0.0)


@dataclass(frozen=True)
class Verdict:
    decision: str  # "answer" | "suggest" | "handover"
    # "matched" | "ambiguous" | "unsure" | "out_of_scope" | "asked_for_person" | "empty"
    reason: str
    entry_id: int | None
    confidence: float
    candidates: tuple[Candidate, ...]


class _Postings:
    """An inverted index of L2-normalised sparse vectors: feature → (rows, weights)."""

    def __init__(self, vectors: Sequence[dict[str, float]]):
        rows: dict[str, list[int]] = {}
        weights: dict[str, list[float]] = {}
        for row, vector in enumerate(vectors):
            for feature, weight in vector.items():
                rows.setdefault(feature, []).append(row)
                weights.setdefault(feature, []).append(weight)
        self.size = len(vectors)
        self.lists = {
            f: (np.asarray(rows[f], dtype=np.int32), np.asarray(weights[f], dtype=np.float32))
            for f in rows
        }

    def dot(self, query: dict[str, float]) -> np.ndarray:
        scores = np.zeros(self.size, dtype=np.float32)
        for feature, weight in query.items():
            posting = self.lists.get(feature)
            if posting is not None:
                scores[posting[0]] += posting[1] * weight
        return scores


class Index:
    """One shop's enabled entries, ready to rank questions against."""

    def __init__(
        self,
        vocabulary: Vocabulary,
        abbreviations: dict[str, str],
        idf: dict[str, float],
        unseen_idf: float,
        entry_ids: np.ndarray,
        phrasing_entry: np.ndarray,
        phrasings: _Postings,
        centroids: _Postings,
        bayes: _Postings,
        bayes_base: np.ndarray,
    ):
        self._vocabulary = vocabulary
        self._abbreviations = abbreviations
        self._idf = idf
        self._unseen_idf = unseen_idf
        self._entry_ids = entry_ids
        self._phrasing_entry = phrasing_entry
        self._phrasings = phrasings
        self._centroids = centroids
        self._bayes = bayes
        self._bayes_base = bayes_base
        self._counts = np.bincount(phrasing_entry, minlength=len(entry_ids)).astype(np.float32)

    @classmethod
    def build(
        cls,
        entries: Iterable[tuple[int, Sequence[str]]],
        *,
        synonyms: Iterable[Sequence[str]] = (),
        words: Iterable[str] = (),
    ) -> Index:
        """entries: (entry_id, phrasings) with the entry's question first; synonyms: groups of
        equivalent terms; words: the shop's own words for the Chinese tokenizer."""
        vocabulary = Vocabulary(synonyms, words)
        entry_ids: list[int] = []
        phrasing_entry: list[int] = []
        bags = []
        spelled: Counter[tuple[str, str]] = Counter()
        for entry_id, texts in entries:
            kept = [bag for bag in (features(t, vocabulary) for t in texts if t) if bag]
            if not kept:
                continue
            entry_ids.append(int(entry_id))
            phrasing_entry.extend([len(entry_ids) - 1] * len(kept))
            bags.extend(kept)
            spelled.update(set().union(*(initials(t) for t in texts if t)))

        idf, unseen_idf = _idf(bags, phrasing_entry, len(entry_ids))

        vectors = [_unit({f: _weight(f, c) * idf[f] for f, c in bag.items()}) for bag in bags]
        sums: list[dict[str, float]] = [{} for _ in entry_ids]
        for row, vector in enumerate(vectors):
            total = sums[phrasing_entry[row]]
            for feature, weight in vector.items():
                total[feature] = total.get(feature, 0.0) + weight
        return cls(
            vocabulary,
            _abbreviations(spelled),
            idf,
            unseen_idf,
            np.asarray(entry_ids, dtype=np.int64),
            np.asarray(phrasing_entry, dtype=np.int32),
            _Postings(vectors),
            _Postings([_unit(total) for total in sums]),
            *_bayes(sums, len(idf)),
        )

    def __len__(self) -> int:
        return self._phrasings.size

    def _query(self, question: str) -> dict[str, float]:
        """The question's unit vector over the features the index knows; unseen ones only
        lower the known ones' weight."""
        vector: dict[str, float] = {}
        unseen_norm = 0.0
        for feature, count in features(self._spell_out(question), self._vocabulary).items():
            idf = self._idf.get(feature)
            if idf is not None:
                vector[feature] = _weight(feature, count) * idf
            else:
                unseen_norm += (_weight(feature, count) * self._unseen_idf) ** 2
        norm = math.sqrt(sum(w * w for w in vector.values()) + unseen_norm)
        return {f: w / norm for f, w in vector.items()} if norm else {}

    def _spell_out(self, question: str) -> str:
        return spell_out(question, self._abbreviations, lambda w: "w:" + stem(w) in self._idf)

    def rank(self, question: str, limit: int = 3) -> list[Candidate]:
        """The best entries for a question, best first, with a 0..1 confidence."""
        query = self._query(question)
        if not query or not len(self._entry_ids):
            return []
        nearest = self._nearest(self._phrasings.dot(query))
        centroid = self._centroids.dot(query)
        confidence = NEAREST_SHARE * nearest + (1 - NEAREST_SHARE) * centroid
        # Naive Bayes' posterior: which entry's words these are, against all the others.
        logit = BAYES_SHARPNESS * (self._bayes.dot(query) + sum(query.values()) * self._bayes_base)
        posterior = np.exp(logit - logit.max())
        confidence = (1 - BAYES_SHARE) * confidence + BAYES_SHARE * posterior / posterior.sum()
        if chinese(question):
            confidence *= CJK_SCALE
        top = np.argsort(-confidence, kind="stable")[:limit]
        return [
            Candidate(int(self._entry_ids[i]), round(min(float(confidence[i]), 1.0), 4))
            for i in top
            if confidence[i] > 0
        ]

    def _nearest(self, scores: np.ndarray) -> np.ndarray:
        """Each entry's mean similarity over its NEAREST closest phrasings (fewer if it has
        fewer): one stray phrasing weighs less than several agreeing ones."""
        order = np.lexsort((-scores, self._phrasing_entry))
        groups = self._phrasing_entry[order]
        keep = (np.arange(len(order)) - np.searchsorted(groups, groups)) < NEAREST
        total = np.zeros(len(self._entry_ids), dtype=np.float32)
        np.add.at(total, groups[keep], scores[order][keep])
        return total / np.minimum(self._counts, NEAREST)

    def answer(self, question: str, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Verdict:
        """Answer, suggest or hand over; never raises on any text."""
        if not features(self._spell_out(question)):
            return Verdict("handover", "empty", None, 0.0, ())
        candidates = tuple(self.rank(question))
        top = candidates[0].confidence if candidates else 0.0
        if wants_person(question):
            return Verdict("handover", "asked_for_person", None, top, candidates)
        if top < thresholds.suggest or not candidates:
            return Verdict("handover", "out_of_scope", None, top, candidates)
        second = candidates[1].confidence if len(candidates) > 1 else 0.0
        if top < thresholds.answer:
            return Verdict("suggest", "unsure", None, top, candidates)
        if top - second < thresholds.margin:
            return Verdict("suggest", "ambiguous", None, top, candidates)
        return Verdict("answer", "matched", candidates[0].entry_id, top, candidates)


def _abbreviations(spelled: Counter[tuple[str, str]]) -> dict[str, str]:
    """Pinyin initials → the Chinese string of the knowledge base they most likely stand for
    (the one in the most entries; then the longest): by → 包邮 in a shop that talks of it."""
    best: dict[str, tuple[int, int, str]] = {}
    for (letters, hanzi), entries in spelled.items():
        rank = (entries, len(hanzi), hanzi)
        if rank > best.get(letters, (0, 0, "")):
            best[letters] = rank
    return {letters: rank[2] for letters, rank in best.items()}


def _idf(bags: list, phrasing_entry: list[int], entries: int) -> tuple[dict[str, float], float]:
    """Inverse *entry* frequency: a word in every phrasing of one entry is that entry's mark,
    not a common word (an entry with 100 phrasings would otherwise dilute its own words)."""
    seen_in: dict[str, set[int]] = {}
    for row, bag in enumerate(bags):
        for feature in bag:
            seen_in.setdefault(feature, set()).add(phrasing_entry[row])
    idf = {f: math.log((entries + 1) / (len(e) + 1)) + 1 for f, e in seen_in.items()}
    return idf, math.log(entries + 1) + 1


def _bayes(sums: list[dict[str, float]], vocabulary: int) -> tuple[_Postings, np.ndarray]:
    """Naive Bayes' log-likelihoods split in two: log P(f|entry) = base[entry] + postings[f]
    (zero for a feature the entry never has), so a question costs one pass over its features."""
    totals = [sum(total.values()) + BAYES_ALPHA * vocabulary for total in sums]
    postings = _Postings([{f: math.log1p(w / BAYES_ALPHA) for f, w in t.items()} for t in sums])
    base = np.asarray([math.log(BAYES_ALPHA / total) for total in totals], dtype=np.float32)
    return postings, base


def _weight(feature: str, count: int) -> float:
    return WEIGHTS[feature[0]] * (1 + math.log(count))


def _unit(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in vector.values()))
    return {f: w / norm for f, w in vector.items()} if norm else {}


# --- asking for a person ----------------------------------------------------------------------
# Language facts (zh + en), not fitted to a question set. A request anywhere in the message:
_PERSON_ZH = re.compile(
    r"转人工|人工客服|人工服务|人工坐席|[找要接叫转]人工|呼叫人工|真人|活人|投诉"
    r"|(不要|别用?|不想[要跟和]?)机器人|机器人[听看]不懂|你是机器人"
    r"|[找叫喊让请][你您]?们?的?(老板|店长|经理|负责人|主管|客服)"
    r"|[让有换叫派找](个|一个)?人来|客服电话|人工电话"
)
_PERSON_EN = re.compile(
    r"\b(talk|speak|chat|connect|transfer|put|get)\s+(me\s+)?(to|with|through\s+to)\s+"
    r"(a|an|the|some|your)?\s*(real\s+|live\s+|actual\s+|human\s+)?"
    r"(human|person|people|agent|operator|representative|rep|someone|somebody|staff|manager)\b"
    r"|\b(real|live|actual)\s+(person|human|agent|people)\b|\bhuman\s+(agent|being|support)\b"
    r"|\bcustomer\s+service\s+(rep|representative|agent)\b|\bnot\s+a\s+(bot|robot)\b"
)
# A message made only of these words (with the fillers below) asks for a person; alone they are
# too common inside other questions ("my agent code doesn't work", 人工色素) to count there.
_PERSON_ALONE = word_set(
    "人工 客服 人工客服 真人 zrg rgkf rg human humans agent agents operator person "
    "representative rep someone somebody staff support"
)
_FILLERS = word_set(
    "please pls plz a an the i want need to talk speak with me get give can could now hello "
    "hi hey real live 我 要 我要 请 给 给我 转 找 呼叫 在 在吗 吗 呢 啊 呀 快 快点 谢谢 你好 "
    "服务 一下"
)
_ALONE_TOKENS = re.compile(
    r"[a-z]+|我要|给我|在吗|快点|谢谢|你好|服务|一下|人工客服|人工|客服|真人|."
)


def wants_person(question: str) -> bool:
    """A request for a person ("转人工", "zrg", "human please", "talk to a real person"). A
    keyword inside a longer question is not one: "my agent code doesn't work" is a question."""
    text = normalise(question[:MAX_CHARS])
    if _PERSON_ZH.search(text) or _PERSON_EN.search(text):
        return True
    words = [w for w in _ALONE_TOKENS.findall(text) if w.strip() and (w.isalnum())]
    words = [w for w in words if w not in _FILLERS]
    return bool(words) and all(w in _PERSON_ALONE for w in words)
