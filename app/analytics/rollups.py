"""Rollups: per shop and local day (and local hour for volume), what the report pages read.

A day's rollups are always computed whole from the raw rows (visits, reporting events, order
facts), never incremented: the job that follows the listeners' marks (``roll``) and the
nightly pass over the recent past (``recompute_recent``) run the same ``recompute_day``, so
the two cannot disagree, late orders and merged customers land wherever they belong, and a
day that changes its clocks is 23 or 25 hours long like the shop's wall clock says."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import delete, func, insert, select

from app.analytics.models import (
    DIMENSIONS,
    UNATTRIBUTED,
    AnalyticsDirty,
    AnalyticsEvent,
    AnalyticsOrder,
    AnalyticsState,
    AnalyticsVisit,
    OrdersDaily,
    TrafficDaily,
    VolumeHourly,
)
from app.analytics.recording import ATTRIBUTION_WINDOW
from app.chat import service as chat
from tenants.db import current_tenant_id, db, utcnow
from tenants.models import Tenant
from tenants.timezones import day_bounds, local, local_hour_of_quarter, quarter_hour, today

DIRTY_BATCH = 50_000  # marks taken by one run; the next run takes the rest
VOLUME_KINDS = {"chat": "conversations", "message": "left_messages", "call": "calls"}


def shop_zone() -> str:
    return db.get(Tenant, current_tenant_id()).timezone


def lock_shop() -> None:
    """Take the shop's rollup lock for this transaction: one writer of its rollups at a time."""
    state = db.scalar(select(AnalyticsState).with_for_update())
    if state is None:
        db.add(AnalyticsState())
        db.flush()  # a shop's first run; a second one racing it fails on the unique key, retried
        state = db.scalar(select(AnalyticsState).with_for_update())
    state.rolled_at = utcnow()


def roll() -> int:
    """Recompute the days the listeners marked since the last run; returns how many."""
    lock_shop()
    marks = db.execute(
        select(AnalyticsDirty.id, AnalyticsDirty.at).order_by(AnalyticsDirty.id).limit(DIRTY_BATCH)
    ).all()
    if not marks:
        return 0
    zone = shop_zone()
    days = {local(at, zone).date() for _, at in marks}
    for day in sorted(days):
        recompute_day(day, zone)
    # Only the marks read: one committed since has data this run may not have seen.
    ids = [mark_id for mark_id, _ in marks]
    for i in range(0, len(ids), 1000):
        db.execute(delete(AnalyticsDirty).where(AnalyticsDirty.id.in_(ids[i : i + 1000])))
    return len(days)


def recompute(days: Iterable[date]) -> None:
    lock_shop()
    zone = shop_zone()
    for day in days:
        recompute_day(day, zone)


def recompute_recent() -> None:
    """The last ``ANALYTICS_RECOMPUTE_DAYS`` local days, today included."""
    last = today(shop_zone())
    count = current_app.config["ANALYTICS_RECOMPUTE_DAYS"]
    recompute(last - timedelta(days=n) for n in range(count))


def recompute_day(day: date, zone: str) -> None:
    start, end = day_bounds(day, zone)
    for table in (TrafficDaily, OrdersDaily, VolumeHourly):
        db.execute(delete(table).where(table.day == day))
    tenant_id = current_tenant_id()
    rows = [{"tenant_id": tenant_id, "day": day, **row} for row in _traffic(start, end)]
    _insert(TrafficDaily, rows)
    rows = [{"tenant_id": tenant_id, "day": day, **row} for row in _orders(start, end)]
    _insert(OrdersDaily, rows)
    rows = [{"tenant_id": tenant_id, **row} for row in _volume(day, start, end, zone)]
    _insert(VolumeHourly, rows)


def _insert(table, rows: list[dict]) -> None:
    if rows:
        db.execute(insert(table), rows)


