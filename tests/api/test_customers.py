"""Customers through the API: create, read, change, list with filters and cursors, timeline."""

import json

from sqlalchemy import func, select

from app.crm import service as crm
from app.crm.models import Customer, CustomerPhone
from tenants.db import bind_tenant, db

from .conftest import error_of


def count_customers(tenant_id: int) -> int:
    bind_tenant(tenant_id)
    count = db.scalar(select(func.count(Customer.id)))
    bind_tenant(None)
    return count


def test_create_read_and_change_a_customer(api, two_tenants):
    a = two_tenants.a
    created = api.post(
        "/customers",
        json={
            "name": "  Li   Lei ",
            "external_id": 1001,
            "phones": ["139 1234 5678"],
            "emails": ["Li.Lei@Example.com"],
            "tags": ["wholesale"],
            "fields": {"level": "silver"},
            "owner_id": a.agent.id,
            "company": "Lei Tea",
        },
    )
    assert created.status_code == 201
    body = created.get_json()
    assert created.headers["Location"] == f"/api/v1/customers/{body['id']}"
    assert body["name"] == "Li Lei" and body["external_id"] == "1001"
    assert body["phones"] == ["+8613912345678"] and body["emails"] == ["li.lei@example.com"]
    assert body["owner"] == {"id": a.agent.id, "name": "Agent a", "email": "agent-a@example.com"}
    assert body["source"] == "api" and body["revenue"] == "0.00" and body["merged_into"] is None
    assert api.get(f"/customers/{body['id']}").get_json() == body

    changed = api.patch(
        f"/customers/{body['id']}",
        json={"tags": ["wholesale", "vip"], "fields": {"level": None}, "owner_id": None},
    )
    assert changed.status_code == 200
    after = changed.get_json()
    assert after["tags"] == ["vip", "wholesale"] and after["fields"] == {}
    assert after["owner"] is None and after["name"] == "Li Lei"  # keys left out are kept


def test_a_known_external_id_or_phone_is_a_409_naming_the_customer(api, two_tenants):
    a = two_tenants.a
    tenant_id, customer_id = a.tenant.id, a.customer.id  # kept: a refused request expires rows
    before = count_customers(tenant_id)
    taken = api.post("/customers", json={"external_id": "user-a", "name": "Again"})
    assert error_of(taken) == (409, "external_id_taken", "external_id")
    assert taken.get_json()["customer_id"] == customer_id
    phone = api.post("/customers", json={"name": "X", "phones": ["+86 138 0000 0000"]})
    assert error_of(phone) == (409, "phone_taken", "phones")
    assert phone.get_json()["customer_id"] == customer_id
    assert count_customers(tenant_id) == before


def test_bad_input_is_a_422_naming_the_field_and_stores_nothing(api, two_tenants):
    a = two_tenants.a
    tenant_id, customer_id = a.tenant.id, a.customer.id
    before = count_customers(tenant_id)
    cases = [
        ({"name": "X", "phones": ["12345"]}, "phone_invalid", "phones"),
        ({"name": "X", "emails": ["not-an-email"]}, "email_invalid", "emails"),
        ({"name": "X", "fields": {"shoe_size": 42}}, "field_unknown", "fields"),
        ({"name": "X", "fields": {"level": "platinum"}}, "choice_invalid", "fields.level"),
        ({"name": "X", "phone": "13912345678"}, "key_unknown", "phone"),
        ({"name": "X", "phones": "13912345678"}, "type_invalid", "phones"),
        ({"name": ["X"]}, "type_invalid", "name"),
        ({"name": "X", "owner_id": two_tenants.b.owner.id}, "owner_invalid", "owner_id"),
        ({"name": "X", "owner_id": 2**64}, "type_invalid", "owner_id"),
        ({"name": "X" * 121}, "too_long", "name"),
        ({"company": "Only a company"}, "customer_empty", None),
        ({}, "customer_empty", None),
    ]
    for body, code, field in cases:
        assert error_of(api.post("/customers", json=body)) == (422, code, field), body
    assert count_customers(tenant_id) == before
    # A change that fails halfway leaves the customer as it was.
    refused = api.patch(f"/customers/{customer_id}", json={"name": "Changed", "phones": ["+86 12"]})
    assert error_of(refused) == (422, "phone_invalid", "phones")
    assert api.get(f"/customers/{customer_id}").get_json()["name"] == "Buyer a"


def test_bodies_that_are_not_json_objects(api, two_tenants):
    customer_id = two_tenants.a.customer.id
    for path, method in (("/customers", "POST"), (f"/customers/{customer_id}", "PATCH")):
        form = api.open(method, path, data={"name": "X"})
        assert error_of(form) == (415, "content_type_invalid", None)
        broken = api.open(method, path, data="{name:", content_type="application/json")
        assert error_of(broken) == (400, "json_invalid", None)
        array = api.open(method, path, json=["name"])
        assert error_of(array) == (400, "body_invalid", None)


