"""The traffic rollup of a day, for every dimension at once: visits and consultations per value,
a consultation of no visit under "(unattributed)", nothing from the day before or after."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.analytics import rollups
from app.analytics.models import UNATTRIBUTED, AnalyticsEvent, AnalyticsVisit, TrafficDaily
from tenants.db import bind_tenant, db
from tenants.timezones import day_bounds

DAY = date(2026, 11, 3)


def visit(start, minutes: int, **touch) -> AnalyticsVisit:
    row = AnalyticsVisit(visitor_id=1, started_at=start + timedelta(minutes=minutes), **touch)
    db.add(row)
    db.flush()
    return row


def consultation(start, minutes: int, visit_id: int | None) -> None:
    db.add(
        AnalyticsEvent(
            name="consultation",
            kind="chat",
            at=start + timedelta(minutes=minutes),
            visit_id=visit_id,
        )
    )


def test_a_days_traffic_is_counted_per_value_of_every_dimension(two_tenants):
    a, b = two_tenants.a, two_tenants.b
    bind_tenant(a.tenant.id)
    start, end = day_bounds(DAY, a.tenant.timezone)
    tea = {"channel": "search", "source": "baidu", "keyword": "龙井", "landing_page": "/tea"}
    first = visit(start, 10, **tea)
    visit(start, 20, **tea)
    ad = visit(
        start,
        30,
        channel="paid",
        source="baidu",
        keyword="龙井",
        campaign="spring",
        landing_page="/sale",
    )
    visit(start, -5, **tea)  # the evening before
    visit(end, 0, **tea)  # the next day
    consultation(start, 15, first.id)
    consultation(start, 40, ad.id)
    consultation(start, 41, ad.id)
    consultation(start, 50, None)  # a caller never seen on the site
    consultation(end, 5, first.id)  # tomorrow's
    db.flush()  # as shop A's: a new row's shop is filled in when it is written
    bind_tenant(b.tenant.id)
    b_start, _ = day_bounds(DAY, b.tenant.timezone)
    visit(b_start, 10, channel="direct")
    db.flush()

    bind_tenant(a.tenant.id)
    rollups.recompute([DAY])
    rows = db.execute(
        select(
            TrafficDaily.dimension,
            TrafficDaily.value,
            TrafficDaily.visits,
            TrafficDaily.consultations,
        ).where(TrafficDaily.day == DAY)
    ).all()
    assert sorted(tuple(r) for r in rows) == [
        ("campaign", "", 2, 1),
        ("campaign", UNATTRIBUTED, 0, 1),
        ("campaign", "spring", 1, 2),
        ("channel", UNATTRIBUTED, 0, 1),
        ("channel", "paid", 1, 2),
        ("channel", "search", 2, 1),
        ("keyword", UNATTRIBUTED, 0, 1),
        ("keyword", "龙井", 3, 3),
        ("landing_page", UNATTRIBUTED, 0, 1),
        ("landing_page", "/sale", 1, 2),
        ("landing_page", "/tea", 2, 1),
        ("source", UNATTRIBUTED, 0, 1),
        ("source", "baidu", 3, 3),
    ]
