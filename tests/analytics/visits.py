"""Visits made the way a browser makes them (the widget's ``hello``), moved back in time where a
test needs an older one, and the shop's figures read back as a report shows them."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.analytics import recording, reports, rollups
from app.analytics.models import AnalyticsEvent, AnalyticsVisit
from app.chat.models import Visitor
from tenants.db import bind_tenant, db, utcnow
from tenants.timezones import local

ORIGIN = "https://tea-shop.example"
BAIDU_LONGJING = "https://www.baidu.com/s?wd=%E9%BE%99%E4%BA%95%E8%8C%B6"  # 龙井茶
WEIBO = "https://weibo.com/u/5811223344"


def land(client, shop, path: str, referrer: str = "", token: str | None = None, **extra) -> str:
    """A page of the shop's site loaded (from ``referrer``): the visitor's widget token."""
    answer = client.post(
        "/w/api/hello",
        json={
            "k": shop.tenant.site_key,
            "t": token,
            "url": f"{ORIGIN}{path}",
            "referrer": referrer,
            "lang": "zh-CN",
            **extra,
        },
        headers={"Origin": ORIGIN},
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["t"]


def visitor_id(client, token: str) -> int:
    from app.chat import service as chat

    tenant_id, key = chat.read_visitor_token(client.application.config["SECRET_KEY"], token)
    bind_tenant(tenant_id)
    found = db.scalar(select(Visitor.id).where(Visitor.key == key))
    bind_tenant(None)
    return found


def age(shop, visitor: int, by: timedelta) -> None:
    """The visitor was here ``by`` earlier than they were: their visits, and their last page
    view (so their next page is a new visit once ``by`` passes the 30 minutes)."""
    bind_tenant(shop.tenant.id)
    row = db.get(Visitor, visitor)
    row.last_seen_at -= by
    row.visit_started_at -= by
    for visit in db.scalars(select(AnalyticsVisit).where(AnalyticsVisit.visitor_id == visitor)):
        visit.started_at -= by
        recording.mark(visit.started_at)  # as it was when recorded then
    db.commit()
    bind_tenant(None)


def consultations(shop, since_id: int = 0) -> list[tuple[str, str | None]]:
    """(kind, the landing page of the visit it is linked to — None: none) of the shop's
    consultations after ``since_id``, oldest first."""
    bind_tenant(shop.tenant.id)
    rows = db.execute(
        select(AnalyticsEvent.kind, AnalyticsVisit.landing_page)
        .outerjoin(AnalyticsVisit, AnalyticsVisit.id == AnalyticsEvent.visit_id)
        .where(AnalyticsEvent.name == "consultation", AnalyticsEvent.id > since_id)
        .order_by(AnalyticsEvent.id)
    ).all()
    bind_tenant(None)
    return [tuple(row) for row in rows]


def last_event_id(shop) -> int:
    bind_tenant(shop.tenant.id)
    found = db.scalar(select(AnalyticsEvent.id).order_by(AnalyticsEvent.id.desc()).limit(1))
    bind_tenant(None)
    return found or 0


def roll(*shops) -> None:
    """The rollup job's run for each shop, as the clock would queue it."""
    for shop in shops:
        bind_tenant(shop.tenant.id)
        rollups.roll()
        db.commit()
    bind_tenant(None)


def today(shop) -> date:
    return local(utcnow(), shop.tenant.timezone).date()


def funnel(shop, by: str, model: str = "first", days: int = 1) -> list[tuple]:
    """(value, visits, consultations, orders, revenue) rows of the shop's funnel over the last
    ``days`` local days, as the report has them."""
    bind_tenant(shop.tenant.id)
    end = today(shop)
    found = reports.funnel(reports.Period(end - timedelta(days=days - 1), end), by, model)
    bind_tenant(None)
    return [(r.value, r.visits, r.consultations, r.orders, dict(r.revenue)) for r in found.rows]
