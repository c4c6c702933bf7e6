"""The unanswered questions log: the questions the robot handed over, those it was unsure of
(a "did you mean" nobody took: one taken is logged as answered), and the answers visitors
rated not helpful, grouped by similarity so the shop sees its knowledge gaps as a few lines
("运费多少钱" ×12 and its variants) instead of thousands; each group settled at once by adding
its wording to an entry, by a new entry, or by dismissing it.

A visitor asking for a person ("转人工") is no gap in the knowledge base: the robot did what it
should. Those handovers are a view of their own, out of the default one; an empty message is in
neither.

Grouping is greedy leader clustering over the distinct wordings, most asked first: a wording
joins the most similar group leader when their features' Dice coefficient reaches ``SIMILAR``,
else it leads a group of its own. Features are character bigrams of Chinese text (segmenters
split 退货运费 either way; bigrams do not care) and whole words of other text. An inverted index
from feature to leaders keeps it well under a second for 10,000 questions
(tests/bench/robot_unanswered.py).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update

from app.robot import knowledge, service
from app.robot.models import RobotEntry, RobotQuestion
from app.robot.schemas import QUESTION_MAX, EntryInput
from tenants.db import db, scoped_get, utcnow
from tenants.errors import ServiceError

DEFAULT_DAYS = 30
MAX_DAYS = 365
PERIODS = (7, 30, 90)  # offered by the page; any number of days up to MAX_DAYS is accepted
# gaps: what the knowledge base could not answer; person: visitors who asked for a person
KINDS = ("gaps", "person")
NOT_GAPS = ("asked_for_person", "empty")
SIMILAR = 0.5  # Dice coefficient of two wordings' features for them to be one question
GROUPS_PER_PAGE = 20
VARIANTS_KEPT = 10
SETTLE_CHUNK = 500
# a guess below this shares a particle or two with the question, nothing an admin can use
LEAST_GUESS = 0.05

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_NOT_WORD = re.compile(r"[\W_]+")
# sentence-final particles change nothing of what is asked: 能开发票吗 = 能开发票
_PARTICLES = "吗呢啊呀吧哦嘛么"


@dataclass
class Group:
    """Questions asked in similar words. ``question_id``: its oldest question, the group's
    address in the page's forms."""

    text: str  # the most asked wording, as a visitor wrote it
    question_id: int
    count: int = 0
    unsettled: int = 0
    handovers: int = 0
    unhelpful: int = 0
    last_asked: datetime | None = None
    variants: list[tuple[str, int]] = field(default_factory=list)  # most asked first
    ids: list[int] = field(default_factory=list)
    candidates: tuple[service.Choice, ...] = ()

    @property
    def settled(self) -> bool:
        return self.unsettled == 0


def wording_key(text: str) -> str:
    """The wording as compared: width and case folded, punctuation and final particles out."""
    text = _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()
    return text.rstrip(_PARTICLES).strip() or text


def features(key: str) -> frozenset[str]:
    """Character bigrams of Chinese runs (a lone character as itself), other words whole."""
    found: set[str] = set()
    for part in _CJK.split(key):
        found.update(part.split())
    for run in _CJK.findall(key):
        found.update(run[i : i + 2] for i in range(max(len(run) - 1, 1)))
    return frozenset(found)


def _prefix(size: int) -> int:
    """How many of a wording's rarest features must be indexed and probed so that no pair
    reaching ``SIMILAR`` is missed (prefix filtering: such a pair shares at least
    ``SIMILAR * size / (2 - SIMILAR)`` features, so one of them is among these)."""
    return size - math.ceil(SIMILAR * size / (2 - SIMILAR) - 1e-9) + 1


def cluster(wordings: list[str]) -> list[int]:
    """For each of ``wordings`` (most important first), the position of its group's leader.
    Only the rarer features are indexed, so a common one (运费, 多少) never makes a wording
    compare itself with every group."""
    sets = [features(key) for key in wordings]
    frequency = Counter(feature for found in sets for feature in found)
    leaders: list[frozenset[str]] = []
    leader_at: list[int] = []
    postings: dict[str, list[int]] = defaultdict(list)
    found = []
    for position, mine in enumerate(sets):
        rarest = sorted(mine, key=lambda feature: (frequency[feature], feature))
        rarest = rarest[: _prefix(len(rarest))]
        best, best_score = None, 0.0
        # the earliest (most asked) leader wins a tie
        for leader in sorted({n for feature in rarest for n in postings.get(feature, ())}):
            theirs = leaders[leader]
            score = 2 * len(mine & theirs) / (len(mine) + len(theirs))
            if score >= SIMILAR and score > best_score:
                best, best_score = leader, score
        if best is None:
            best = len(leaders)
            leaders.append(mine)
            leader_at.append(position)
            for feature in rarest:
                postings[feature].append(best)
        found.append(leader_at[best])
    return found


def _in_log(kind: str):
    if kind == "person":
        return and_(
            RobotQuestion.decision == "handover", RobotQuestion.reason == "asked_for_person"
        )
    return or_(
        and_(RobotQuestion.decision == "handover", RobotQuestion.reason.not_in(NOT_GAPS)),
        RobotQuestion.decision == "suggest",
        RobotQuestion.rating == "unhelpful",
    )


