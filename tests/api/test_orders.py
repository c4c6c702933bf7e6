"""Orders pushed by the shop: idempotent on its order id, status changes on the timeline and
in the customer's totals, every bad value refused with nothing stored."""

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.crm import service as crm
from app.crm.models import Customer, Order
from tenants.db import bind_tenant, db

from .conftest import error_of

ORDER = {
    "order_id": "SO-1001",
    "total": "299.00",
    "currency": "cny",
    "placed_at": "2026-11-20T10:30:00+08:00",
    "items": [{"name": "Longjing tea 250 g", "quantity": 2, "price": "149.50"}],
    "customer": {"external_id": "user-a"},
}


def counts(tenant_id: int) -> tuple[int, int]:
    bind_tenant(tenant_id)
    result = (db.scalar(select(func.count(Order.id))), db.scalar(select(func.count(Customer.id))))
    bind_tenant(None)
    return result


def test_the_same_order_twice_is_one_order_and_the_same_answer(api, two_tenants):
    a = two_tenants.a
    tenant_id = a.tenant.id  # kept: a refused request expires the fixture's rows
    before = counts(tenant_id)
    first = api.post("/orders", json=ORDER)
    second = api.post("/orders", json=ORDER)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json() == second.get_json()
    assert first.headers["Location"] == "/api/v1/orders/SO-1001"
    assert counts(tenant_id) == (before[0] + 1, before[1])
    order = first.get_json()
    assert order["total"] == "299.00" and order["currency"] == "CNY"
    assert order["placed_at"] == "2026-11-20T02:30:00Z"
    assert order["items"] == [{"name": "Longjing tea 250 g", "quantity": 2, "price": "149.50"}]
    assert order["customer_id"] == a.customer.id
    assert api.get("/orders/SO-1001").get_json() == order
    customer = api.get(f"/customers/{a.customer.id}").get_json()
    assert (customer["order_count"], customer["revenue"]) == (2, "398.50")


def test_a_status_change_lands_on_the_timeline_and_in_the_totals(api, two_tenants):
    a = two_tenants.a
    api.post("/orders", json=ORDER)
    refunded = api.patch("/orders/SO-1001", json={"status": "Refunded"})
    assert refunded.status_code == 200 and refunded.get_json()["status"] == "refunded"
    again = api.patch("/orders/SO-1001", json={"status": "refunded"})
    assert again.get_json() == refunded.get_json()
    customer = api.get(f"/customers/{a.customer.id}").get_json()
    assert (customer["order_count"], customer["revenue"]) == (1, "99.50")  # refunds don't count
    timeline = api.get(f"/customers/{a.customer.id}/timeline").get_json()["data"]
    changes = [e for e in timeline if e["kind"] == "order_status"]
    assert len(changes) == 1  # the same status twice is one change
    assert changes[0]["summary"] == "SO-1001"
    assert changes[0]["data"]["from"] == "placed" and changes[0]["data"]["to"] == "refunded"
    # the same news through POST is also applied once
    paid = api.post("/orders", json={**ORDER, "status": "paid"})
    assert paid.status_code == 200 and paid.get_json()["status"] == "paid"


def test_an_order_finds_or_makes_its_customer(api, two_tenants):
    a = two_tenants.a
    by_phone = api.post(
        "/orders", json={**ORDER, "order_id": 42, "customer": {"phone": "138-0000-0000"}}
    )
    assert by_phone.status_code == 201 and by_phone.get_json()["order_id"] == "42"
    assert by_phone.get_json()["customer_id"] == a.customer.id
    new = api.post(
        "/orders",
        json={**ORDER, "order_id": "SO-2", "customer": {"email": "new@example.com", "name": "Ma"}},
    ).get_json()
    customer = api.get(f"/customers/{new['customer_id']}").get_json()
    assert customer["name"] == "Ma" and customer["emails"] == ["new@example.com"]
    assert customer["source"] == "order" and customer["revenue"] == "299.00"


