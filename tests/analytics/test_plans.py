"""Analytics on the plans: a Free shop's traffic and consultations are recorded and
rolled up all the same (the listeners and the clock's jobs run for every shop), so the reports
show the past the day it upgrades; the reports answer 402 on Free; a downgrade deletes
nothing and the figures are back, the same, on Pro."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.analytics import jobs as analytics_jobs
from app.analytics.models import AnalyticsEvent, AnalyticsOrder, AnalyticsVisit, TrafficDaily
from tenants.db import bind_tenant, db, utcnow
from tenants.jobs import wait_for_jobs

from ..app.test_features import locked, on_free
from ..conftest import login, set_tenant
from .test_orders import customer_visiting, push
from .visits import BAIDU_LONGJING, ORIGIN, funnel

PAGE = "/console/analytics"


def leave(client, shop, token: str) -> None:
    answer = client.post(
        "/w/api/leave",
        json={
            "k": shop.tenant.site_key,
            "t": token,
            "name": "Li",
            "phone": "13912345678",
            "text": "有货吗",
        },
        headers={"Origin": ORIGIN},
    )
    assert answer.status_code == 201, answer.get_json()


def rows_kept(shop) -> tuple[int, ...]:
    bind_tenant(shop.tenant.id)
    found = tuple(
        db.scalar(select(func.count()).select_from(model))
        for model in (AnalyticsVisit, AnalyticsEvent, AnalyticsOrder, TrafficDaily)
    )
    bind_tenant(None)
    return found


def clock_rolls(client) -> None:
    """The periodic roll, as the clock runs it: one job per shop with marked days."""
    with client.application.app_context():
        analytics_jobs.roll_everywhere()
        db.commit()
    wait_for_jobs()


def pro(shop) -> None:
    set_tenant(
        shop, trial_ends_at=None, plan_code="pro", seats=2, paid_until=utcnow() + timedelta(30)
    )


def test_a_free_shop_records_its_traffic_and_sees_it_once_it_upgrades(client, two_tenants):
    a = two_tenants.a
    on_free(a)
    token = customer_visiting(client, a, "li-1", ("/longjing", BAIDU_LONGJING, timedelta(0)))
    leave(client, a, token)
    clock_rolls(client)
    login(client, a.owner)
    answer = client.get(PAGE, headers={"Accept": "application/json"})
    assert answer.status_code == 402 and answer.get_json() == locked("analytics")

    pro(a)
    page = client.get(PAGE, query_string={"by": "keyword"})
    assert page.status_code == 200 and "龙井茶" in page.get_data(True)
    assert funnel(a, "keyword") == [
        ("龙井茶", 1, 1, 0, {}),  # orders come through the CRM, locked on Free
        ("(unattributed)", 0, 0, 1, {"CNY": 9950}),
    ]


def test_a_downgrade_keeps_the_figures_and_pro_shows_them_again(client, two_tenants):
    a = two_tenants.a
    token = customer_visiting(client, a, "li-1", ("/longjing", BAIDU_LONGJING, timedelta(0)))
    leave(client, a, token)
    push(client, a, "D-1", "li-1", "128.00")
    clock_rolls(client)
    before = (rows_kept(a), funnel(a, "keyword"))
    assert before[1][0] == ("龙井茶", 1, 1, 1, {"CNY": 12800})

    set_tenant(a, trial_ends_at=utcnow() - timedelta(seconds=1))  # the trial lapsed: Free
    login(client, a.owner)
    answer = client.get(PAGE, query_string={"by": "keyword"})
    assert answer.status_code == 402 and "龙井茶" not in answer.get_data(True)
    clock_rolls(client)  # the nightly and periodic jobs go on; they delete nothing
    assert (rows_kept(a), funnel(a, "keyword")) == before

    pro(a)
    page = client.get(PAGE, query_string={"by": "keyword"})
    assert page.status_code == 200 and "龙井茶" in page.get_data(True)
    assert (rows_kept(a), funnel(a, "keyword")) == before