def read_days(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return DEFAULT_DAYS
    if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise ServiceError("robot_days_invalid", field="days", max=MAX_DAYS)
    return int(raw)


def read_kind(raw: str | None) -> str:
    if raw is None or not raw.strip():
        return KINDS[0]
    if raw not in KINDS:
        raise ServiceError("robot_log_kind_invalid", field="kind")
    return raw


def logged(days: int, kind: str):
    """The log's questions of the last ``days`` days, oldest first."""
    return db.execute(
        select(
            RobotQuestion.id,
            RobotQuestion.question,
            RobotQuestion.decision,
            RobotQuestion.reason,
            RobotQuestion.rating,
            RobotQuestion.settled_at,
            RobotQuestion.created_at,
        )
        .where(RobotQuestion.created_at >= utcnow() - timedelta(days=days), _in_log(kind))
        .order_by(RobotQuestion.id)
    ).all()


def groups(days: int = DEFAULT_DAYS, kind: str = "gaps", rows=None) -> list[Group]:
    """The log grouped: the groups with questions left to settle first, the most asked first."""
    rows = logged(days, kind) if rows is None else rows
    by_key: dict[str, list] = defaultdict(list)
    for row in rows:
        by_key[wording_key(row.question)].append(row)
    # most asked first, then most recent: the leader of a group is its most asked wording
    keys = sorted(by_key, key=lambda k: (-len(by_key[k]), -by_key[k][-1].id))
    made: dict[int, Group] = {}
    for key, leader in zip(keys, cluster(keys), strict=True):
        members = by_key[key]
        written = _most_written(members)
        group = made.get(leader)
        if group is None:
            group = made[leader] = Group(text=written, question_id=members[0].id)
        group.question_id = min(group.question_id, members[0].id)
        if len(group.variants) < VARIANTS_KEPT:
            group.variants.append((written, len(members)))
        for row in members:
            group.ids.append(row.id)
            group.count += 1
            group.unsettled += row.settled_at is None
            group.handovers += row.decision == "handover"
            group.unhelpful += row.rating == "unhelpful"
            if group.last_asked is None or row.created_at > group.last_asked:
                group.last_asked = row.created_at
    return sorted(
        made.values(), key=lambda g: (g.settled, -g.unsettled, -g.count, -g.last_asked.timestamp())
    )


def _most_written(rows) -> str:
    """The way of writing a wording seen most (the latest on a tie)."""
    counts = Counter(" ".join(row.question.split()) for row in rows)
    latest = {text: n for n, text in enumerate(" ".join(r.question.split()) for r in rows)}
    return max(counts, key=lambda text: (counts[text], latest[text]))


def with_candidates(shown: list[Group]) -> list[Group]:
    """The robot's best entries for each shown group's wording (only the page's groups: each
    asks the matcher once)."""
    for group in shown:
        found = service.consider(group.text).candidates
        group.candidates = tuple(c for c in found if c.confidence >= LEAST_GUESS)
    return shown


def group_of(question_id: int, days: int, kind: str) -> Group:
    """The group ``question_id`` is in, as the page showed it. A question not in this shop's
    log is not found, like a foreign one."""
    if scoped_get(RobotQuestion, question_id) is None:
        raise ServiceError("not_found")
    for group in groups(days, kind):
        if question_id in group.ids:
            return group
    raise ServiceError("not_found")


def settle(group: Group) -> None:
    """Every question of the group taken care of, in chunks: a year's group can hold more
    ids than SQLite takes parameters in one statement."""
    now = utcnow()
    for start in range(0, len(group.ids), SETTLE_CHUNK):
        db.execute(
            update(RobotQuestion)
            .where(
                RobotQuestion.id.in_(group.ids[start : start + SETTLE_CHUNK]),
                RobotQuestion.settled_at.is_(None),
            )
            .values(settled_at=now)
            .execution_options(synchronize_session=False)
        )


def find_entry(text: str) -> RobotEntry:
    """The entry an admin named: ``#12``/``12`` (its id) or its question, whatever the case."""
    text = " ".join(text.split())
    if not text:
        raise ServiceError("robot_entry_required", field="entry")
    number = text.removeprefix("#")
    if number.isdigit():
        entry = scoped_get(RobotEntry, int(number))
    else:
        entry = db.scalar(
            select(RobotEntry)
            .where(func.lower(RobotEntry.question) == text.lower())
            .order_by(RobotEntry.id)
            .limit(1)
        )
    if entry is None:
        raise ServiceError("robot_entry_unknown", field="entry", value=text)
    return entry


def add_to_entry(group: Group, entry: RobotEntry) -> RobotEntry:
    """The group's wording becomes a phrasing of ``entry``: the same question is answered
    from now on. The log keeps longer text than a phrasing may hold (EntryInput does not
    check each alternative's length)."""
    if len(group.text) > QUESTION_MAX:
        raise ServiceError("too_long", field="entry", max=QUESTION_MAX)
    knowledge.add_phrasing(entry, group.text)
    settle(group)
    return entry


def new_entry(group: Group, data: EntryInput) -> RobotEntry:
    entry = knowledge.create_entry(data)
    settle(group)
    return entry
