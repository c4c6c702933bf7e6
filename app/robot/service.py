"""Asking the robot: the shop's index (built from its enabled entries, kept per worker and
rebuilt when the knowledge base's version moves), the decision with the shop's thresholds,
and the log of what was asked.

The index is kept in this process's memory, one per shop, with the version it was built from;
each question reads the shop's settings row anyway (mode, thresholds), so a change committed by
any worker is seen by the next question in every worker.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

from sqlalchemy import select

from app.robot import knowledge
from app.robot.matcher import DEFAULT_THRESHOLDS, Index, Thresholds, Verdict
from app.robot.models import RobotEntry, RobotQuestion, RobotSettings
from app.robot.signals import robot_asked
from tenants.db import current_tenant_id, db

# shops whose index one worker keeps; the least recently asked is dropped first
KEPT_INDEXES = 200
QUESTION_KEPT = 1000  # characters of a question kept in the log


@dataclass(frozen=True)
class Choice:
    """One of the robot's candidates, named for people."""

    entry_id: int
    question: str
    confidence: float


@dataclass(frozen=True)
class Reply:
    decision: str  # answer | suggest | handover
    reason: str
    entry: RobotEntry | None  # the answering entry, when the decision is "answer"
    confidence: float
    candidates: tuple[Choice, ...]
    # the candidates worth offering a visitor ("did you mean"): at or above the suggest level
    offered: tuple[Choice, ...] = ()
    question_id: int | None = None  # the log's row, when the question was logged

    @property
    def answer(self) -> str | None:
        return self.entry.answer if self.entry else None


class _Indexes:
    """Each shop's index with the version it was built from; one build at a time per shop."""

    def __init__(self) -> None:
        self._built: OrderedDict[int, tuple[int, Index]] = OrderedDict()
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, tenant_id: int, version: int, build) -> Index:
        kept = self._built.get(tenant_id)
        if kept is None or kept[0] != version:
            with self._guard:
                lock = self._locks.setdefault(tenant_id, threading.Lock())
            with lock:  # a second asker waits for the first one's build
                kept = self._built.get(tenant_id)
                if kept is None or kept[0] != version:
                    kept = (version, build())
                    self._built[tenant_id] = kept
        self._built.move_to_end(tenant_id)
        while len(self._built) > KEPT_INDEXES:
            self._built.popitem(last=False)
        return kept[1]

    def clear(self) -> None:
        self._built.clear()


indexes = _Indexes()


def _build(shop: RobotSettings) -> Index:
    rows = db.execute(
        select(RobotEntry.id, RobotEntry.question, RobotEntry.alternatives)
        .where(RobotEntry.enabled)
        .order_by(RobotEntry.id)
    )
    entries = [(entry_id, [question, *alternatives]) for entry_id, question, alternatives in rows]
    return _off_the_loop(
        Index.build,
        entries,
        synonyms=knowledge.synonym_groups(shop.synonyms),
        words=knowledge.user_words(shop.words),
    )


def _off_the_loop(work, *args, **kwargs):
    """Under eventlet, CPU work as long as a big base's build (about a second) would stop every
    other green thread of the worker: it runs in a real thread, the others go on."""
    eventlet = sys.modules.get("eventlet")  # imported by wsgi.py when it serves
    if eventlet is not None and eventlet.patcher.is_monkey_patched("thread"):
        from eventlet import tpool

        return tpool.execute(work, *args, **kwargs)
    return work(*args, **kwargs)


def index(shop: RobotSettings | None = None) -> Index:
    shop = shop or knowledge.settings()
    return indexes.get(current_tenant_id(), shop.version, lambda: _build(shop))


def thresholds(shop: RobotSettings) -> Thresholds:
    return Thresholds(
        answer=DEFAULT_THRESHOLDS.answer
        if shop.answer_threshold is None
        else shop.answer_threshold,
        suggest=(
            DEFAULT_THRESHOLDS.suggest if shop.suggest_threshold is None else shop.suggest_threshold
        ),
        margin=DEFAULT_THRESHOLDS.margin if shop.margin is None else shop.margin,
    )


def _reply(verdict: Verdict, levels: Thresholds) -> Reply:
    ids = [c.entry_id for c in verdict.candidates]
    entries = {e.id: e for e in db.scalars(select(RobotEntry).where(RobotEntry.id.in_(ids)))}
    choices = tuple(
        Choice(c.entry_id, entries[c.entry_id].question, round(c.confidence, 4))
        for c in verdict.candidates
        if c.entry_id in entries
    )
    entry = entries.get(verdict.entry_id) if verdict.decision == "answer" else None
    return Reply(
        decision=verdict.decision if entry or verdict.decision != "answer" else "handover",
        reason=verdict.reason,
        entry=entry,
        confidence=round(verdict.confidence, 4),
        candidates=choices,
        offered=tuple(c for c in choices if c.confidence >= levels.suggest),
    )


def consider(question: str) -> Reply:
    """What the robot would do with ``question``, logging nothing (the console's "try it")."""
    shop = knowledge.settings()
    levels = thresholds(shop)
    return _reply(index(shop).answer(question, levels), levels)


def ask(question: str, channel: str, conversation_id: int | None = None) -> Reply:
    """Ask the robot and log the question with its decision (the shop's figures and the
    unanswered log read the log)."""
    reply = consider(question)
    logged = RobotQuestion(
        channel=channel,
        question=question.strip()[:QUESTION_KEPT],
        decision=reply.decision,
        reason=reply.reason,
        entry_id=reply.entry.id if reply.entry else None,
        confidence=reply.confidence,
        conversation_id=conversation_id,
    )
    db.add(logged)
    db.flush()
    robot_asked.send(logged)
    return replace(reply, question_id=logged.id)
