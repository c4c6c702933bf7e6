"""/api/v1/analytics: the reports as JSON for the shop's own BI, behind the ``analytics``
feature. The numbers are the console's (app/analytics/reports.py, read from the rollups); the
key, the errors and the document are the API's."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from flask import g
from pydantic import ConfigDict, Field, WithJsonSchema

from app.analytics import reports, team
from app.analytics.models import DIMENSIONS, MODELS
from app.api import auth
from app.api.inputs import query
from app.api.openapi import operation
from app.api.params import Day, QueryModel
from app.api.schemas import Answer, Money
from app.api.views import answer, api_blueprint
from app.schemas import refuse, rule
from tenants.timezones import today

bp = api_blueprint("api_analytics", "analytics")

# the report's own rules: a range backwards or too long (a day that is no date: the schema's
# "format" may not be checked by every validator)
REPORT_RULES = ("date_invalid", "range_invalid", "range_too_long")


def _one_of(allowed: tuple[str, ...], code: str):
    def check(value: str) -> str:
        if value not in allowed:
            raise refuse(code)
        return value

    return check


# Given, a parameter must say something: an empty ``to=`` is refused, not read as "today".
Dimension = Annotated[
    str,
    rule(_one_of(DIMENSIONS, "dimension_invalid"), "dimension_invalid"),
    WithJsonSchema({"type": "string", "enum": list(DIMENSIONS)}),
]
Model = Annotated[
    str,
    rule(_one_of(MODELS, "model_invalid"), "model_invalid"),
    WithJsonSchema({"type": "string", "enum": list(MODELS)}),
]


class ReportQuery(QueryModel):
    from_: Day = Field(
        None,
        alias="from",
        description="The first day (YYYY-MM-DD, the shop's time zone); 29 days before `to` "
        "by default.",
    )
    to: Day = Field(
        None,
        description=f"The last day, included; today by default. At most {reports.MAX_DAYS} "
        "days in all.",
    )


def chosen_period(params: ReportQuery) -> reports.Period:
    """The query's days; today is the shop's."""
    return reports.period(params.from_, params.to, today(g.tenant.timezone))


class FunnelQuery(ReportQuery):
    by: Dimension = Field(
        None,
        description="What each row is: a channel (the default), source, keyword, "
        "campaign or landing page.",
    )
    model: Model = Field(
        None,
        description="Which of the customer's visits in the 30 days before an order is credited "
        "with it: `first` (the default) or `last`.",
    )


class Amount(Answer):
    currency: str = Field(pattern="^[A-Z]{3}$")
    amount: Money


class Period(Answer):
    model_config = ConfigDict(extra="forbid", serialize_by_alias=True)

    from_: date = Field(alias="from", description="The first day (the shop's time zone).")
    to: date = Field(description="The last day, included.")


class FunnelRow(Answer):
    value: str = Field(
        description="The channel, source, keyword, campaign or landing page (a path). "
        "`(not provided)`: a search or ad visit whose keyword was withheld; `(unattributed)`: "
        "consultations and orders no visit explains (a phone order, a caller never seen on "
        "the site); an empty string: none (a visit without a campaign, a direct visit's "
        "source).",
        examples=["search", "龙井茶", "(not provided)"],
    )
    visits: int
    consultations: int = Field(
        description="Chats, left messages, calls and callback requests of these visits."
    )
    consultation_rate: float | None = Field(
        ge=0,
        description="consultations / visits, 0 to 1 (more when one visit asked twice); "
        "null without visits.",
    )
    orders: int = Field(description="Orders credited to these visits (not cancelled or refunded).")
    order_rate: float | None = Field(ge=0, description="orders / visits; null without visits.")
    revenue: list[Amount] = Field(description="Per currency, never added across currencies.")
    revenue_per_visit: list[Amount] = Field(
        description="revenue / visits per currency, rounded to the cent; empty without visits."
    )

    @classmethod
    def of(cls, row: reports.FunnelRow) -> FunnelRow:
        currencies = sorted(row.revenue)
        return cls(
            value=row.value,
            visits=row.visits,
            consultations=row.consultations,
            consultation_rate=row.consultation_rate,
            orders=row.orders,
            order_rate=row.order_rate,
            revenue=[Amount(currency=c, amount=row.revenue[c]) for c in currencies],
            revenue_per_visit=[
                Amount(currency=c, amount=row.revenue_per_visit(c))
                for c in currencies
                if row.visits
            ],
        )


class Funnel(Answer):
    """Traffic → consultations → orders in the period, one row per value of `by`."""

    period: Period
    by: Literal[DIMENSIONS]
    model: Literal[MODELS]
    rows: list[FunnelRow] = Field(description="Every value, the most visits first.")
    total: FunnelRow = Field(description="The whole shop in the period (`value` is empty).")
    previous: FunnelRow = Field(
        description="The whole shop in the period of the same length just before."
    )


@operation(
    bp,
    "get",
    "/analytics/funnel",
    operation_id="getAnalyticsFunnel",
    summary="The traffic → consultation → order funnel",
    description=(
        "Visits, consultations and orders with revenue per channel, source, keyword, campaign "
        "or landing page, for the shop's local days `from` to `to`. Read from rollups that "
        "follow the data within a minute; late orders and merged customers land at the "
        "nightly recompute at the latest."
    ),
    query=FunnelQuery,
    answers={200: ("The funnel.", Funnel)},
    refuses=REPORT_RULES,
)
@auth.rate_limited
def funnel():
    params = query(FunnelQuery)
    when = chosen_period(params)
    found = reports.funnel(when, reports.dimension(params.by), reports.model(params.model))
    return answer(
        Funnel(
            period=Period(**{"from": when.start, "to": when.end}),
            by=found.by,
            model=found.model,
            rows=[FunnelRow.of(r) for r in found.rows],
            total=FunnelRow.of(found.total),
            previous=FunnelRow.of(found.previous_total),
        )
    )


class VolumeCounts(Answer):
    conversations: int = Field(description="Chats that began.")
    messages: int = Field(description="Messages written by visitors, agents and the robot.")
    left_messages: int = Field(description="Messages left while nobody answered.")
    calls: int = Field(description="Inbound calls that rang.")

    @classmethod
    def of(cls, counts) -> dict:
        return {name: counts[name] for name in reports.VOLUME_COUNTS}


class VolumeDay(VolumeCounts):
    date: date


class VolumeHour(VolumeCounts):
    weekday: int = Field(ge=1, le=7, description="1 = Monday … 7 = Sunday (ISO 8601).")
    hour: int = Field(ge=0, le=23, description="The local hour (in the shop's time zone).")


class Volume(Answer):
    """When the work came, in the shop's time zone. On a day its clocks go back, the repeated
    hour counts both; on a day they go forward, the skipped hour has nothing."""

    period: Period
    timezone: str = Field(description="The shop's time zone the days and hours are in.")
    total: VolumeCounts
    days: list[VolumeDay] = Field(description="Every day of the period, in order.")
    hours: list[VolumeHour] = Field(
        description="Each weekday and hour (168, Monday 0:00 first): the period's counts in "
        "that hour of that weekday."
    )


@operation(
    bp,
    "get",
    "/analytics/volume",
    operation_id="getAnalyticsVolume",
    summary="Conversations, messages, left messages and calls by day and by weekday × hour",
    description=(
        "The shop's volume over a period of its local days (the last 30 by default). The "
        "figures are rolled up from events within seconds; the same as the console's Volume "
        "page and its CSV exports."
    ),
    query=ReportQuery,
    answers={200: ("The volume.", Volume)},
    refuses=REPORT_RULES,
)
@auth.rate_limited
def get_volume():
    volume = reports.volume(chosen_period(query(ReportQuery)))
    return answer(
        Volume(
            period=Period(**{"from": volume.period.start, "to": volume.period.end}),
            timezone=g.tenant.timezone,
            total=VolumeCounts(**VolumeCounts.of(volume.total)),
            days=[VolumeDay(date=day, **VolumeCounts.of(c)) for day, c in volume.days],
            hours=[
                VolumeHour(weekday=weekday + 1, hour=hour, **VolumeCounts.of(c))
                for weekday, hours in enumerate(volume.heatmap)
                for hour, c in enumerate(hours)
            ],
        )
    )


# --- the team report ------------------------------------------------------------------------


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

    period: Period
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


@operation(
    bp,
    "get",
    "/analytics/team",
    operation_id="getAnalyticsTeam",
    summary="How the team answered (per agent and the shop)",
    description=(
        "Chats handled, first response, response and resolution times (median and 90th "
        "percentile, nearest rank, in seconds), ratings, missed chats and calls, per agent and "
        "for the shop, over the shop's local days `from` to `to` (both included, at most 366)."
    ),
    query=ReportQuery,
    answers={200: ("The team's figures.", TeamReport)},
    refuses=REPORT_RULES,
)
@auth.rate_limited
def team_report():
    report = team.report(chosen_period(query(ReportQuery)))
    robot = report.robot
    return answer(
        TeamReport(
            period=Period(**{"from": report.period.start, "to": report.period.end}),
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
