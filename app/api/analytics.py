"""/api/v1/analytics: the shop's reports as JSON for its own BI, behind the ``analytics``
feature. The figures are the console's (app/analytics/reports.py, read from the rollups); the
key, the errors and the document are the API's."""

from __future__ import annotations

from datetime import date

from flask import g
from pydantic import Field

from app.analytics import reports
from app.api import auth
from app.api.inputs import query
from app.api.openapi import operation
from app.api.params import Day, QueryModel
from app.api.schemas import Answer
from app.api.views import answer, api_blueprint
from tenants.db import utcnow
from tenants.timezones import local

bp = api_blueprint("api_analytics", "analytics")

# The 422 codes of reports.period beyond a malformed day (that one the query model refuses).
PERIOD_RULES = ("range_invalid", "range_too_long")


class PeriodQuery(QueryModel):
    from_: Day = Field(
        None,
        alias="from",
        description="The first day (YYYY-MM-DD, the shop's time zone); by default 29 days "
        "before `to`.",
    )
    to: Day = Field(
        None, description="The last day, included; by default the shop's today. At most 366 days."
    )


def chosen_period(params: PeriodQuery) -> reports.Period:
    today = local(utcnow(), g.tenant.timezone).date()
    return reports.period(params.from_, params.to, today)


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

    start: date = Field(description="The first day, included.")
    end: date = Field(description="The last day, included.")
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
    operation_id="getVolume",
    summary="Conversations, messages, left messages and calls by day and by weekday × hour",
    description=(
        "The shop's volume over a period of its local days (the last 30 by default). The "
        "figures are rolled up from events within seconds; the same as the console's Volume "
        "page and its CSV exports."
    ),
    query=PeriodQuery,
    answers={200: ("The volume.", Volume)},
    refuses=PERIOD_RULES,
)
@auth.rate_limited
def get_volume():
    volume = reports.volume(chosen_period(query(PeriodQuery)))
    return answer(
        Volume(
            start=volume.period.start,
            end=volume.period.end,
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
