"""The reports, read from the rollups: the traffic → consultation → order funnel, and volume
by hour × weekday and by day. Dates are the shop's local days, both ends included."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from app.analytics.models import DIMENSIONS, MODELS, OrdersDaily, TrafficDaily, VolumeHourly
from tenants.db import db
from tenants.errors import ServiceError

MAX_DAYS = 366
# No shop's data is older; and a period and the one before it stay within the calendar
# (year 1 has no previous period).
EARLIEST = date(2000, 1, 1)
VOLUME_COUNTS = ("conversations", "messages", "left_messages", "calls")


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # included

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


def period(start: str | None, end: str | None, today: date) -> Period:
    """The dates a report asks for (YYYY-MM-DD); the last 30 days by default."""
    try:
        last = date.fromisoformat(end) if end else today
    except ValueError:
        raise ServiceError("date_invalid", field="to") from None
    if last < EARLIEST:
        raise ServiceError("date_invalid", field="to")
    try:
        first = date.fromisoformat(start) if start else last - timedelta(days=29)
    except ValueError:
        raise ServiceError("date_invalid", field="from") from None
    if first < EARLIEST:
        raise ServiceError("date_invalid", field="from")
    if first > last:
        raise ServiceError("range_invalid", field="from")
    if (last - first).days + 1 > MAX_DAYS:
        raise ServiceError("range_too_long", field="from", max=MAX_DAYS)
    return Period(first, last)


def dimension(raw: str | None) -> str:
    by = raw or "channel"
    if by not in DIMENSIONS:
        raise ServiceError("dimension_invalid", field="by")
    return by


def model(raw: str | None) -> str:
    chosen = raw or "first"
    if chosen not in MODELS:
        raise ServiceError("model_invalid", field="model")
    return chosen


@dataclass
class FunnelRow:
    value: str
    visits: int = 0
    consultations: int = 0
    orders: int = 0
    revenue: dict[str, int] = field(default_factory=dict)  # currency -> minor units

    @property
    def consultation_rate(self) -> float | None:
        return self.consultations / self.visits if self.visits else None

    @property
    def order_rate(self) -> float | None:
        return self.orders / self.visits if self.visits else None

    def revenue_per_visit(self, currency: str) -> int | None:
        """Revenue per visit in ``currency``'s minor units, rounded half up; none without
        visits. The page, the CSV and the API show this one figure."""
        if not self.visits:
            return None
        exact = Decimal(self.revenue.get(currency, 0)) / self.visits
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def add(self, other: FunnelRow) -> None:
        self.visits += other.visits
        self.consultations += other.consultations
        self.orders += other.orders
        for currency, amount in other.revenue.items():
            self.revenue[currency] = self.revenue.get(currency, 0) + amount


@dataclass
class Funnel:
    period: Period
    by: str
    model: str
    rows: list[FunnelRow]  # most visits first
    total: FunnelRow
    previous: dict[str, FunnelRow]  # the previous period's rows, by value
    previous_total: FunnelRow


def funnel(when: Period, by: str, attribution: str) -> Funnel:
    rows, before = _funnel_rows(when, by, attribution)
    return Funnel(
        period=when,
        by=by,
        model=attribution,
        rows=sorted(rows.values(), key=lambda r: (-r.visits, -r.orders, r.value)),
        total=_sum(rows.values()),
        previous=before,
        previous_total=_sum(before.values()),
    )


def _sum(rows) -> FunnelRow:
    total = FunnelRow("")
    for row in rows:
        total.add(row)
    return total


def _funnel_rows(
    when: Period, by: str, attribution: str
) -> tuple[dict[str, FunnelRow], dict[str, FunnelRow]]:
    """The rows of the period and of the one before it, each table read once over both (one
    range of its key), the sums split by which period a day is in."""
    earlier = when.previous()
    periods: dict[bool, dict[str, FunnelRow]] = {True: {}, False: {}}

    def row(current: bool, value: str) -> FunnelRow:
        return periods[current].setdefault(value, FunnelRow(value))

    current = TrafficDaily.day >= when.start
    traffic = (
        select(
            current,
            TrafficDaily.value,
            func.sum(TrafficDaily.visits),
            func.sum(TrafficDaily.consultations),
        )
        .where(TrafficDaily.dimension == by, TrafficDaily.day.between(earlier.start, when.end))
        .group_by(current, TrafficDaily.value)
    )
    for now, value, visits, consultations in db.execute(traffic):
        found = row(bool(now), value)
        found.visits, found.consultations = int(visits), int(consultations)
    current = OrdersDaily.day >= when.start
    orders = (
        select(
            current,
            OrdersDaily.value,
            OrdersDaily.currency,
            func.sum(OrdersDaily.orders),
            func.sum(OrdersDaily.revenue),
        )
        .where(
            OrdersDaily.model == attribution,
            OrdersDaily.dimension == by,
            OrdersDaily.day.between(earlier.start, when.end),
        )
        .group_by(current, OrdersDaily.value, OrdersDaily.currency)
    )
    for now, value, currency, count, revenue in db.execute(orders):
        found = row(bool(now), value)
        found.orders += int(count)
        found.revenue[currency] = int(revenue)
    return periods[True], periods[False]


@dataclass
class Volume:
    period: Period
    # [weekday 0 = Monday][hour] -> counts
    heatmap: list[list[Counter]]
    days: list[tuple[date, Counter]]  # every day of the period, in order
    total: Counter


def volume(when: Period) -> Volume:
    heatmap = [[Counter() for _ in range(24)] for _ in range(7)]
    by_day: dict[date, Counter] = defaultdict(Counter)
    total: Counter = Counter()
    columns = [getattr(VolumeHourly, name) for name in VOLUME_COUNTS]
    statement = select(VolumeHourly.day, VolumeHourly.hour, *columns).where(
        VolumeHourly.day.between(when.start, when.end)
    )
    for day, hour, *values in db.execute(statement):
        counts = Counter(dict(zip(VOLUME_COUNTS, values, strict=True)))
        heatmap[day.weekday()][hour].update(counts)
        by_day[day].update(counts)
        total.update(counts)
    days = [
        (when.start + timedelta(days=n), by_day.get(when.start + timedelta(days=n), Counter()))
        for n in range(when.days)
    ]
    return Volume(when, heatmap, days, total)
