"""A shop's time zone: the one setting every page, export and e-mail shows its times in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import BigInteger
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from tenants.errors import ServiceError

# Offered first in the picker; any IANA name is accepted.
COMMON_ZONES = (
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "UTC",
)


@cache
def all_zones() -> tuple[str, ...]:
    """Every zone name the server knows (no legacy aliases like "posixrules")."""
    return tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))


def check_zone(raw: str | None) -> str:
    name = (raw or "").strip()
    if name not in all_zones():
        raise ServiceError("timezone_invalid", field="timezone")
    return name


def local(moment: datetime, zone: str) -> datetime:
    """A stored (UTC) moment as the shop's wall clock."""
    return moment.astimezone(ZoneInfo(zone))


def today(zone: str) -> date:
    """The shop's date now."""
    return datetime.now(UTC).astimezone(ZoneInfo(zone)).date()


def day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    """The UTC moments a local day starts and ends at: 23 or 25 hours long on the days a zone
    changes its clocks."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(), tz)
    end = datetime.combine(day + timedelta(days=1), time(), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


# Every zone's offset from UTC is a whole number of quarter hours: counts per UTC quarter hour
# fall into exactly one local hour of one local day, whatever the zone and its clock changes.
QUARTER_HOUR = 900


class quarter_hour(FunctionElement):
    """SQL: the number of the UTC quarter hour a timestamp column falls in (seconds since the
    epoch // 900), on PostgreSQL and SQLite alike."""

    type = BigInteger()
    inherit_cache = True


@compiles(quarter_hour, "postgresql")
def _quarter_hour_pg(element, compiler, **kw):
    return f"floor(extract(epoch from {compiler.process(element.clauses, **kw)}) / 900)::bigint"


@compiles(quarter_hour, "sqlite")
def _quarter_hour_sqlite(element, compiler, **kw):
    return f"(cast(strftime('%s', {compiler.process(element.clauses, **kw)}) as integer) / 900)"


def local_hour_of_quarter(quarter: int, zone: str) -> tuple[date, int]:
    """The local day and hour a UTC quarter hour falls in."""
    moment = datetime.fromtimestamp(int(quarter) * QUARTER_HOUR, UTC).astimezone(ZoneInfo(zone))
    return moment.date(), moment.hour
