"""Consultations tied to the visit they came from, made through the interfaces visitors and
phone systems use: a chat's first message over the visitor's socket, a left message and a
free-callback request through the widget, an inbound call through the calls module's signed
hook (a known customer's phone finds their latest visit of the last 30 days; an unknown one is
"(unattributed)"), and a visitor back after 31 minutes whose chat belongs to the new visit."""

from __future__ import annotations

import json
from datetime import timedelta

from app.analytics import reports
from app.calls import hooks
from app.crm import service as crm
from app.extensions import socketio
from tenants.db import bind_tenant, utcnow

from ..calls.test_callback import enable
from ..crm.test_identity import secret_of
from .visits import (
    BAIDU_LONGJING,
    ORIGIN,
    WEIBO,
    age,
    consultations,
    funnel,
    land,
    last_event_id,
    roll,
    today,
    visitor_id,
)

FIXTURE_ORDER = ("(unattributed)", 0, 0, 1, {"CNY": 9950})  # make_shop's order: no visit


def attributed(rows: list[tuple]) -> list[tuple]:
    """The rows of visits: make_shop's own call, on a fixed date, may fall in the period."""
    return [row for row in rows if row[0] != "(unattributed)"]


def chat(app, shop, token: str, *texts: str) -> None:
    sock = socketio.test_client(
        app, namespace="/visitor", auth={"k": shop.tenant.site_key, "t": token}
    )
    assert sock.is_connected("/visitor")
    for n, text in enumerate(texts):
        answer = sock.emit(
            "message", {"client_id": f"m-{n}", "text": text}, namespace="/visitor", callback=True
        )
        assert "message" in answer, answer
    sock.disconnect(namespace="/visitor")


