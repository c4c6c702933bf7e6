"""Raw page views do not grow without bound: the clock's hourly job deletes a shop's page views
older than PAGE_VIEW_RETENTION_DAYS in small batches; recent ones, the visitor's pages on the
console, analytics' visits and the other shops' rows stay (app/chat/retention.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.analytics.models import AnalyticsVisit
from app.chat import retention
from app.chat import service as chat
from app.chat import signals as chat_signals
from app.chat.models import PageView
from tenants.db import bind_tenant, db, utcnow
from tenants.jobs import enqueue, wait_for_jobs
from tenants.work import unit_of_work

DAYS_AGO = (400, 200, 91, 89, 30, 0)  # the fixture's own page view is from just now


def _browse(shop, days_ago: tuple[int, ...]):
    """A visitor who came back on each of these days (a new visit each time)."""
    bind_tenant(shop.tenant.id)
    visitor, now = None, utcnow()
    for days in days_ago:
        at = now - timedelta(days=days, minutes=5)
        visitor = chat.record_page_view(visitor, f"https://shop.example/day-{days}", now=at)
        chat_signals.page_viewed.send(visitor)
    db.commit()
    return visitor


def _pages(shop) -> list[str]:
    bind_tenant(shop.tenant.id)
    urls = db.scalars(select(PageView.url).order_by(PageView.viewed_at)).all()
    return [u.rsplit("/", 1)[-1] for u in urls]


def _visits(shop) -> int:
    bind_tenant(shop.tenant.id)
    return db.scalar(select(func.count()).select_from(AnalyticsVisit))


def test_the_hourly_job_deletes_old_page_views_shop_by_shop(app, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    visitor = _browse(a, DAYS_AGO)
    _browse(b, (365, 10))
    assert _pages(a) == [
        "day-400",
        "day-200",
        "day-91",
        "day-89",
        "day-30",
        "day-0",
        "item?utm_source=ad",
    ]
    assert _visits(a) == 6

    with app.app_context(), unit_of_work():
        enqueue("chat.prune_shop_page_views", a.tenant.id)  # shop a's run only
    wait_for_jobs()
    assert _pages(a) == ["day-89", "day-30", "day-0", "item?utm_source=ad"]
    assert _pages(b) == ["day-365", "day-10", "item?utm_source=ad"]  # another shop's: untouched
    assert _visits(a) == 6  # each visit keeps its first touch for good
    bind_tenant(a.tenant.id)  # the console's "recent pages" of the visitor
    assert [p.url.rsplit("/", 1)[-1] for p in chat.recent_pages(visitor.id)] == [
        "day-0",
        "day-30",
        "day-89",
    ]

    with app.app_context(), unit_of_work():
        retention.prune_everywhere()  # the clock's tick: b has old rows, a none left
    wait_for_jobs()
    assert _pages(b) == ["day-10", "item?utm_source=ad"]
    assert _pages(a) == ["day-89", "day-30", "day-0", "item?utm_source=ad"]


def test_old_page_views_go_in_batches_until_none_is_left(app, two_tenants, monkeypatch):
    a = two_tenants.a
    _browse(a, (95, 94, 93, 92, 91, 1))
    statements, delete_batch = [], retention.delete_batch

    def counted(older):
        statements.append(delete_batch(older))
        return statements[-1]

    monkeypatch.setattr(retention, "BATCH", 2)
    monkeypatch.setattr(retention, "delete_batch", counted)
    with app.app_context():
        bind_tenant(a.tenant.id)
        assert retention.prune_shop() == 5
    assert statements == [2, 2, 1]  # each its own short transaction
    assert _pages(a) == ["day-1", "item?utm_source=ad"]


def test_the_retention_is_a_setting(app, two_tenants):
    a = two_tenants.a
    _browse(a, (40, 20))
    app.config["PAGE_VIEW_RETENTION_DAYS"] = 30
    try:
        with app.app_context():
            bind_tenant(a.tenant.id)
            assert retention.prune_shop() == 1
    finally:
        app.config["PAGE_VIEW_RETENTION_DAYS"] = 90
    assert _pages(a) == ["day-20", "item?utm_source=ad"]