def test_bad_orders_are_refused_and_store_nothing(api, two_tenants):
    tenant_id = two_tenants.a.tenant.id
    before = counts(tenant_id)
    cases = [
        ({**ORDER, "order_id": ""}, "required", "order_id"),
        ({k: v for k, v in ORDER.items() if k != "order_id"}, "required", "order_id"),
        ({**ORDER, "total": "12,50"}, "amount_invalid", "total"),
        ({**ORDER, "total": "-1"}, "amount_invalid", "total"),
        ({**ORDER, "total": True}, "type_invalid", "total"),
        ({**ORDER, "currency": "yuan"}, "currency_invalid", "currency"),
        ({**ORDER, "placed_at": "yesterday"}, "datetime_invalid", "placed_at"),
        ({**ORDER, "placed_at": "2026-11-20T10:30:00"}, "datetime_invalid", "placed_at"),
        ({**ORDER, "customer": {"phone": "12"}}, "phone_invalid", "customer.phone"),
        ({**ORDER, "customer": {"email": "nope"}}, "email_invalid", "customer.email"),
        ({**ORDER, "customer": {"mobile": "13912345678"}}, "key_unknown", "customer.mobile"),
        ({**ORDER, "customer": {}}, "customer_required", "customer"),
        ({**ORDER, "customer": "user-a"}, "type_invalid", "customer"),
        (
            {**ORDER, "items": [{"name": "Tea", "quantity": 0}]},
            "quantity_invalid",
            "items[0].quantity",
        ),
        ({**ORDER, "items": [{"name": "Tea", "sku": "T1"}]}, "key_unknown", "items[0].sku"),
        ({**ORDER, "items": [{"quantity": 1}]}, "items_invalid", "items"),
        (
            {**ORDER, "items": [{"name": "Tea", "price": "free"}]},
            "amount_invalid",
            "items[0].price",
        ),
        ({**ORDER, "items": "tea"}, "type_invalid", "items"),
        ({**ORDER, "status": "x" * 33}, "status_invalid", "status"),
        ({**ORDER, "discount": "5"}, "key_unknown", "discount"),
    ]
    for body, code, field in cases:
        assert error_of(api.post("/orders", json=body)) == (422, code, field), body
    assert counts(tenant_id) == before


def test_unknown_orders_and_bad_changes(api, two_tenants):
    assert error_of(api.get("/orders/SO-404")) == (404, "not_found", "order_id")
    assert error_of(api.patch("/orders/SO-404", json={"status": "paid"})) == (
        404,
        "not_found",
        "order_id",
    )
    for body, code, field in (
        ({"status": ""}, "status_invalid", "status"),
        ({"total": "abc"}, "amount_invalid", "total"),
        ({"customer": {"external_id": "x"}}, "key_unknown", "customer"),
    ):
        assert error_of(api.patch("/orders/SO-a", json=body)) == (422, code, field)
    assert api.get("/orders/SO-a").get_json()["status"] == "placed"
    changed = api.patch("/orders/SO-a", json={"total": 120, "items": [{"name": "Gift box"}]})
    assert changed.get_json()["total"] == "120.00"
    assert changed.get_json()["items"] == [{"name": "Gift box", "quantity": 1, "price": None}]


def test_an_order_id_with_a_slash_or_spaces_is_reachable(client, api, two_tenants):
    token = {"Authorization": f"Bearer {two_tenants.a.api_token}"}
    created = client.post("/api/v1/orders", headers=token, json={**ORDER, "order_id": "2026/11 #7"})
    assert created.status_code == 201
    read = client.get("/api/v1/orders/2026%2F11%20%237", headers=token)
    assert read.status_code == 200 and read.get_json()["order_id"] == "2026/11 #7"


def test_a_concurrent_push_of_the_same_order_gets_the_known_order_answer(
    api, two_tenants, monkeypatch
):
    """Two pushes of one order at once: the database's unique order id stops the second
    insert; that request runs again, finds the order and answers 200, not a 500."""
    tenant_id = two_tenants.a.tenant.id
    before = counts(tenant_id)
    real, calls = crm.upsert_order, []

    def racing(payload):
        calls.append(payload["order_id"])
        if len(calls) == 1:  # the other request stored it first, then this insert fails
            real(payload)
            db.commit()
            raise IntegrityError("INSERT INTO crm_orders", {}, Exception("uq_order_external_id"))
        return real(payload)

    monkeypatch.setattr(crm, "upsert_order", racing)
    response = api.post("/orders", json=ORDER)
    assert response.status_code == 200 and response.get_json()["order_id"] == "SO-1001"
    assert calls == ["SO-1001", "SO-1001"]
    assert counts(tenant_id) == (before[0] + 1, before[1])


def test_an_amount_as_text_is_digits_and_a_point(api, two_tenants):
    """What the document's pattern says: "199.50" is an amount, "1e3" and " 5" are not."""
    for total in ("1e3", " 5", "5.", "-0", "Infinity"):
        refused = api.patch("/orders/SO-a", json={"total": total})
        assert error_of(refused) == (422, "amount_invalid", "total"), total
    assert api.patch("/orders/SO-a", json={"total": "1999.5"}).get_json()["total"] == "1999.50"


def test_an_amount_past_what_the_database_holds_is_refused(api, two_tenants):
    # 100 million in minor units overflows PostgreSQL's integer column: it answered 500
    for total in ("100000000", 100_000_000, "10000000.01"):
        refused = api.patch("/orders/SO-a", json={"total": total})
        assert error_of(refused) == (422, "amount_invalid", "total"), total
    assert api.patch("/orders/SO-a", json={"total": 10_000_000}).status_code == 200
