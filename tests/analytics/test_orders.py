"""Orders attributed to the customer's visits: the first and the last touch within the 30 days
before the order, through the REST API and the CRM's CSV import (a job, for each shop under
its own tenant); "(unattributed)" when no visit explains the order; a visitor known only after
the order and a merge of customers move it where it belongs on the next roll; cancelled and
refunded orders drop out, a changed total counts, and two currencies are never added up."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.analytics import jobs as analytics_jobs
from app.crm import imports
from app.crm import service as crm
from tenants.db import bind_tenant, db, utcnow
from tenants.jobs import wait_for_jobs
from tenants.timezones import local

from ..api.conftest import Api
from ..conftest import login
from ..crm.test_identity import secret_of
from ..crm.test_import import run as import_csv
from .visits import BAIDU_LONGJING, ORIGIN, WEIBO, age, funnel, land, roll, visitor_id

FIXTURE = ("(unattributed)", 1, {"CNY": 9950})  # make_shop's order: its customer has no visit
GOOGLE_AD = "/longjing?gclid=Cj0KCQ&utm_source=google&utm_medium=cpc&utm_campaign=winter"


def orders(shop, by: str, model: str = "first", days: int = 40) -> list[tuple]:
    """(value, orders, revenue) of the funnel's rows that have orders."""
    return [(v, n, revenue) for v, _, _, n, revenue in funnel(shop, by, model, days) if n]


def customer_visiting(client, shop, external_id: str, *visits: tuple[str, str, timedelta]):
    """A visitor who came (path, referrer, how long ago — oldest first) and then signed in on
    the shop's site as its user ``external_id``: their widget token."""
    token = None
    for n, (path, referrer, ago) in enumerate(visits):
        token = land(client, shop, path, referrer, token=token)
        later = visits[n + 1][2] if n + 1 < len(visits) else timedelta(0)
        age(shop, visitor_id(client, token), ago - later)
    identify(client, shop, token, external_id)
    return token


def identify(client, shop, token: str, external_id: str, **identity) -> None:
    answer = client.post(
        "/w/api/identify",
        json={
            "k": shop.tenant.site_key,
            "t": token,
            "identity": {
                "id": external_id,
                "hash": crm.identity_hash(secret_of(shop), external_id),
                **identity,
            },
        },
        headers={"Origin": ORIGIN},
    )
    assert answer.status_code == 200, answer.get_json()


def push(client, shop, order_id: str, external_id: str, total: str, currency: str = "CNY", **more):
    answer = Api(client, shop.api_token).post(
        "/orders",
        json={
            "order_id": order_id,
            "total": total,
            "currency": currency,
            "customer": {"external_id": external_id},
            **more,
        },
    )
    assert answer.status_code == 201, answer.get_json()


def change(client, shop, order_id: str, **changes) -> None:
    answer = Api(client, shop.api_token).patch(f"/orders/{order_id}", json=changes)
    assert answer.status_code == 200, answer.get_json()


