"""Analytics' console pages (/console/analytics), for signed-in members of a shop with the
``analytics`` feature. Each report's page joins this blueprint from its own file; they share
the period read from the query string and the period card and page head that show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from babel.dates import format_interval
from flask import request, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required

from app.analytics import reports
from app.features import GatedBlueprint
from app.messages import message_for
from tenants.errors import ServiceError
from tenants.timezones import today

bp = GatedBlueprint("analytics", __name__, feature="analytics", url_prefix="/console/analytics")
QUICK_DAYS = (7, 30, 90)


@bp.before_request
@login_required
def _signed_in() -> None:
    """A shop's page: a signed-in member's."""


def shop_today():
    return today(current_user.tenant.timezone)


def chosen_period() -> reports.Period:
    """The ``from`` and ``to`` of the query string (the last 30 days by default)."""
    return reports.period(request.args.get("from"), request.args.get("to"), shop_today())


def period_args(period: reports.Period) -> dict[str, str]:
    """The query string of a link to ``period`` (an export of the period shown)."""
    return {"from": period.start.isoformat(), "to": period.end.isoformat()}


def span_text(period: reports.Period) -> str:
    """A period as a reader says it: "Nov 9 – Dec 8, 2026", "2026年11月9日 – 12月8日"."""
    return format_interval(period.start, period.end, "yMMMd", locale=get_locale())


@dataclass(frozen=True)
class QuickRange:
    days: int
    url: str
    current: bool  # the period shown is exactly these days


@dataclass(frozen=True)
class PeriodPicker:
    """What every report page shows of its period: the dates in the card's fields, the quick
    links, the sentence under the title, and the error of a refused question (beside its
    field, the period's or the page's own)."""

    shown: reports.Period | None  # none: the question was refused and nothing computed
    start: str
    end: str
    quick: list[QuickRange]
    zone: str
    error: ServiceError | None = None

    @property
    def message(self) -> str:
        return message_for(self.error) if self.error else ""

    @property
    def span(self) -> str:
        return span_text(self.shown) if self.shown else ""


def period_picker(
    page: str, shown: reports.Period | None, error: ServiceError | None = None
) -> PeriodPicker:
    """The picker of the ``page`` endpoint: its fields show the period answered, or what was
    typed when the question was refused."""
    typed = period_args(shown) if shown else request.args
    start, end = typed.get("from", ""), typed.get("to", "")
    zone = current_user.tenant.timezone
    return PeriodPicker(shown, start, end, quick_ranges(page, shown), zone, error)


def quick_ranges(page: str, shown: reports.Period | None) -> list[QuickRange]:
    """The last 7, 30 and 90 days up to the shop's today, each a link to ``page`` that keeps
    the page's other parameters (its grouping, measure, sort…)."""
    today = shop_today()
    others = {k: v for k, v in request.args.items() if k not in ("from", "to")}
    ranges = []
    for days in QUICK_DAYS:
        period = reports.Period(today - timedelta(days=days - 1), today)
        url = url_for(page, **others, **period_args(period))
        ranges.append(QuickRange(days, url, period == shown))
    return ranges
