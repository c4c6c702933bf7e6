"""The CRM publishes what happened (app/crm/signals.py), for the modules that will listen."""

from __future__ import annotations

from contextlib import contextmanager

from app.chat import service as chat
from app.crm import service as crm
from app.crm import signals
from app.crm.models import Customer
from tenants.db import bind_tenant, db


@contextmanager
def heard(event):
    caught = []

    def receiver(sender, **data):
        caught.append((sender, data))

    event.connect(receiver)
    try:
        yield caught
    finally:
        event.disconnect(receiver)


def test_identified_visitors_new_orders_and_merges_are_published(two_tenants):
    shop = two_tenants.a
    bind_tenant(shop.tenant.id)
    visitor = chat.record_page_view(None, "https://shop-a.example/")
    source = crm.save_customer(None, {"name": "Li Lei", "phones": ["13900000000"]})
    with heard(signals.visitor_identified) as identified:
        crm.link_visitor(visitor, source)
        crm.link_visitor(visitor, source)  # already linked: nothing new happened
    assert identified == [(visitor, {"customer": source})]

    order = {"order_id": "SO-7", "total": "10", "customer": {"phone": "13900000000"}}
    with heard(signals.order_recorded) as recorded:
        stored, _ = crm.upsert_order(order)
        crm.upsert_order(dict(order))  # the same order again: not a new one
    assert recorded == [(stored, {})]

    target = db.get(Customer, shop.customer.id)
    source_id = source.id
    with heard(signals.customer_merged) as merged:
        crm.merge(target, source, shop.owner.id)
    assert merged == [(target, {"source_id": source_id})]


def test_an_orders_status_change_is_published_once_per_change(two_tenants):
    bind_tenant(two_tenants.a.tenant.id)
    order = {"order_id": "SO-8", "status": "paid", "customer": {"phone": "13900000000"}}
    stored, _ = crm.upsert_order(order)
    with heard(signals.order_status_changed) as changed:
        crm.upsert_order({**order, "status": "shipped"})  # the API's "news" for a known order
        crm.update_order(stored, {"status": "SHIPPED", "total": "12"})  # the same status
        crm.update_order(stored, {"status": "delivered"})
    assert changed == [(stored, {"previous": "paid"}), (stored, {"previous": "shipped"})]
