"""The funnel, with exact numbers, through the product's real doors only: visits land through
the widget's hello with known URLs and referrers, chats go over the visitor socket, a message is
left through the widget, a call comes through the signed PBX hook, buyers are identified the way
the shop's login does it, orders are pushed through the REST API, and the rollup job runs. The
page's table, the CSV and the API then say the same numbers, first touch and last touch."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from app.analytics import rollups
from app.analytics.models import TrafficDaily
from app.crm import service as crm
from tenants.db import bind_tenant, db
from tenants.timezones import local

from ..api.conftest import Api
from ..calls.test_generic_hook import post_event
from ..conftest import login, set_tenant
from ..crm.test_identity import identify, secret_of
from ..crm.test_recognition import BAIDU, hello, say, visitor_socket

SHOP = "https://tea-shop.example"
BAIDU_AD = (
    f"{SHOP}/sale?utm_source=baidu&utm_medium=cpc&utm_campaign=spring"
    "&utm_term=%E6%98%8E%E5%89%8D%E9%BE%99%E4%BA%95"  # 明前龙井
)
GOOGLE = "https://www.google.com/"
CALLER = "13911112222"
TOTAL = "(the totals row)"


def signed_in(client, shop, token: str, user_id: str) -> None:
    """The shop's login tells the widget who the buyer is (Huike.identify)."""
    hashed = crm.identity_hash(secret_of(shop), user_id)
    answer = identify(client, shop, token, id=user_id, hash=hashed)
    assert answer.status_code == 200, answer.get_json()


def order(api: Api, order_id: str, user_id: str, total: str, currency: str = "CNY") -> None:
    body = {"order_id": order_id, "total": total, "currency": currency}
    answer = api.post("/orders", json=body | {"customer": {"external_id": user_id}})
    assert answer.status_code == 201, answer.get_json()


def roll(shop) -> None:
    bind_tenant(shop.tenant.id)
    rollups.roll()
    db.commit()
    bind_tenant(None)


def make_traffic(app, client, shop) -> None:
    """Six visits, four consultations, three orders (one in USD); the fixture's own order of
    99.50 CNY has no visit before it."""
    api = Api(client, shop.api_token)
    # Wang searched Baidu for 龙井茶, chatted and bought
    wang = hello(client, shop, url=f"{SHOP}/longjing", referrer=BAIDU)
    signed_in(client, shop, wang, "wang-1")
    sock = visitor_socket(app, shop, wang)
    say(sock, "w-1", "有明前的吗？")
    sock.disconnect(namespace="/visitor")
    # Li clicked a Baidu ad on the phone, came back from Google on the laptop, chatted there
    li_phone = hello(client, shop, url=BAIDU_AD, referrer="https://www.baidu.com/baidu.php?sc=x")
    signed_in(client, shop, li_phone, "li-1")
    # Zhao came from Google (keyword hidden) and later phoned the shop
    created = api.post(
        "/customers", json={"external_id": "zhao-1", "name": "Zhao"} | {"phones": [CALLER]}
    )
    assert created.status_code == 201, created.get_json()
    zhao = hello(client, shop, url=f"{SHOP}/", referrer=GOOGLE)
    signed_in(client, shop, zhao, "zhao-1")
    li_laptop = hello(client, shop, url=f"{SHOP}/", referrer=GOOGLE)
    signed_in(client, shop, li_laptop, "li-1")
    sock = visitor_socket(app, shop, li_laptop)
    say(sock, "l-1", "Do you ship to Singapore?")
    sock.disconnect(namespace="/visitor")
    # a tea blog's reader left a message; somebody typed the address
    reader = hello(client, shop, url=f"{SHOP}/blog", referrer="https://teablog.example/post/1")
    left = client.post(
        "/w/api/leave",
        json={"k": shop.tenant.site_key, "t": reader, "name": "Zhou"}
        | {"email": "zhou@example.com", "text": "Price list, please."},
    )
    assert left.status_code == 201, left.get_json()
    hello(client, shop, url=f"{SHOP}/")
    ringing = {"event": "ringing", "call_id": "fun-1", "from": CALLER, "to": "+862160000000"}
    answer = post_event(client, shop, ringing | {"direction": "in"})
    assert answer.status_code == 200, answer.get_json()
    order(api, "W-1", "wang-1", "128.00")
    order(api, "L-1", "li-1", "45.00", "USD")
    order(api, "L-2", "li-1", "300.00")
    roll(shop)


