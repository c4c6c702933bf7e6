"""/api/v1/analytics: the shop's reports as JSON for its own BI, behind the ``analytics``
feature. The figures are the console's (app/analytics/); the key, the errors and the document
are the API's."""

from __future__ import annotations

from datetime import date

from flask import g
from pydantic import ConfigDict, Field

from app.analytics import reports, team
from app.api import auth
from app.api.inputs import query
from app.api.openapi import operation
from app.api.params import Day, QueryModel
from app.api.schemas import Answer
from app.api.views import answer, api_blueprint
from tenants.db import utcnow
from tenants.timezones import local

bp = api_blueprint("api_analytics", "analytics")


class PeriodQuery(QueryModel):
    from_: Day = Field(
        None,
        alias="from",
        description="The first day (YYYY-MM-DD, the shop's time zone); 29 days before `to` "
        "when left out.",
    )
    to: Day = Field(None, description="The last day, included (YYYY-MM-DD); today when left out.")


class TeamTimes(Answer):
    """Seconds measured for one kind of time (nearest-rank percentiles: always one of the
    measured values; null when none was measured)."""

    count: int
    median: float | None
    p90: float | None


class TeamRatings(Answer):
    average: float | None = Field(description="The average score, 1 to 5; null for none.")
    count: int
    distribution: dict[str, int] = Field(description='How many of each score: "1" to "5".')


class TeamCalls(Answer):
    answered: int
    missed: int


class TeamFigures(Answer):
    chats: int = Field(description="Conversations replied in (the shop counts each once).")
    first_response: TeamTimes = Field(
        description="From the conversation's start (or the robot's handover) to a person's "
        "first reply."
    )
    response: TeamTimes = Field(
        description="From the visitor's oldest unanswered message to each reply."
    )
    resolution: TeamTimes = Field(
        description="From the start to the close, chats a person answered."
    )
    ratings: TeamRatings
    missed: int = Field(description="Chats closed without any person's answer.")
    calls: TeamCalls = Field(description="Inbound calls answered and missed.")


class AgentFigures(TeamFigures):
    agent_id: int = Field(description="The member's id.")
    name: str


class TeamRobot(Answer):
    """Of the conversations the robot finished with in the period: resolved alone (no
    person spoke, no handover) or handed over to people."""

    conversations: int
    resolved: int
    handed_over: int
    resolved_share: float
    handover_rate: float


class TeamReport(Answer):
    """How the team answered, per agent and for the whole shop."""

    model_config = ConfigDict(extra="forbid", serialize_by_alias=True)

    from_: date = Field(alias="from", description="The first day.")
    to: date = Field(description="The last day, included.")
    agents: list[AgentFigures]
    shop: TeamFigures
    left_messages: int = Field(description="Messages left in the widget (not missed chats).")
    robot: TeamRobot | None = Field(description="Null when the robot finished no conversation.")


def _times(measured: team.Times) -> TeamTimes:
    return TeamTimes(count=measured.count, median=measured.median, p90=measured.p90)


def _figures(row: team.TeamRow) -> dict:
    average = row.rating_average
    return {
        "chats": row.chats,
        "first_response": _times(row.first_response),
        "response": _times(row.reply),
        "resolution": _times(row.resolved),
        "ratings": TeamRatings(
            average=round(average, 2) if average is not None else None,
            count=row.rating_count,
            distribution={str(s): row.ratings.get(s, 0) for s in team.SCORES},
        ),
        "missed": row.missed,
        "calls": TeamCalls(answered=row.call_answered, missed=row.call_missed),
    }


def _period() -> reports.Period:
    params = query(PeriodQuery)
    return reports.period(params.from_, params.to, local(utcnow(), g.tenant.timezone).date())


@operation(
    bp,
    "get",
    "/analytics/team",
    operation_id="getTeamReport",
    summary="How the team answered (per agent and the shop)",
    description=(
        "Chats handled, first response, response and resolution times (median and 90th "
        "percentile, nearest rank, in seconds), ratings, missed chats and calls, per agent and "
        "for the shop, over the shop's local days `from` to `to` (both included, at most 366)."
    ),
    query=PeriodQuery,
    answers={200: ("The team's figures.", TeamReport)},
    refuses=("range_invalid", "range_too_long"),
)
@auth.rate_limited
def team_report():
    report = team.report(_period())
    robot = report.robot
    return answer(
        TeamReport(
            **{"from": report.period.start},
            to=report.period.end,
            agents=[
                AgentFigures(agent_id=row.agent_id, name=row.name, **_figures(row))
                for row in report.rows
            ],
            shop=TeamFigures(**_figures(report.total)),
            left_messages=report.left_messages,
            robot=TeamRobot(
                conversations=robot.conversations,
                resolved=robot.resolved,
                handed_over=robot.handed_over,
                resolved_share=robot.resolved_share,
                handover_rate=robot.handover_rate,
            )
            if robot
            else None,
        )
    )