def _traffic(start, end) -> list[dict]:
    """Visits started in the range and consultations made in it, per dimension value.

    Two statements for the five dimensions: each counts per combination of their values and
    every dimension's figures are summed from those here (a day has a few thousand at most)."""
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    columns = [getattr(AnalyticsVisit, dimension) for dimension in DIMENSIONS]
    visits = (
        select(*columns, func.count())
        .where(AnalyticsVisit.started_at >= start, AnalyticsVisit.started_at < end)
        .group_by(*columns)
    )
    for *values, n in db.execute(visits):
        for dimension, value in zip(DIMENSIONS, values, strict=True):
            counts[dimension, value]["visits"] += n
    consultations = (
        select(*columns, func.count())
        .select_from(AnalyticsEvent)
        .outerjoin(AnalyticsVisit, AnalyticsVisit.id == AnalyticsEvent.visit_id)
        .where(
            AnalyticsEvent.name == "consultation",
            AnalyticsEvent.at >= start,
            AnalyticsEvent.at < end,
        )
        .group_by(*columns)
    )
    for *values, n in db.execute(consultations):
        for dimension, value in zip(DIMENSIONS, values, strict=True):
            counts[dimension, UNATTRIBUTED if value is None else value]["consultations"] += n
    return [
        {
            "dimension": dimension,
            "value": value,
            "visits": c["visits"],
            "consultations": c["consultations"],
        }
        for (dimension, value), c in counts.items()
    ]


def _orders(start, end) -> list[dict]:
    """Orders placed in the range (not cancelled or refunded), each attributed to the first and
    to the last of its customer's visits in the window before it, per currency."""
    orders = db.execute(
        select(
            AnalyticsOrder.customer_id,
            AnalyticsOrder.placed_at,
            AnalyticsOrder.total,
            AnalyticsOrder.currency,
        ).where(
            AnalyticsOrder.placed_at >= start,
            AnalyticsOrder.placed_at < end,
            AnalyticsOrder.counted.is_(True),
        )
    ).all()
    if not orders:
        return []
    visits_of = _visits_by_customer(
        {o.customer_id for o in orders}, start - ATTRIBUTION_WINDOW, end
    )
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for order in orders:
        window = [
            v
            for v in visits_of.get(order.customer_id, ())
            if order.placed_at - ATTRIBUTION_WINDOW <= v.started_at <= order.placed_at
        ]
        touches = {"first": window[0], "last": window[-1]} if window else {}
        for model in ("first", "last"):
            visit = touches.get(model)
            for dimension in DIMENSIONS:
                value = getattr(visit, dimension) if visit else UNATTRIBUTED
                total = totals[model, dimension, value, order.currency]
                total[0] += 1
                total[1] += order.total
    return [
        {
            "model": model,
            "dimension": dimension,
            "value": value,
            "currency": currency,
            "orders": n,
            "revenue": revenue,
        }
        for (model, dimension, value, currency), (n, revenue) in totals.items()
    ]


def _visits_by_customer(customer_ids: set[int], start, end) -> dict[int, list]:
    found: dict[int, list] = defaultdict(list)
    ids = sorted(customer_ids)
    for i in range(0, len(ids), 1000):
        rows = db.execute(
            select(
                AnalyticsVisit.customer_id,
                AnalyticsVisit.started_at,
                *(getattr(AnalyticsVisit, d) for d in DIMENSIONS),
            )
            .where(
                AnalyticsVisit.customer_id.in_(ids[i : i + 1000]),
                AnalyticsVisit.started_at >= start,
                AnalyticsVisit.started_at < end,
            )
            .order_by(AnalyticsVisit.started_at, AnalyticsVisit.id)
        )
        for row in rows:
            found[row.customer_id].append(row)
    return found


def _volume(day: date, start, end, zone: str) -> list[dict]:
    """Conversations, messages, left messages and calls per local hour of the day."""
    hours: dict[int, Counter] = defaultdict(Counter)
    quarter = quarter_hour(AnalyticsEvent.at)
    events = (
        select(AnalyticsEvent.kind, quarter, func.count())
        .where(
            AnalyticsEvent.name == "consultation",
            AnalyticsEvent.kind.in_(VOLUME_KINDS),
            AnalyticsEvent.at >= start,
            AnalyticsEvent.at < end,
        )
        .group_by(AnalyticsEvent.kind, quarter)
    )
    for kind, q, n in db.execute(events):
        hours[local_hour_of_quarter(q, zone)[1]][VOLUME_KINDS[kind]] += n
    for q, n in chat.messages_per_quarter_hour(start, end).items():
        hours[local_hour_of_quarter(q, zone)[1]]["messages"] += n
    return [{"day": day, "hour": hour, **counts} for hour, counts in hours.items()]