def test_first_and_last_touch_across_a_customers_visits(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    customer_visiting(
        client,
        a,
        "li-1",
        ("/longjing", BAIDU_LONGJING, timedelta(days=20)),
        ("/longjing", WEIBO, timedelta(days=5)),
        (GOOGLE_AD, "https://www.google.com/", timedelta(hours=1)),
    )
    push(client, a, "T-1", "li-1", "1288.00")
    roll(a, b)
    assert orders(a, "source") == [("baidu", 1, {"CNY": 128800}), FIXTURE]
    assert orders(a, "keyword") == [("龙井茶", 1, {"CNY": 128800}), FIXTURE]
    assert orders(a, "source", "last") == [("google", 1, {"CNY": 128800}), FIXTURE]
    assert orders(a, "campaign", "last") == [("winter", 1, {"CNY": 128800}), FIXTURE]
    assert orders(a, "channel", "last") == [("paid", 1, {"CNY": 128800}), FIXTURE]
    assert funnel(a, "source", days=40)[:3] == [
        ("baidu", 1, 0, 1, {"CNY": 128800}),
        ("google", 1, 0, 0, {}),
        ("weibo", 1, 0, 0, {}),
    ]
    assert orders(b, "source") == orders(b, "source", "last") == [FIXTURE]


def test_a_visit_31_days_before_the_order_is_outside_the_window(client, two_tenants):
    a = two_tenants.a
    customer_visiting(
        client,
        a,
        "wang-1",
        ("/oolong", "https://www.sogou.com/web?query=oolong", timedelta(days=31)),
        ("/oolong", "https://cn.bing.com/search?q=oolong", timedelta(days=29)),
    )
    customer_visiting(client, a, "zhao-1", ("/pu-erh", WEIBO, timedelta(days=31)))
    push(client, a, "W-1", "wang-1", "300.00")
    push(client, a, "Z-1", "zhao-1", "50.00")
    roll(a)
    assert (
        orders(a, "source")
        == orders(a, "source", "last")
        == [
            ("bing", 1, {"CNY": 30000}),
            ("(unattributed)", 2, {"CNY": 9950 + 5000}),
        ]
    )


def test_an_order_of_a_customer_never_seen_on_the_site_is_unattributed(client, two_tenants):
    a = two_tenants.a
    land(client, a, "/longjing", WEIBO)  # a visitor, but not the buyer
    push(client, a, "P-1", "phone-buyer", "66.00")  # ordered by phone, typed in by the shop
    roll(a)
    assert orders(a, "channel") == [("(unattributed)", 2, {"CNY": 9950 + 6600})]
    assert funnel(a, "channel")[0] == ("social", 1, 0, 0, {})


def test_orders_imported_from_csv_by_a_job_land_in_their_own_shops(
    client, two_tenants, monkeypatch
):
    a, b = two_tenants.a, two_tenants.b
    monkeypatch.setattr(imports, "IN_REQUEST_ROWS", 1)  # both files are imported by jobs
    for shop, referrer in ((a, BAIDU_LONGJING), (b, WEIBO)):
        token = customer_visiting(
            client, shop, "chen-1", ("/longjing", referrer, timedelta(days=2))
        )
        identify(client, shop, token, "chen-1", phone="13912345678")
    placed = local(utcnow() - timedelta(hours=1), a.tenant.timezone).strftime("%Y-%m-%d %H:%M")
    for shop, total in ((a, "¥520.00"), (b, "¥80.00")):
        login(client, shop.owner)
        import_csv(
            client,
            f'订单号,手机,金额,币种,下单时间\nCSV-1,13912345678,"{total}",CNY,{placed}\n'
            f"CSV-2,13912345678,20.00,USD,{placed}\n",
            kind="orders",
        )
    wait_for_jobs()
    roll(a, b)
    assert orders(a, "keyword") == [("龙井茶", 2, {"CNY": 52000, "USD": 2000}), FIXTURE]
    assert orders(b, "source") == [("weibo", 2, {"CNY": 8000, "USD": 2000}), FIXTURE]


def test_a_visitor_known_only_after_the_order_gets_it_on_the_next_roll(client, two_tenants):
    a = two_tenants.a
    token = land(client, a, "/longjing", "https://www.zhihu.com/question/20001234")
    age(a, visitor_id(client, token), timedelta(days=2))
    push(client, a, "S-1", "sun-1", "99.00")  # the shop knows its user; we do not, yet
    roll(a)
    assert orders(a, "source") == [("(unattributed)", 2, {"CNY": 9950 + 9900})]
    identify(client, a, token, "sun-1")  # they sign in on the site: the visit is theirs
    roll(a)
    assert orders(a, "source") == [("zhihu", 1, {"CNY": 9900}), FIXTURE]


@pytest.mark.parametrize("kept", ["the visitor's customer", "the buyer"])
def test_merged_customers_bring_their_visits_and_orders_together(client, two_tenants, kept):
    a = two_tenants.a
    customer_visiting(client, a, "zhou-web", ("/longjing", WEIBO, timedelta(days=3)))
    push(client, a, "M-1", "zhou-shop", "188.00")  # the same person, a second record
    roll(a)
    assert orders(a, "source") == [("(unattributed)", 2, {"CNY": 9950 + 18800})]
    bind_tenant(a.tenant.id)
    web = crm.find_by_contact("zhou-web", [], []).id
    buyer = crm.find_by_contact("zhou-shop", [], []).id
    bind_tenant(None)
    target, source = (web, buyer) if kept == "the visitor's customer" else (buyer, web)
    login(client, a.owner)
    merged = client.post(f"/console/customers/{target}/merge/{source}")
    assert merged.status_code == 302
    roll(a)
    assert orders(a, "source") == [("weibo", 1, {"CNY": 18800}), FIXTURE]


def test_cancelled_and_refunded_orders_drop_out_and_a_changed_total_counts(client, two_tenants):
    a = two_tenants.a
    customer_visiting(client, a, "li-1", ("/longjing", BAIDU_LONGJING, timedelta(days=1)))
    for n in (1, 2, 3):
        push(client, a, f"C-{n}", "li-1", "100.00")
    roll(a)
    assert orders(a, "source") == [("baidu", 3, {"CNY": 30000}), FIXTURE]
    change(client, a, "C-1", status="cancelled")
    change(client, a, "C-2", total="80.00")
    roll(a)
    assert orders(a, "source") == [("baidu", 2, {"CNY": 18000}), FIXTURE]
    change(client, a, "C-3", status="Refunded")
    roll(a)
    assert orders(a, "source") == [("baidu", 1, {"CNY": 8000}), FIXTURE]
    change(client, a, "C-1", status="paid")  # un-cancelled: it counts again
    roll(a)
    assert orders(a, "source") == [("baidu", 2, {"CNY": 18000}), FIXTURE]


def test_two_currencies_are_never_added_up(client, two_tenants):
    a = two_tenants.a
    customer_visiting(client, a, "li-1", ("/longjing", BAIDU_LONGJING, timedelta(days=1)))
    push(client, a, "X-1", "li-1", "128.00", "CNY")
    push(client, a, "X-2", "li-1", "20.00", "usd")
    push(client, a, "X-3", "li-1", "8.00", "USD")
    roll(a)
    assert orders(a, "source") == [("baidu", 3, {"CNY": 12800, "USD": 2800}), FIXTURE]
    assert orders(a, "source", "last") == [("baidu", 3, {"CNY": 12800, "USD": 2800}), FIXTURE]


def test_the_clock_rolls_each_shop_under_its_own_tenant(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    customer_visiting(client, a, "li-1", ("/longjing", BAIDU_LONGJING, timedelta(days=1)))
    customer_visiting(client, b, "li-1", ("/longjing", WEIBO, timedelta(days=1)))
    push(client, a, "J-1", "li-1", "10.00")
    push(client, b, "J-1", "li-1", "20.00")
    with client.application.app_context():
        analytics_jobs.roll_everywhere()  # the periodic job: one roll job per shop
        db.commit()
    wait_for_jobs()
    assert orders(a, "source") == [("baidu", 1, {"CNY": 1000}), FIXTURE]
    assert orders(b, "source") == [("weibo", 1, {"CNY": 2000}), FIXTURE]
