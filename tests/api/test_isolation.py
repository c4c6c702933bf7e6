"""One shop's key never reads, finds or changes another shop's customers and orders; ids and
contacts of another shop behave exactly as if they did not exist."""

from sqlalchemy import select

from app.api.models import ApiKey
from app.crm.models import Customer, CustomerPhone, Order
from tenants.db import bind_tenant, db

from ..conftest import login
from .conftest import error_of


def rows_of(tenant_id: int) -> dict:
    bind_tenant(tenant_id)
    state = {
        model.__tablename__: {
            repr(tuple(row))
            for row in db.execute(
                select(model.__table__).where(model.__table__.c.tenant_id == tenant_id)
            )
        }
        for model in (Customer, CustomerPhone, Order, ApiKey)
    }
    bind_tenant(None)
    return state


def test_a_key_reads_and_changes_nothing_of_another_shop(api, two_tenants):
    b = two_tenants.b
    a_customer = two_tenants.a.customer.id
    b_tenant, b_customer, b_order = b.tenant.id, b.customer.id, b.order.external_id
    before = rows_of(b_tenant)
    for method, path, body in (
        ("GET", f"/customers/{b_customer}", None),
        ("PATCH", f"/customers/{b_customer}", {"name": "Taken over"}),
        ("GET", f"/customers/{b_customer}/timeline", None),
        ("GET", f"/orders/{b_order}", None),
        ("PATCH", f"/orders/{b_order}", {"status": "cancelled"}),
    ):
        foreign = api.open(method, path, json=body)
        missing = api.open(
            method, path.replace(str(b_customer), "999999").replace(b_order, "nope"), json=body
        )
        assert foreign.status_code == 404, (method, path)
        assert foreign.get_json() == missing.get_json()
    assert rows_of(b_tenant) == before
    assert api.get(f"/customers/{a_customer}").status_code == 200


def test_lists_and_searches_never_show_another_shops_customers(api, two_tenants):
    b = two_tenants.b
    listed = api.get("/customers", query_string={"limit": 100}).get_json()
    assert [c["name"] for c in listed["data"]] == ["Buyer a"]
    for q in ("Buyer b", "buyer-b@example.com", "user-b", "+8613800000000"):
        found = api.get("/customers", query_string={"q": q}).get_json()["data"]
        assert all(c["name"] != "Buyer b" for c in found), q
    assert api.get("/customers", query_string={"q": "Buyer b"}).get_json()["data"] == []
    assert api.get("/customers", query_string={"tag": "vip"}).get_json()["data"][0]["name"] == (
        "Buyer a"
    )
    # B's own key sees B's.
    own = api.as_shop(b).get("/customers", query_string={"q": "Buyer b"}).get_json()["data"]
    assert [c["name"] for c in own] == ["Buyer b"]


def test_another_shops_order_id_and_external_id_are_free_here(api, two_tenants):
    b = two_tenants.b
    b_tenant, b_customer = b.tenant.id, b.customer.id
    before = rows_of(b_tenant)
    order = api.post(
        "/orders", json={"order_id": "SO-b", "total": "1.00", "customer": {"external_id": "user-b"}}
    )
    assert order.status_code == 201  # a new order of shop A's, not B's order
    assert order.get_json()["customer_id"] != b_customer
    customer = api.post(
        "/customers", json={"external_id": "user-b-2", "emails": ["buyer-b@example.com"]}
    )
    assert customer.status_code == 201  # B's e-mail is no conflict in A
    assert rows_of(b_tenant) == before
    assert api.get("/orders/SO-a").status_code == 200


def test_the_keys_page_of_another_shop_cannot_see_or_revoke_a_key(client, api, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    a_key_id = a.api_key.id
    login(client, b.owner)
    page = client.get("/console/settings/api-keys/").get_data(True)
    assert "Shop a server" not in page and "Shop b server" in page
    assert client.get(f"/console/settings/api-keys/{a_key_id}/revoke").status_code == 404
    assert client.post(f"/console/settings/api-keys/{a_key_id}/revoke").status_code == 404
    assert api.get("/customers").status_code == 200  # A's key still works
    assert error_of(api.get("/customers", token=b.api_token + "x"))[0] == 401
