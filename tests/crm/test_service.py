"""The CRM's data rules: E.164 phones, contacts owned once, orders idempotent, merge loses
nothing, search and timeline paging."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.chat import service as chat
from app.chat.models import Visitor
from app.crm import service as crm
from app.crm.models import Customer, CustomerPhone, Order, TimelineEntry
from tenants.db import bind_tenant, db, utcnow
from tenants.errors import ServiceError


@pytest.mark.parametrize(
    "raw, region, expected",
    [
        ("13800138000", "CN", "+8613800138000"),
        ("138 0013 8000", "CN", "+8613800138000"),
        ("+86 138-0013-8000", "US", "+8613800138000"),
        ("0086 13800138000", "CN", "+8613800138000"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("+44 20 7946 0958", "CN", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
    ],
)
def test_phones_are_stored_in_e164(raw, region, expected):
    assert crm.normalize_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["", "12345", "not a phone", "+86 123", "1380013800012345"])
def test_a_phone_that_is_no_number_is_refused(raw):
    with pytest.raises(ServiceError) as caught:
        crm.normalize_phone(raw, "CN")
    assert caught.value.code == "phone_invalid"


def test_a_phone_or_email_belongs_to_one_customer(two_tenants):
    tenant_id, other_id = two_tenants.a.tenant.id, two_tenants.b.tenant.id
    other_customer_id = two_tenants.b.customer.id
    bind_tenant(tenant_id)
    before = db.scalar(select(func.count(Customer.id)))
    with pytest.raises(ServiceError) as caught:
        crm.save_customer(None, {"name": "Copy", "phones": ["+86 138 0000 0000"]})
    assert caught.value.code == "phone_taken"
    with pytest.raises(ServiceError) as caught:
        crm.save_customer(None, {"name": "Copy", "emails": ["Buyer-A@Example.com"]})
    assert caught.value.code == "email_taken_customer"
    db.rollback()
    bind_tenant(tenant_id)
    assert db.scalar(select(func.count(Customer.id))) == before
    # the same number in the other shop is that shop's own customer
    bind_tenant(other_id)
    assert crm.find_by_contact(phones=["+8613800000000"]).id == other_customer_id


def test_sending_an_order_twice_stores_it_once(two_tenants):
    shop = two_tenants.a
    bind_tenant(shop.tenant.id)
    payload = {
        "order_id": "SO-77",
        "total": "120.00",
        "status": "paid",
        "customer": {"phone": "13800000000"},
    }
    first, created = crm.upsert_order(payload)
    again, created_again = crm.upsert_order(dict(payload))
    assert (created, created_again) == (True, False)
    assert first.id == again.id
    customer = db.get(Customer, shop.customer.id)
    assert (customer.order_count, customer.revenue) == (2, 9950 + 12000)
    entries = db.scalars(
        select(TimelineEntry.kind).where(TimelineEntry.customer_id == customer.id)
    ).all()
    assert entries.count("order") == 2 and "order_status" not in entries
    crm.upsert_order({**payload, "status": "refunded"})
    assert customer.revenue == 9950 and customer.order_count == 1
    assert "order_status" in db.scalars(select(TimelineEntry.kind)).all()


def test_a_bad_order_stores_nothing(two_tenants):
    bind_tenant(two_tenants.a.tenant.id)
    for payload, code in (
        (
            {"order_id": "X1", "total": "abc", "customer": {"phone": "13800000000"}},
            "amount_invalid",
        ),
        ({"order_id": "X2", "customer": {}}, "customer_required"),
        ({"order_id": "X3", "customer": {"phone": "12"}}, "phone_invalid"),
        ({"total": "1", "customer": {"phone": "13800000000"}}, "required"),
    ):
        with db.begin_nested(), pytest.raises(ServiceError) as caught:
            crm.upsert_order(payload)
        assert caught.value.code == code
    assert db.scalar(select(func.count(Order.id))) == 1


def test_merge_moves_everything_and_keeps_the_old_id_resolvable(two_tenants):
    shop = two_tenants.a
    bind_tenant(shop.tenant.id)
    target = db.get(Customer, shop.customer.id)
    other_visitor = chat.record_page_view(None, "https://shop-a.example/")
    source = crm.save_customer(
        None,
        {
            "name": "Li Lei",
            "company": "Lei Tea",
            "phones": ["13900000000"],
            "emails": ["lilei@example.com"],
            "tags": ["wholesale", "vip"],
        },
    )
    crm.link_visitor(other_visitor, source)
    crm.upsert_order({"order_id": "SO-9", "total": "10", "customer": {"phone": "13900000000"}})
    crm.add_note(source, shop.owner.id, "prefers mornings")
    moved = set(db.scalars(select(TimelineEntry.id).where(TimelineEntry.customer_id == source.id)))

    crm.merge(target, source, shop.owner.id)

    db.refresh(target)
    assert {p.e164 for p in target.phones} == {"+8613800000000", "+8613900000000"}
    assert {e.email for e in target.emails} == {"buyer-a@example.com", "lilei@example.com"}
    assert {t.tag for t in target.tags} == {"vip", "wholesale"}
    assert target.company == "Lei Tea"
    assert (target.order_count, target.revenue) == (2, 9950 + 1000)
    assert db.get(Visitor, other_visitor.id).customer_id == target.id
    now_on_target = set(
        db.scalars(select(TimelineEntry.id).where(TimelineEntry.customer_id == target.id))
    )
    assert moved <= now_on_target
    merge_entry = db.scalar(
        select(TimelineEntry).where(
            TimelineEntry.customer_id == target.id, TimelineEntry.kind == "merge"
        )
    )
    assert merge_entry.data["phones"] == ["+8613900000000"]
    assert crm.live(db.get(Customer, source.id)).id == target.id
    assert source.id not in {c.id for c in db.scalars(crm.search({}))}
    with pytest.raises(ServiceError):
        crm.merge(target, source)
    with pytest.raises(ServiceError):
        crm.merge(target, target)


def test_search_finds_by_phone_in_any_writing_email_id_name_and_tag(two_tenants):
    shop = two_tenants.a
    bind_tenant(shop.tenant.id)
    for q in (
        "138 0000 0000",
        "+86 13800000000",
        "1380000",
        "buyer-a@example.com",
        "user-a",
        "buy",
        "BUYER A",
    ):
        found = [c.id for c in db.scalars(crm.search({"q": q}))]
        assert found == [shop.customer.id], q
    assert [c.id for c in db.scalars(crm.search({"tag": "vip", "has_ordered": "yes"}))] == [
        shop.customer.id
    ]
    assert list(db.scalars(crm.search({"q": "buyer b"}))) == []  # the other shop's
    assert list(db.scalars(crm.search({"q": "100%_"}))) == []
    with pytest.raises(ServiceError):
        crm.search({"ordered_after": "yesterday"})


def test_timeline_pages_newest_first_without_repeats(two_tenants):
    shop = two_tenants.a
    bind_tenant(shop.tenant.id)
    start = utcnow() - timedelta(days=1)
    for i in range(120):
        # every three share a timestamp: paging must order ties by id
        crm.add_entry(
            shop.customer.id, "note", summary=f"n{i}", occurred_at=start + timedelta(minutes=i // 3)
        )
    seen, before = [], None
    while True:
        page = crm.timeline(shop.customer.id, before, limit=25)
        if not page:
            break
        seen.extend(e.id for e in page)
        before = (page[-1].occurred_at, page[-1].id)
    total = db.scalar(
        select(func.count(TimelineEntry.id)).where(TimelineEntry.customer_id == shop.customer.id)
    )
    assert len(seen) == len(set(seen)) == total
    stamps = [db.get(TimelineEntry, i).occurred_at for i in seen]
    assert stamps == sorted(stamps, reverse=True)


def test_identity_needs_the_hash_of_the_shop_secret(two_tenants):
    shop = two_tenants.a
    bind_tenant(shop.tenant.id)
    visitor = chat.record_page_view(None, "https://shop-a.example/")
    secret = shop.tenant.identity_secret
    before = db.scalar(select(func.count(Customer.id)))
    for forged in (
        "",
        "0" * 64,
        crm.identity_hash(secret, "user-b"),
        crm.identity_hash(two_tenants.b.tenant.identity_secret, "user-a"),
    ):
        with pytest.raises(ServiceError):
            crm.identify(visitor, secret, {"id": "user-a", "hash": forged})
    assert visitor.customer_id is None
    assert db.scalar(select(func.count(Customer.id))) == before
    customer = crm.identify(
        visitor,
        secret,
        {
            "id": "user-a",
            "hash": crm.identity_hash(secret, "user-a"),
            "name": "Buyer A.",
            "phone": "139 1111 2222",
        },
    )
    assert customer.id == shop.customer.id and visitor.customer_id == customer.id
    assert "+8613911112222" in {p.e164 for p in customer.phones}
    assert db.scalar(select(func.count(CustomerPhone.id))) >= 2
