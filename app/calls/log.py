"""The call log: which of the shop's calls a filter names — the console's list and its CSV
export, and the REST API's list — by when they started (days in the shop's time zone, or
moments), direction, status, agent and the customer's number as typed.

Everything runs inside the bound tenant. Bad values raise ``ServiceError`` naming the filter,
so a mistyped filter never silently means "every call".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import Select, or_, select, tuple_

from app.calls.models import CALL_STATUSES, DIRECTIONS, Call
from tenants.db import db
from tenants.errors import ServiceError

FILTER_KEYS = ("from", "to", "direction", "status", "agent", "number")
PAGE = 50
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
# What people type for a number: digits with the usual separators, a leading + at most.
TYPED_NUMBER = r"\+?[0-9 ().-]{1,40}"


@dataclass(frozen=True)
class LogFilter:
    """A filter, read and checked. ``since``/``before``: started at or after / before."""

    since: datetime | None = None
    before: datetime | None = None
    direction: str | None = None
    status: str | None = None
    agent: int | str | None = None  # a member's id, or "none": calls nobody took
    number: str | None = None  # as typed

    def __post_init__(self) -> None:
        if self.since and self.before and self.since >= self.before:
            raise ServiceError("date_range_invalid", field="to")
        if self.number is not None:
            check_number(self.number)


def utc(at: datetime) -> datetime:
    """``at`` in UTC; a moment in year 1 or 9999 that UTC cannot hold is the first or last."""
    try:
        return at.astimezone(UTC)
    except OverflowError:
        return EARLIEST if at.year == 1 else LATEST


def day_start(day: date, zone: str) -> datetime:
    """The first moment of ``day`` on the shop's wall clock, in UTC. A day that starts in a
    DST gap (clocks jump at midnight) starts when the clocks land: ``fold=0`` reads 00:00 with
    the offset before the jump, which is that moment."""
    return utc(datetime.combine(day, time(), tzinfo=ZoneInfo(zone)))


def day_end(day: date, zone: str) -> datetime:
    """The first moment after ``day``: a day is 23, 24 or 25 hours long where DST changes."""
    if day == date.max:
        return LATEST
    return day_start(day + timedelta(days=1), zone)


def bound(text: str, zone: str, *, end: bool) -> datetime:
    """The API's ``from``/``to``: a moment with its zone, or a day of the shop's (``from``
    its first moment, ``to`` through its last). Checked already (app/api/params.py)."""
    if DAY.fullmatch(text):
        day = date.fromisoformat(text)
        return day_end(day, zone) if end else day_start(day, zone)
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def read_day(raw: str, field: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ServiceError("date_invalid", field=field) from None


def read_filter(params: Mapping[str, str], zone: str) -> LogFilter:
    """The console's filter: ``from``/``to`` are days of the shop's (both included)."""
    since = before = None
    if params.get("from"):
        since = day_start(read_day(params["from"], "from"), zone)
    if params.get("to"):
        before = day_end(read_day(params["to"], "to"), zone)
    return LogFilter(
        since=since,
        before=before,
        direction=_one_of(params.get("direction"), DIRECTIONS, "direction"),
        status=_one_of(params.get("status"), CALL_STATUSES, "status"),
        agent=_agent(params.get("agent")),
        number=params.get("number") or None,
    )


def _one_of(value: str | None, allowed: tuple[str, ...], field: str) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise ServiceError("filter_invalid", field=field)
    return value


def _agent(value: str | None) -> int | str | None:
    if not value:
        return None
    if value == "none":
        return value
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise ServiceError("filter_invalid", field="agent")
    return int(value)


def number_prefixes(typed: str, region: str) -> list[str]:
    """How the numbers ``typed`` names start. With a +, it is the start of an E.164; digits
    alone may be national (138 0013…, 021 6000…, the trunk 0 dropped), carry the country
    code without its +, or be a PBX's extension, which is stored as it came."""
    digits = check_number(typed)
    if typed.startswith("+"):
        return ["+" + digits]
    country = phonenumbers.country_code_for_region(region)
    return list(dict.fromkeys([f"+{country}{digits.lstrip('0')}", "+" + digits, digits]))


def check_number(typed: str) -> str:
    """The digits of a number as typed, or ``filter_invalid``."""
    digits = re.sub("[^0-9]", "", typed)
    if not re.fullmatch(TYPED_NUMBER, typed) or not digits:
        raise ServiceError("filter_invalid", field="number")
    return digits


def calls(log_filter: LogFilter, region: str) -> Select:
    """The calls the filter names, newest first (the (tenant, started_at, id) index's order)."""
    query = select(Call)
    if log_filter.since is not None:
        query = query.where(Call.started_at >= log_filter.since)
    if log_filter.before is not None:
        query = query.where(Call.started_at < log_filter.before)
    if log_filter.direction:
        query = query.where(Call.direction == log_filter.direction)
    if log_filter.status:
        query = query.where(Call.status == log_filter.status)
    if log_filter.agent == "none":
        query = query.where(Call.agent_id.is_(None))
    elif log_filter.agent is not None:
        query = query.where(Call.agent_id == log_filter.agent)
    if log_filter.number:
        # digits and + only: nothing LIKE would read as a wildcard
        prefixes = number_prefixes(log_filter.number, region)
        query = query.where(or_(*(Call.customer_number.like(p + "%") for p in prefixes)))
    return query.order_by(Call.started_at.desc(), Call.id.desc())


def page(
    log_filter: LogFilter, region: str, after: tuple[datetime, int] | None, size: int = PAGE
) -> tuple[list[Call], tuple[datetime, int] | None]:
    """One page of the log and where the next one starts (None on the last: no COUNT)."""
    query = calls(log_filter, region)
    if after is not None:
        query = query.where(tuple_(Call.started_at, Call.id) < tuple(after))
    rows = list(db.scalars(query.limit(size + 1)))
    last = rows[size - 1] if len(rows) > size else None
    return rows[:size], (last.started_at, last.id) if last else None
