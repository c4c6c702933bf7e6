"""The spine of analytics: a page view starts a visit with its first touch, a chat is a
consultation of that visit, an order is attributed to the customer's visits, and the rollups
the reports read say so."""

from __future__ import annotations

from datetime import date

from app.analytics import reports, rollups
from app.chat import service as chat
from app.chat import signals as chat_signals
from app.crm import service as crm
from tenants.db import bind_tenant, db

from ..crm.test_recognition import BAIDU, hello, visitor_of


def test_a_search_visit_that_chats_and_buys_shows_in_the_funnel(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    token = hello(client, a, url="https://tea-shop.example/longjing", referrer=BAIDU)
    hello(client, b, url="https://b.example/?utm_source=weibo&utm_medium=social")
    visitor = visitor_of(client, token)
    with app.app_context():  # as the socket's handler: listeners queue jobs
        _, conversation, _, _ = chat.visitor_message(visitor, "m-1", "有龙井吗")
        chat_signals.conversation_opened.send(conversation)  # as the socket's handler does
        customer = crm.save_customer(None, {"name": "Li", "external_id": "li-1"})
        crm.link_visitor(visitor, customer)
        crm.upsert_order(
            {
                "order_id": "T-1",
                "total": "128.00",
                "currency": "CNY",
                "customer": {"external_id": "li-1"},
            }
        )
        db.commit()
    for shop in (a, b):
        bind_tenant(shop.tenant.id)
        rollups.roll()
        db.commit()

    bind_tenant(a.tenant.id)
    today = rollups.local(rollups.utcnow(), a.tenant.timezone).date()
    when = reports.Period(today, today)
    funnel = reports.funnel(when, "keyword", "first")
    assert [(r.value, r.visits, r.consultations, r.orders, r.revenue) for r in funnel.rows] == [
        ("龙井茶", 1, 1, 1, {"CNY": 12800}),
        ("(unattributed)", 0, 0, 1, {"CNY": 9950}),  # the fixture's order: no visit before it
    ]
    channels = reports.funnel(when, "channel", "last")
    assert [(r.value, r.visits) for r in channels.rows] == [("search", 1), ("(unattributed)", 0)]
    volume = reports.volume(when)
    # the messages are counted from the chat: the fixture's two and this one
    assert volume.total["conversations"] == 1 and volume.total["messages"] == 3
    assert isinstance(funnel.period.start, date)

    bind_tenant(b.tenant.id)
    assert [
        (r.value, r.visits, r.orders) for r in reports.funnel(when, "channel", "first").rows
    ] == [("social", 1, 0), ("(unattributed)", 0, 1)]
