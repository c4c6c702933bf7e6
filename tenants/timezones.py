"""A shop's time zone: the one setting every page, export and e-mail shows its times in."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

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