def ring(client, shop, number: str, call_id: str):
    """An inbound call's ringing event from the shop's PBX, signed as it signs them."""
    body = json.dumps(
        {
            "event": "ringing",
            "call_id": call_id,
            "from": number,
            "to": "+862160000000",
            "direction": "in",
            "timestamp": utcnow().isoformat(),
        }
    ).encode()
    answer = client.post(
        f"/calls/hook/{shop.call_connection.token}",
        data=body,
        headers={hooks.SIGNATURE_HEADER: hooks.sign(shop.call_secret, body)},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.get_json()


def identify(client, shop, token: str) -> None:
    """The shop's own login names the visitor: its customer ``user-<label>`` (make_shop's)."""
    external = shop.customer.external_id
    answer = client.post(
        "/w/api/identify",
        json={
            "k": shop.tenant.site_key,
            "t": token,
            "identity": {"id": external, "hash": crm.identity_hash(secret_of(shop), external)},
        },
        headers={"Origin": ORIGIN},
    )
    assert answer.status_code == 200, answer.get_json()


def test_a_chat_is_a_consultation_of_the_visit_its_first_message_came_from(
    app, client, two_tenants
):
    a, b = two_tenants.a, two_tenants.b
    since_a, since_b = last_event_id(a), last_event_id(b)
    token_a = land(client, a, "/longjing", WEIBO)
    token_b = land(client, b, "/biluochun", BAIDU_LONGJING)
    chat(app, a, token_a, "有明前龙井吗", "500 克装多少钱")  # the second: the socket's fast path
    chat(app, b, token_b, "hello")
    assert consultations(a, since_a) == [("chat", "/longjing")]
    assert consultations(b, since_b) == [("chat", "/biluochun")]
    roll(a, b)
    assert funnel(a, "source") == [("weibo", 1, 1, 0, {}), FIXTURE_ORDER]
    assert funnel(b, "keyword") == [("龙井茶", 1, 1, 0, {}), FIXTURE_ORDER]
    # each shop's volume counts its own messages, the fast path's too (make_shop's chat: two)
    assert [messages_today(shop) for shop in (a, b)] == [4, 3]


def messages_today(shop) -> int:
    bind_tenant(shop.tenant.id)
    day = today(shop)
    return reports.volume(reports.Period(day, day)).total["messages"]


def test_a_left_message_is_a_consultation_of_its_visit(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    since = last_event_id(a)
    token = land(client, a, "/gift-box", BAIDU_LONGJING)
    left = client.post(
        "/w/api/leave",
        json={
            "k": a.tenant.site_key,
            "t": token,
            "name": "王女士",
            "phone": "13612345678",
            "text": "礼盒可以开发票吗？",
            "url": f"{ORIGIN}/gift-box",
        },
        headers={"Origin": ORIGIN},
    )
    assert left.status_code == 201, left.get_json()
    assert consultations(a, since) == [("message", "/gift-box")]
    roll(a, b)
    assert funnel(a, "keyword") == [("龙井茶", 1, 1, 0, {}), FIXTURE_ORDER]
    assert funnel(a, "landing_page") == [("/gift-box", 1, 1, 0, {}), FIXTURE_ORDER]
    assert funnel(b, "keyword") == [FIXTURE_ORDER]


def test_a_callback_request_is_a_consultation_of_its_visit(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    enable(a)
    since = last_event_id(a)
    token = land(client, a, "/tea/longjing", "https://m.sogou.com/web/searchList.jsp?keyword=tea")
    asked = client.post(
        "/w/api/callback",
        json={
            "k": a.tenant.site_key,
            "t": token,
            "phone": "+8613912345678",
            "consent": True,
            "url": f"{ORIGIN}/tea/longjing",
            "lang": "zh-CN",
        },
        headers={"Origin": ORIGIN},
    )
    assert asked.status_code == 201, asked.get_json()
    assert consultations(a, since) == [("callback", "/tea/longjing")]
    roll(a, b)
    assert funnel(a, "source") == [("sogou", 1, 1, 0, {}), FIXTURE_ORDER]
    assert funnel(b, "source") == [FIXTURE_ORDER]


def test_a_known_customers_call_is_a_consultation_of_their_latest_visit(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    token = land(client, a, "/oolong", "https://cn.bing.com/search?q=oolong")
    visitor = visitor_id(client, token)
    age(a, visitor, timedelta(days=12))
    land(client, a, "/longjing?gclid=Cj0KEQ", "https://www.google.com/", token=token)
    age(a, visitor, timedelta(days=2))  # the latest visit: 2 days ago, the first 14
    identify(client, a, token)  # both visits are the customer's now
    since = last_event_id(a)
    ring(client, a, "13800000000", "in-1")  # the customer's phone, as the PBX sends it
    assert consultations(a, since) == [("call", "/longjing")]
    roll(a, b)
    # the call is today's, the visits it came from are not; the fixture's order of today is
    # the customer's now: first touch the Bing visit, last touch the Google ad
    assert funnel(a, "channel") == [("search", 0, 0, 1, {"CNY": 9950}), ("paid", 0, 1, 0, {})]
    assert attributed(funnel(a, "channel", days=15)) == [
        ("search", 1, 0, 1, {"CNY": 9950}),
        ("paid", 1, 1, 0, {}),
    ]
    assert attributed(funnel(a, "channel", "last", days=15)) == [
        ("paid", 1, 1, 1, {"CNY": 9950}),
        ("search", 1, 0, 0, {}),
    ]


def test_a_known_customers_call_after_31_days_without_a_visit_is_unattributed(client, two_tenants):
    a = two_tenants.a
    token = land(client, a, "/oolong", WEIBO)
    identify(client, a, token)
    age(a, visitor_id(client, token), timedelta(days=31))
    since = last_event_id(a)
    ring(client, a, "138 0000 0000", "in-2")
    assert consultations(a, since) == [("call", None)]


def test_a_call_from_an_unknown_number_is_unattributed(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    land(client, a, "/oolong", WEIBO)  # someone visits, but the caller is nobody we know
    since = last_event_id(a)
    ring(client, a, "13911112222", "in-3")
    assert consultations(a, since) == [("call", None)]
    roll(a, b)
    assert funnel(a, "source") == [
        ("weibo", 1, 0, 0, {}),
        ("(unattributed)", 0, 1, 1, {"CNY": 9950}),
    ]
    assert funnel(b, "source") == [FIXTURE_ORDER]


def test_a_visitor_back_after_31_minutes_chats_from_their_new_visit(app, client, two_tenants):
    a = two_tenants.a
    since = last_event_id(a)
    token = land(client, a, "/longjing", BAIDU_LONGJING)
    age(a, visitor_id(client, token), timedelta(minutes=31))
    land(client, a, "/biluochun", WEIBO, token=token)
    chat(app, a, token, "还有货吗")
    assert consultations(a, since) == [("chat", "/biluochun")]
    roll(a)
    assert funnel(a, "source", days=2) == [
        ("baidu", 1, 0, 0, {}),
        ("weibo", 1, 1, 0, {}),
        FIXTURE_ORDER,
    ]


def test_a_visitor_back_within_30_minutes_chats_from_the_same_visit(app, client, two_tenants):
    a = two_tenants.a
    since = last_event_id(a)
    token = land(client, a, "/longjing", BAIDU_LONGJING)
    age(a, visitor_id(client, token), timedelta(minutes=29))
    land(client, a, "/biluochun", WEIBO, token=token)  # a second page of the same visit
    chat(app, a, token, "还有货吗")
    assert consultations(a, since) == [("chat", "/longjing")]
    roll(a)
    assert funnel(a, "source", days=2) == [("baidu", 1, 1, 0, {}), FIXTURE_ORDER]
