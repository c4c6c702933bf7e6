"""How the team answered over a period, per agent and for the shop, read from the raw reporting
events (team_listeners.py): medians and 90th percentiles cannot be added up from daily rows,
so the period's events are read as they are (index ix_analytics_events_tenant_name_at).

Definitions (the page and the API say the same):
- chats handled: the conversations the agent replied in during the period (the shop counts
  each once however many agents replied);
- first response time: from the conversation's start (or the robot's handover) to the first
  reply of a person; response time: from the visitor's oldest unanswered message to each reply;
  resolution time: from the start to the close, for the conversations a person answered;
- percentiles are nearest-rank: of n values sorted ascending, the p-th percentile is the value
  at rank ceil(p × n / 100) — always one of the measured values; the median is the 50th;
- missed chats: closed without any person's answer (not counting those the robot resolved);
  left messages are counted apart (team_listeners.py says why);
- robot: of the conversations the robot finished with in the period, the share it resolved
  alone and the share it handed over to people (the two add up to 100 %).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select

from app.analytics.models import AnalyticsEvent
from app.analytics.reports import Period
from app.chat import service as chat_service
from tenants.db import current_tenant_id, db
from tenants.models import Tenant
from tenants.timezones import day_bounds

TIMED = ("first_response", "reply", "resolved")
TEAM_EVENTS = (*TIMED, "rated", "missed", "call_answered", "call_missed")
ROBOT_EVENTS = ("robot_resolved", "robot_handover")
SCORES = (1, 2, 3, 4, 5)


def percentile(values: list[float], p: int) -> float | None:
    """The nearest-rank ``p``-th percentile of ``values`` (None for none)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-p * len(ordered) // 100)  # ceil without floats
    return ordered[max(rank, 1) - 1]


@dataclass
class Times:
    """Seconds measured for one kind of time: how many, the median and the 90th percentile."""

    values: list[float] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float | None:
        return percentile(self.values, 50)

    @property
    def p90(self) -> float | None:
        return percentile(self.values, 90)


@dataclass
class TeamRow:
    """One agent's figures (``agent_id`` None: the whole shop)."""

    agent_id: int | None
    name: str
    conversations: set[int] = field(default_factory=set)
    first_response: Times = field(default_factory=Times)
    reply: Times = field(default_factory=Times)
    resolved: Times = field(default_factory=Times)
    ratings: Counter = field(default_factory=Counter)  # score -> how many
    missed: int = 0
    call_answered: int = 0
    call_missed: int = 0

    @property
    def chats(self) -> int:
        return len(self.conversations)

    @property
    def rating_count(self) -> int:
        return sum(self.ratings.values())

    @property
    def rating_average(self) -> float | None:
        count = self.rating_count
        return sum(s * n for s, n in self.ratings.items()) / count if count else None

    def add(self, name: str, conversation_id: int | None, value: float | None) -> None:
        if name in TIMED:
            getattr(self, name).values.append(value or 0.0)
            if name != "resolved" and conversation_id is not None:
                self.conversations.add(conversation_id)
        elif name == "rated":
            self.ratings[round(value or 0)] += 1
        else:
            setattr(self, name, getattr(self, name) + 1)


@dataclass(frozen=True)
class RobotShare:
    resolved: int
    handed_over: int

    @property
    def conversations(self) -> int:
        return self.resolved + self.handed_over

    @property
    def resolved_share(self) -> float:
        return self.resolved / self.conversations

    @property
    def handover_rate(self) -> float:
        return self.handed_over / self.conversations


@dataclass
class TeamReport:
    period: Period
    rows: list[TeamRow]  # agents, by name
    total: TeamRow
    left_messages: int
    robot: RobotShare | None  # None: the robot finished no conversation in the period

    @property
    def empty(self) -> bool:
        """Nothing to show: no agent's figure, nothing missed, left or done by the robot."""
        total = self.total
        return not (self.rows or total.missed or total.call_missed or self.left_messages) and (
            self.robot is None
        )


def bounds(period: Period) -> tuple:
    """The UTC moments the shop's local days of ``period`` start and end at."""
    zone = db.scalar(select(Tenant.timezone).where(Tenant.id == current_tenant_id()))
    return day_bounds(period.start, zone)[0], day_bounds(period.end, zone)[1]


def _events(names: tuple[str, ...], start, end, *columns):
    return db.execute(
        select(*columns).where(
            AnalyticsEvent.name.in_(names), AnalyticsEvent.at >= start, AnalyticsEvent.at < end
        )
    ).all()


def report(period: Period) -> TeamReport:
    start, end = bounds(period)
    names = chat_service.agent_names()
    total = TeamRow(None, "")
    agents: dict[int, TeamRow] = {}
    for name, agent_id, conversation_id, value in _events(
        TEAM_EVENTS,
        start,
        end,
        AnalyticsEvent.name,
        AnalyticsEvent.agent_id,
        AnalyticsEvent.conversation_id,
        AnalyticsEvent.value,
    ):
        total.add(name, conversation_id, value)
        if agent_id is not None:
            if agent_id not in agents:
                agents[agent_id] = TeamRow(agent_id, names.get(agent_id, f"#{agent_id}"))
            agents[agent_id].add(name, conversation_id, value)
    robot = _robot(start, end)
    return TeamReport(
        period=period,
        rows=sorted(agents.values(), key=lambda r: (r.name.lower(), r.agent_id)),
        total=total,
        left_messages=_left_messages(start, end),
        robot=robot if robot.conversations else None,
    )


def _robot(start, end) -> RobotShare:
    seen: defaultdict[str, set[int]] = defaultdict(set)
    for name, conversation_id in _events(
        ROBOT_EVENTS, start, end, AnalyticsEvent.name, AnalyticsEvent.conversation_id
    ):
        seen[name].add(conversation_id)
    return RobotShare(len(seen["robot_resolved"]), len(seen["robot_handover"]))


def _left_messages(start, end) -> int:
    return db.scalar(
        select(func.count())
        .select_from(AnalyticsEvent)
        .where(
            AnalyticsEvent.name == "consultation",
            AnalyticsEvent.at >= start,
            AnalyticsEvent.at < end,
            AnalyticsEvent.kind == "message",
        )
    )


# The table's columns as machines read them (CSV header, API fields): seconds, not words.
COLUMNS = (
    "chats",
    "first_response_median_s",
    "first_response_p90_s",
    "response_median_s",
    "response_p90_s",
    "resolution_median_s",
    "resolution_p90_s",
    "rating_average",
    "rating_count",
    *(f"rating_{s}" for s in SCORES),
    "missed",
    "calls_answered",
    "calls_missed",
)


def figures(row: TeamRow) -> dict:
    """A row's figures under the machine column names (one definition for CSV and API)."""
    average = row.rating_average
    return {
        "chats": row.chats,
        "first_response_median_s": row.first_response.median,
        "first_response_p90_s": row.first_response.p90,
        "response_median_s": row.reply.median,
        "response_p90_s": row.reply.p90,
        "resolution_median_s": row.resolved.median,
        "resolution_p90_s": row.resolved.p90,
        "rating_average": round(average, 2) if average is not None else None,
        "rating_count": row.rating_count,
        **{f"rating_{s}": row.ratings.get(s, 0) for s in SCORES},
        "missed": row.missed,
        "calls_answered": row.call_answered,
        "calls_missed": row.call_missed,
    }
