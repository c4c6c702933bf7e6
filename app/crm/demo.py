"""A few customers for the demo shop, so a try-out's Customers page is not empty."""

from __future__ import annotations

from datetime import timedelta

from app.chat import service as chat
from app.crm import service as crm
from tenants.db import utcnow
from tenants.models import Membership

CUSTOMERS = [
    {
        "name": "王芳",
        "external_id": "demo-1001",
        "phones": ["13812345678"],
        "emails": ["wangfang@example.com"],
        "tags": ["VIP", "回头客"],
        "orders": [
            ("DEMO-20261101", "268.00", "delivered", 21),
            ("DEMO-20261115", "99.00", "paid", 7),
        ],
        "note": "喜欢绿茶，节假日前会批量下单。",
        "chat": "你好，上次买的龙井还有货吗？",
    },
    {
        "name": "Emily Carter",
        "external_id": "demo-1002",
        "phones": ["+1 415 555 2671"],
        "emails": ["emily@example.com"],
        "tags": ["wholesale"],
        "orders": [("DEMO-20261020", "1280.00", "delivered", 33)],
        "note": "Asks for invoices with the company name (Carter Tea Ltd).",
        "chat": "Hi! Do you ship to San Francisco?",
    },
    {
        "name": "李雷",
        "phones": ["13987654321"],
        "tags": ["潜在客户"],
        "orders": [],
        "note": "",
        "chat": "",
    },
]


def seed(owner: Membership) -> None:
    now = utcnow()
    for given in CUSTOMERS:
        data = {
            k: given[k] for k in ("name", "external_id", "phones", "emails", "tags") if k in given
        }
        customer = crm.save_customer(None, data, source="manual", author_id=owner.id)
        for order_id, total, status, days_ago in given["orders"]:
            crm.upsert_order(
                {
                    "order_id": order_id,
                    "total": total,
                    "status": status,
                    "placed_at": (now - timedelta(days=days_ago)).isoformat(),
                    "customer": {"external_id": given["external_id"]},
                }
            )
        if given["note"]:
            crm.add_note(customer, owner.id, given["note"])
        if given["chat"]:
            visitor = chat.record_page_view(None, "https://demo-shop.example/tea/longjing")
            chat.visitor_message(visitor, "demo-1", given["chat"])
            crm.link_visitor(visitor, customer)