def test_unknown_and_merged_customers(api, two_tenants):
    a = two_tenants.a
    tenant_id, customer_id = a.tenant.id, a.customer.id
    assert error_of(api.get("/customers/999999")) == (404, "not_found", "customer_id")
    assert api.get(f"/customers/{2**64}").status_code == 404  # past any id: no such route
    assert error_of(api.patch("/customers/999999", json={})) == (404, "not_found", "customer_id")
    twin = api.post("/customers", json={"name": "Buyer a (twin)"}).get_json()
    bind_tenant(tenant_id)
    crm.merge(crm.customer_or_404(customer_id), crm.customer_or_404(twin["id"]))
    db.commit()
    bind_tenant(None)
    merged = api.get(f"/customers/{twin['id']}").get_json()
    assert merged["merged_into"] == customer_id
    refused = api.patch(f"/customers/{twin['id']}", json={"name": "X"})
    assert error_of(refused) == (409, "customer_merged", None)
    assert refused.get_json()["merged_into"] == customer_id
    listed = {c["id"] for c in api.get("/customers").get_json()["data"]}
    assert twin["id"] not in listed and customer_id in listed


def test_the_cursor_walks_every_customer_once(api, two_tenants):
    made = [api.post("/customers", json={"name": f"Walker {i:02}"}).get_json() for i in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = api.get("/customers", query_string=params)
        page = response.get_json()
        assert len(page["data"]) <= 3
        seen += [c["id"] for c in page["data"]]
        pages += 1
        # a customer changed during the walk neither repeats nor drops out
        if pages == 1:
            api.patch(f"/customers/{page['data'][0]['id']}", json={"tags": ["moved"]})
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 8  # shop A's customer and the seven
    assert set(seen) >= {c["id"] for c in made} and pages == 3
    assert seen == sorted(seen)


def test_filters_and_search(api, two_tenants):
    a = two_tenants.a
    api.post("/customers", json={"name": "Wang Fang", "tags": ["vip"], "phones": ["13711112222"]})
    api.post("/customers", json={"name": "Zhao Min", "emails": ["zhao@example.com"]})

    def names(**params):
        response = api.get("/customers", query_string=params)
        assert response.status_code == 200, response.get_json()
        return sorted(c["name"] for c in response.get_json()["data"])

    assert names(q="wang") == ["Wang Fang"]
    assert names(q="137 1111") == ["Wang Fang"]
    assert names(q="zhao@") == ["Zhao Min"]
    assert names(q="user-a") == ["Buyer a"]
    assert names(tag="vip") == ["Buyer a", "Wang Fang"]
    assert names(has_ordered="true") == ["Buyer a"]
    assert names(has_ordered="false") == ["Wang Fang", "Zhao Min"]
    assert names(owner_id="none", tag="vip") == ["Buyer a", "Wang Fang"]
    later = api.get("/customers", query_string={"q": "zhao"}).get_json()["data"][0]["updated_at"]
    assert "Zhao Min" in names(updated_since=later)
    assert names(updated_since="2999-01-01T00:00:00+08:00") == []
    assert a.customer.name == "Buyer a"


def test_bad_list_parameters_are_refused_not_ignored(api):
    for params, code, field in (
        ({"limit": 0}, "limit_invalid", "limit"),
        ({"limit": 101}, "limit_invalid", "limit"),
        ({"limit": "ten"}, "limit_invalid", "limit"),
        ({"cursor": "garbage!"}, "cursor_invalid", "cursor"),
        ({"cursor": "WyJ4Il0"}, "cursor_invalid", "cursor"),  # ["x"]: not an id
        ({"cursor": "WzE4NDQ2NzQ0MDczNzA5NTUxNjE2XQ"}, "cursor_invalid", "cursor"),  # [2**64]
        ({"owner_id": str(2**64)}, "owner_invalid", "owner_id"),
        ({"tags": "vip"}, "param_unknown", "tags"),
        ({"has_ordered": "maybe"}, "filter_invalid", "has_ordered"),
        ({"ordered_after": "22/11/2026"}, "date_invalid", "ordered_after"),
        ({"updated_since": "2026-11-22T10:00:00"}, "datetime_invalid", "updated_since"),
    ):
        assert error_of(api.get("/customers", query_string=params)) == (422, code, field), params


def test_the_timeline_pages_newest_first(api, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    customer = crm.customer_or_404(a.customer.id)
    for i in range(5):
        crm.add_note(customer, a.owner.id, f"note {i}")
    db.commit()
    bind_tenant(None)
    entries, params = [], {"limit": 4}
    while True:
        page = api.get(f"/customers/{a.customer.id}/timeline", query_string=params).get_json()
        entries += page["data"]
        params["cursor"] = page["next_cursor"]
        if not params["cursor"]:
            break
    ids = [e["id"] for e in entries]
    # chat, left message, order, note, the missed call (make_calls) + five notes
    assert len(ids) == len(set(ids)) == 10
    moments = [e["occurred_at"] for e in entries]
    assert moments == sorted(moments, reverse=True)
    order = next(e for e in entries if e["kind"] == "order")
    assert order["data"]["total"] == "99.50" and order["summary"] == "SO-a"
    note = next(e for e in entries if e["summary"] == "note 4")
    assert note["author"]["email"] == "owner-a@example.com"
    bad = api.get(f"/customers/{a.customer.id}/timeline", query_string={"cursor": "WzEsMl0"})
    assert error_of(bad) == (422, "cursor_invalid", "cursor")
    missing = api.get("/customers/999999/timeline")
    assert error_of(missing) == (404, "not_found", "customer_id")


def test_phones_are_stored_in_e164_for_the_shops_country(api, two_tenants):
    a = two_tenants.a
    body = api.post("/customers", json={"name": "US buyer", "phones": ["+1 (415) 555-2671"]})
    assert body.get_json()["phones"] == ["+14155552671"]
    bind_tenant(a.tenant.id)
    stored = db.scalar(select(CustomerPhone.e164).where(CustomerPhone.e164.like("+1415%")))
    bind_tenant(None)
    assert stored == "+14155552671"


def test_blank_values_count_as_none_given(api, two_tenants):
    a = two_tenants.a
    tenant_id, customer_id = a.tenant.id, a.customer.id
    before = count_customers(tenant_id)
    for body in (
        {"name": "   "},
        {"phones": ["", ""]},
        {"emails": [" "], "phones": ["  "], "external_id": " ", "company": "Tea Ltd"},
    ):
        assert error_of(api.post("/customers", json=body)) == (422, "customer_empty", None), body
    assert count_customers(tenant_id) == before
    named = api.post("/customers", json={"name": "Blank Phones", "phones": ["", " "]})
    assert named.status_code == 201 and named.get_json()["phones"] == []
    # a change may not take away the last thing that names a customer
    blanked = {"name": " ", "external_id": "", "phones": [""], "emails": []}
    refused = api.patch(f"/customers/{customer_id}", json=blanked)
    assert error_of(refused) == (422, "customer_empty", None)
    kept = api.get(f"/customers/{customer_id}").get_json()
    assert kept["name"] == "Buyer a" and kept["phones"] == ["+8613800000000"]
    assert api.patch(f"/customers/{customer_id}", json={"name": " "}).status_code == 200


def test_lists_longer_than_the_document_allows_are_refused(api, two_tenants):
    for key, most in (("phones", 10), ("emails", 10), ("tags", 30)):
        body = {"name": "Many", key: [""] * (most + 1)}
        assert error_of(api.post("/customers", json=body)) == (422, "too_many", key)
    many = {"status": "paid", "items": [{"name": "tea"}] * 201}
    assert error_of(api.patch("/orders/SO-a", json=many)) == (422, "too_many", "items")


def test_a_whole_number_sent_as_7_0_is_an_integer(api, two_tenants):
    # JSON Schema (and so the document) counts 7.0 as an integer
    a = two_tenants.a
    created = api.post("/customers", json={"name": "Float", "owner_id": float(a.agent.id)})
    assert created.status_code == 201 and created.get_json()["owner"]["id"] == a.agent.id
    order = api.patch("/orders/SO-a", json={"items": [{"name": "tea", "quantity": 2.0}]})
    assert order.status_code == 200 and order.get_json()["items"][0]["quantity"] == 2
    half = api.patch("/orders/SO-a", json={"items": [{"name": "tea", "quantity": 2.5}]})
    assert error_of(half) == (422, "type_invalid", "items[0].quantity")


def test_query_parameters_are_given_once_and_not_empty(api):
    for query, code, field in (
        ("updated_since=", "datetime_invalid", "updated_since"),
        ("ordered_after=", "date_invalid", "ordered_after"),
        ("has_ordered=", "filter_invalid", "has_ordered"),
        ("limit=", "limit_invalid", "limit"),
        ("limit=5&limit=50", "param_repeated", "limit"),
        ("tag=vip&tag=new", "param_repeated", "tag"),
        ("limit=%C2%B2", "limit_invalid", "limit"),  # "²" is a digit to str.isdigit()
        ("owner_id=%C2%B2", "owner_invalid", "owner_id"),
        ("owner_id=-1", "owner_invalid", "owner_id"),
    ):
        assert error_of(api.get(f"/customers?{query}")) == (422, code, field), query
    assert api.get("/customers?limit=5&owner_id=none").status_code == 200


def test_of_several_faults_the_answer_names_the_first(api):
    """The shape of the body first, in the order it gives its keys; then the rules. (Sent as
    text: the test client's ``json=`` sorts the keys.)"""
    for body, code, field in (
        ({"nmae": "X", "name": 5}, "key_unknown", "nmae"),
        ({"name": 5, "nmae": "X"}, "type_invalid", "name"),
        ({"name": "X" * 121, "phones": "13912345678"}, "type_invalid", "phones"),
        ({"phones": ["12345"], "name": "X" * 121}, "too_long", "name"),
        ({"tags": ["t"] * 31, "name": 5}, "too_many", "tags"),
    ):
        sent = api.post("/customers", data=json.dumps(body), content_type="application/json")
        assert error_of(sent) == (422, code, field), body