def period_of(shop) -> dict[str, str]:
    """Yesterday and today in the shop's zone: the test may run across its midnight."""
    today = local(rollups.utcnow(), shop.tenant.timezone).date()
    return {"from": str(today - timedelta(days=1)), "to": str(today)}


class FunnelTable(HTMLParser):
    """The page's funnel table as {row's raw value: {column: cell text}}."""

    def __init__(self):
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self._row: dict | None = None
        self._col: str | None = None
        self._depth = 0
        self.in_table = False

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "table" and found.get("id") == "funnel-table":
            self.in_table = True
        elif self.in_table and tag == "tr" and "data-value" in found:
            self._row = self.rows.setdefault(found["data-value"], {})
        elif self.in_table and tag == "tr" and found.get("class") == "total":
            self._row = self.rows.setdefault(TOTAL, {})
        elif self._row is not None and tag in ("td", "th"):
            self._col = found.get("data-col", "name")
            self._row[self._col] = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            if self._col and self._row is not None:
                self._row[self._col] = " ".join(self._row[self._col].split())
            self._col = None
        elif tag == "tr":
            self._row = None
        elif tag == "table":
            self.in_table = False

    def handle_data(self, data):
        if self._row is not None and self._col:
            self._row[self._col] += data


def page_rows(client, **params) -> dict[str, dict[str, str]]:
    answer = client.get("/console/analytics", query_string=params)
    assert answer.status_code == 200, answer.get_data(True)[:500]
    table = FunnelTable()
    table.feed(answer.get_data(as_text=True))
    return table.rows


def csv_rows(client, **params) -> list[dict[str, str]]:
    answer = client.get("/console/analytics/funnel.csv", query_string=params)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    text = answer.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def numbers(rows: dict[str, dict[str, str]]) -> dict[str, tuple]:
    return {
        v: (r["visits"], r["consultations"], r["orders"], r["revenue"]) for v, r in rows.items()
    }


