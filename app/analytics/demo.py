"""Six weeks of traffic for the demo shop, so a try-out's Analytics pages are not empty: visits
from search, ads, social sites and referrals, some of which chat and buy. Made through the
same services and events as real traffic, then rolled up."""

from __future__ import annotations

import random
from datetime import timedelta

from app.analytics import rollups
from app.chat import service as chat
from app.chat import signals as chat_signals
from app.crm import service as crm
from tenants.db import db, utcnow
from tenants.models import Membership
from tenants.timezones import local

SHOP = "https://demo-shop.example"
# (landing page, referrer, weight)
ARRIVALS = [
    ("/tea/longjing", "https://www.baidu.com/s?wd=%E9%BE%99%E4%BA%95%E8%8C%B6", 9),
    ("/tea/longjing", "https://m.baidu.com/s?word=%E6%98%8E%E5%89%8D%E9%BE%99%E4%BA%95", 5),
    (
        "/tea/pu-erh?utm_source=baidu&utm_medium=cpc&utm_campaign=spring-tea&utm_term=普洱茶",
        "https://www.baidu.com/",
        7,
    ),
    ("/gift?bd_vid=demo&utm_campaign=gift-box&utm_term=茶叶礼盒", "https://www.baidu.com/", 4),
    ("/tea/oolong", "https://www.sogou.com/web?query=%E4%B9%8C%E9%BE%99%E8%8C%B6", 3),
    ("/tea/oolong", "https://www.so.com/s?q=%E5%A4%A7%E7%BA%A2%E8%A2%8D", 2),
    ("/", "https://www.google.com/", 3),
    ("/tea/green?gclid=demo&utm_campaign=us-green-tea&utm_term=green+tea", "", 2),
    ("/", "https://www.xiaohongshu.com/explore/1", 4),
    ("/gift", "https://weibo.com/u/1", 2),
    ("/blog/brewing", "https://www.zhihu.com/question/1", 2),
    ("/", "https://tea-forum.example/thread/9", 2),
    ("/?utm_source=newsletter&utm_medium=email&utm_campaign=november", "https://mail.qq.com/", 2),
    ("/", "", 6),
]
QUESTIONS = ["有现货吗？", "多久能发货？", "可以开发票吗？", "Do you ship abroad?", "包邮吗？"]
DAYS = 42


def seed(owner: Membership) -> None:
    pick = random.Random(14)
    now = utcnow()
    landings = [(page, ref) for page, ref, weight in ARRIVALS for _ in range(weight)]
    for days_ago in range(DAYS, 0, -1):
        for _ in range(pick.randint(6, 16)):
            at = now - timedelta(days=days_ago, minutes=pick.randint(0, 14 * 60))
            page, referrer = pick.choice(landings)
            visitor = chat.record_page_view(None, SHOP + page, referrer=referrer, now=at)
            chat_signals.page_viewed.send(visitor)
            if pick.random() < 0.22:
                _chat(owner, visitor, at, pick)
                if pick.random() < 0.45:
                    _buy(visitor, at, pick)
    db.flush()
    today = local(now, owner.tenant.timezone).date()
    rollups.recompute(today - timedelta(days=n) for n in range(DAYS + 1))


def _chat(owner: Membership, visitor, at, pick: random.Random) -> None:
    asked = at + timedelta(minutes=1)
    message, conversation, _, _ = chat.visitor_message(
        visitor, f"demo-{visitor.id}", pick.choice(QUESTIONS), now=asked
    )
    chat_signals.conversation_opened.send(conversation)
    context = {"visitor_id": visitor.id, "tenant_id": visitor.tenant_id}
    chat_signals.message_created.send(message, **context)
    answered = asked + timedelta(seconds=pick.randint(8, 240))
    reply, _, _ = chat.agent_message(
        owner,
        conversation.id,
        f"demo-r-{visitor.id}",
        "您好，有的，今天下单明天发货。",
        now=answered,
    )
    chat_signals.message_created.send(reply, **context)
    chat.close(conversation.id, now=answered + timedelta(minutes=pick.randint(2, 20)))


def _buy(visitor, at, pick: random.Random) -> None:
    external_id = f"demo-v{visitor.id}"
    customer = crm.save_customer(
        None, {"name": f"访客 {visitor.id}", "external_id": external_id}, source="chat"
    )
    crm.link_visitor(visitor, customer)
    dollars = pick.random() < 0.15
    price = pick.choice([29, 49, 99] if dollars else [88, 168, 268, 520])
    crm.upsert_order(
        {
            "order_id": f"DEMO-A{visitor.id}",
            "total": str(price),
            "currency": "USD" if dollars else "CNY",
            "status": "paid",
            "placed_at": (at + timedelta(minutes=pick.randint(20, 90))).isoformat(),
            "customer": {"external_id": external_id},
        }
    )