def test_the_page_csv_and_api_show_the_exact_funnel_first_and_last_touch(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    make_traffic(app, client, a)
    roll(b)
    when = period_of(a)
    login(client, a.owner)

    # by channel, first touch (on the page: translated names, "new" against an empty past)
    assert numbers(page_rows(client, by="channel", model="first", **when)) == {
        "search": ("3 new", "3 new", "1 new", "CN¥128.00 new"),
        "paid": ("1 new", "0", "2 new", "CN¥300.00 new $45.00 new"),
        "referral": ("1 new", "1 new", "0", "—"),
        "direct": ("1 new", "0", "0", "—"),
        "(unattributed)": ("0", "0", "1 new", "CN¥99.50 new"),
        TOTAL: ("6 new", "4 new", "4 new", "CN¥527.50 new $45.00 new"),
    }
    first = page_rows(client, by="channel", model="first", **when)
    assert [first[v]["name"] for v in ("search", "paid", "(unattributed)")] == [
        "Organic search",
        "Paid search and ads",
        "(unattributed)",
    ]
    assert first["search"]["consultation_rate"] == "100.0%"
    assert first["search"]["order_rate"] == "33.3%"
    assert first["paid"]["revenue_per_visit"] == "CN¥300.00 $45.00"
    assert first[TOTAL]["revenue_per_visit"] == "CN¥87.92 $7.50"  # 527.50 / 6, 45 / 6
    # last touch: Li's orders go to the Google visit
    assert numbers(page_rows(client, by="channel", model="last", **when)) == {
        "search": ("3 new", "3 new", "3 new", "CN¥428.00 new $45.00 new"),
        "paid": ("1 new", "0", "0", "—"),
        "referral": ("1 new", "1 new", "0", "—"),
        "direct": ("1 new", "0", "0", "—"),
        "(unattributed)": ("0", "0", "1 new", "CN¥99.50 new"),
        TOTAL: ("6 new", "4 new", "4 new", "CN¥527.50 new $45.00 new"),
    }
    # by keyword: "(not provided)" is a value; no keyword shows as "(none)"
    keywords = page_rows(client, by="keyword", model="first", **when)
    assert numbers(keywords) == {
        "龙井茶": ("1 new", "1 new", "1 new", "CN¥128.00 new"),
        "明前龙井": ("1 new", "0", "2 new", "CN¥300.00 new $45.00 new"),
        "(not provided)": ("2 new", "2 new", "0", "—"),
        "": ("2 new", "1 new", "0", "—"),
        "(unattributed)": ("0", "0", "1 new", "CN¥99.50 new"),
        TOTAL: ("6 new", "4 new", "4 new", "CN¥527.50 new $45.00 new"),
    }
    assert keywords["(not provided)"]["name"] == "(not provided)"
    last_keywords = numbers(page_rows(client, by="keyword", model="last", **when))
    assert last_keywords["(not provided)"] == (
        "2 new",
        "2 new",
        "2 new",
        "CN¥300.00 new $45.00 new",
    )
    assert last_keywords["明前龙井"] == ("1 new", "0", "0", "—")

    # the CSV: raw values, every row, one revenue column per currency
    assert csv_rows(client, by="keyword", model="first", **when) == [
        _line("", 2, 1, "0.5000", 0, "0.0000", "0.00", "0.00", "0.00", "0.00"),
        _line("(not provided)", 2, 2, "1.0000", 0, "0.0000", "0.00", "0.00", "0.00", "0.00"),
        _line("明前龙井", 1, 0, "0.0000", 2, "2.0000", "300.00", "45.00", "300.00", "45.00"),
        _line("龙井茶", 1, 1, "1.0000", 1, "1.0000", "128.00", "0.00", "128.00", "0.00"),
        _line("(unattributed)", 0, 0, "", 1, "", "99.50", "0.00", "", ""),
    ]
    channels_last = {r["value"]: r for r in csv_rows(client, by="channel", model="last", **when)}
    assert (channels_last["search"]["orders"], channels_last["search"]["revenue_CNY"]) == (
        "3",
        "428.00",
    )
    assert channels_last["search"]["revenue_per_visit_USD"] == "15.00"

    # the API: the same numbers, money as text, rates 0 to 1
    api = Api(client, a.api_token)
    found = api.get("/analytics/funnel", query_string={"by": "channel", "model": "first", **when})
    assert found.status_code == 200, found.get_json()
    body = found.get_json()
    assert (body["period"], body["by"], body["model"]) == (when, "channel", "first")
    search = next(r for r in body["rows"] if r["value"] == "search")
    assert search == {
        "value": "search",
        "visits": 3,
        "consultations": 3,
        "consultation_rate": 1.0,
        "orders": 1,
        "order_rate": pytest.approx(1 / 3),
        "revenue": [{"currency": "CNY", "amount": "128.00"}],
        "revenue_per_visit": [{"currency": "CNY", "amount": "42.67"}],
    }
    assert [r["value"] for r in body["rows"]] == [
        "search",
        "paid",
        "direct",
        "referral",
        "(unattributed)",
    ]
    assert body["total"]["revenue"] == [
        {"currency": "CNY", "amount": "527.50"},
        {"currency": "USD", "amount": "45.00"},
    ]
    assert (body["total"]["visits"], body["total"]["consultations"]) == (6, 4)
    assert body["previous"]["visits"] == 0 and body["previous"]["revenue"] == []
    last = api.get("/analytics/funnel", query_string={"by": "keyword", "model": "last", **when})
    not_provided = next(r for r in last.get_json()["rows"] if r["value"] == "(not provided)")
    assert (not_provided["orders"], not_provided["revenue"]) == (
        2,
        [{"currency": "CNY", "amount": "300.00"}, {"currency": "USD", "amount": "45.00"}],
    )

    # shop B sees its own (nothing) and never A's
    login(client, b.owner)
    b_rows = page_rows(client, by="channel", **when)
    assert numbers(b_rows) == {
        "(unattributed)": ("0", "0", "1 new", "CN¥99.50 new"),
        TOTAL: ("0", "0", "1 new", "CN¥99.50 new"),
    }
    assert [r["value"] for r in csv_rows(client, by="keyword", **when)] == ["(unattributed)"]
    b_api = Api(client, b.api_token).get("/analytics/funnel", query_string=when).get_json()
    assert b_api["total"]["visits"] == 0 and b_api["total"]["orders"] == 1


def _line(value, visits, consultations, c_rate, orders, o_rate, cny, usd, cny_pv, usd_pv):
    return {
        "value": value,
        "visits": str(visits),
        "consultations": str(consultations),
        "consultation_rate": c_rate,
        "orders": str(orders),
        "order_rate": o_rate,
        "revenue_CNY": cny,
        "revenue_USD": usd,
        "revenue_per_visit_CNY": cny_pv,
        "revenue_per_visit_USD": usd_pv,
    }


def test_on_free_the_page_csv_and_api_answer_402_and_the_figures_come_back_on_pro(
    app, client, two_tenants
):
    a = two_tenants.a
    make_traffic(app, client, a)
    when = period_of(a)
    login(client, a.owner)
    before = numbers(page_rows(client, by="keyword", **when))
    api = Api(client, a.api_token)
    set_tenant(a, plan_code="free", trial_plan_code=None, trial_ends_at=None)
    page = client.get("/console/analytics", query_string=when)
    assert page.status_code == 402 and "is a Pro feature" in page.get_data(True)
    assert client.get("/console/analytics/funnel.csv", query_string=when).status_code == 402
    locked = api.get("/analytics/funnel", query_string=when)
    assert locked.status_code == 402
    assert locked.get_json() | {"upgrade_url": ""} == {
        "error": "feature_locked",
        "feature": "analytics",
        "upgrade_url": "",
    }
    set_tenant(a, plan_code="pro")
    assert numbers(page_rows(client, by="keyword", **when)) == before
    assert api.get("/analytics/funnel", query_string=when).get_json()["total"]["visits"] == 6


@pytest.mark.parametrize(
    "params, field, words",
    [
        ({"from": "2026-02-30"}, "from", "Enter a date like 2026-11-22."),
        ({"to": "tomorrow"}, "to", "Enter a date like 2026-11-22."),
        ({"to": "0001-01-01"}, "to", "Enter a date like 2026-11-22."),  # no period before it
        ({"from": "2026-12-05", "to": "2026-12-01"}, "from", "The start must not be after"),
        ({"from": "2024-01-01", "to": "2026-12-01"}, "from", "at most 366 days"),
        ({"by": "city"}, "by", "Choose channel, source, keyword, campaign or landing_page."),
        ({"model": "linear"}, "model", "Choose first (first touch) or last (last touch)."),
    ],
)
def test_a_bad_parameter_is_named_beside_its_field_with_422(
    client, two_tenants, params, field, words
):
    a = two_tenants.a
    login(client, a.owner)
    page = client.get("/console/analytics", query_string=params)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert f'<small class="error" id="error-{field}" role="alert">' in html and words in html
    assert 'id="funnel-table"' not in html  # nothing computed from a bad question
    assert client.get("/console/analytics/funnel.csv", query_string=params).status_code == 422
    refused = Api(client, a.api_token).get("/analytics/funnel", query_string=params)
    assert refused.status_code == 422
    assert refused.get_json()["field"] == field and words in refused.get_json()["message"]


def test_a_bad_sort_is_refused_on_the_page(client, two_tenants):
    login(client, two_tenants.a.owner)
    page = client.get("/console/analytics", query_string={"sort": "price"})
    assert page.status_code == 422
    assert "Sort by one of the table&#39;s columns" in page.get_data(as_text=True)


def test_every_numeric_column_sorts_both_ways_on_the_server(app, client, two_tenants):
    a = two_tenants.a
    make_traffic(app, client, a)
    login(client, a.owner)
    when = period_of(a)

    def order_of(sort, dir):
        html = client.get(
            "/console/analytics", query_string={"by": "channel", "sort": sort, "dir": dir, **when}
        ).get_data(as_text=True)
        table = FunnelTable()
        table.feed(html)
        return [v for v in table.rows if v != TOTAL]

    # ties keep the report's order (most visits, then most orders, then the name)
    assert order_of("visits", "desc") == ["search", "paid", "direct", "referral", "(unattributed)"]
    assert order_of("orders", "desc") == ["paid", "search", "(unattributed)", "direct", "referral"]
    assert order_of("orders", "asc") == ["direct", "referral", "search", "(unattributed)", "paid"]
    assert order_of("consultations", "desc")[:2] == ["search", "referral"]
    assert order_of("consultation_rate", "desc")[:2] == ["search", "referral"]
    # a row without visits has no rate: it sorts below 0 %
    assert order_of("order_rate", "desc") == [
        "paid",
        "search",
        "direct",
        "referral",
        "(unattributed)",
    ]
    # revenue by the period's main currency (CNY here)
    assert order_of("revenue", "desc")[:3] == ["paid", "search", "(unattributed)"]
    assert order_of("revenue_per_visit", "desc")[:2] == ["paid", "search"]
    # names sort as shown: Direct, Organic search, Paid search and ads, Referral
    assert order_of("value", "asc") == ["(unattributed)", "direct", "search", "paid", "referral"]
    page = client.get("/console/analytics", query_string={"sort": "orders", "dir": "desc", **when})
    # the header sorted now links to the other direction
    assert "sort=orders&amp;dir=asc" in page.get_data(as_text=True)


def test_a_period_without_visits_says_so(client, two_tenants):
    login(client, two_tenants.a.owner)
    page = client.get("/console/analytics", query_string={"from": "2025-01-01", "to": "2025-01-31"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "No visits in this period" in html
    assert "records visits from the moment it is on your shop" in html


def test_many_keywords_show_100_rows_and_the_csv_has_them_all(client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    day = local(rollups.utcnow(), a.tenant.timezone).date()
    for n in range(230):
        db.add(TrafficDaily(day=day, dimension="keyword", value=f"kw {n:03d}", visits=n + 1))
    db.commit()
    login(client, a.owner)
    when = {"from": str(day), "to": str(day)}
    page = client.get("/console/analytics", query_string={"by": "keyword", **when})
    table = FunnelTable()
    table.feed(page.get_data(as_text=True))
    shown = [v for v in table.rows if v != TOTAL]
    assert len(shown) == 100 and shown[0] == "kw 229" and shown[-1] == "kw 130"
    assert "130 more rows are in the CSV export." in page.get_data(as_text=True)
    assert table.rows[TOTAL]["visits"] == f"{sum(range(1, 231)):,} new"
    keywords = [r["value"] for r in csv_rows(client, by="keyword", **when)]
    assert len([k for k in keywords if k.startswith("kw ")]) == 230


def test_the_chart_draws_the_top_ten_rows(client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    day = local(rollups.utcnow(), a.tenant.timezone).date()
    for n in range(12):
        db.add(TrafficDaily(day=day, dimension="source", value=f"s{n:02d}", visits=n + 1))
    db.commit()
    login(client, a.owner)
    html = client.get(
        "/console/analytics", query_string={"by": "source", "from": str(day), "to": str(day)}
    ).get_data(as_text=True)
    chart = html[html.index("<svg") : html.index("</svg>")]
    assert 'role="img"' in chart and "viewBox" in chart
    assert chart.count('class="bar"') == 30  # 10 rows × visits, consultations, orders
    assert "<title>s11: Visits 12</title>" in chart and "s01" not in chart


@pytest.mark.parametrize("name", ["from", "to", "by", "model"])
def test_an_empty_api_parameter_is_refused_not_read_as_its_default(client, two_tenants, name):
    refused = Api(client, two_tenants.a.api_token).get(f"/analytics/funnel?{name}=")
    assert refused.status_code == 422 and refused.get_json()["field"] == name
