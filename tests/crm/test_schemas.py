"""The customer's shape and field rules, declared once (app/crm/schemas.py): what a valid
customer becomes, and the code, field and limit each broken rule answers."""

import pytest

from app.crm import service as crm
from app.crm.schemas import MAX_TAGS, CustomerInput, OrderInput
from app.schemas import checked
from tenants.db import bind_tenant
from tenants.errors import ServiceError


def refusal(model, data, region="CN") -> tuple:
    with pytest.raises(ServiceError) as refused:
        checked(model, data, {"region": region})
    return refused.value.code, refused.value.field, refused.value.params


def test_a_customer_is_normalised_as_it_is_stored():
    customer = checked(
        CustomerInput,
        {
            "name": "  Li   Lei ",
            "external_id": 1001,
            "phones": ["(415) 555-2671", "", "+1 415 555 2671", "+86 139 1234 5678"],
            "emails": ["Li.Lei@Example.com", " ", "li.lei@example.com"],
            "tags": ["  big   spender ", "x" * 50, "", "big spender"],
            "owner_id": 7.0,
        },
        {"region": "US"},  # the shop's country reads a number without a country code
    )
    assert customer.model_dump(exclude_unset=True) == {
        "name": "Li Lei",
        "external_id": "1001",
        "phones": ["+14155552671", "+8613912345678"],
        "emails": ["li.lei@example.com"],
        "tags": ["big spender", "x" * 40],
        "owner_id": 7,
    }
    # spaces collapse before a name's length is counted: 180 characters sent, 119 kept
    assert checked(CustomerInput, {"name": "X  " * 60}).name == " ".join(["X"] * 60)
    blank = checked(CustomerInput, {"external_id": "  ", "company": " Tea ", "name": None})
    assert blank.model_dump(exclude_unset=True) == {
        "external_id": None,
        "company": "Tea",
        "name": None,
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"name": "X" * 121}, ("too_long", "name", {"max": 120})),
        ({"company": "X" * 201}, ("too_long", "company", {"max": 200})),
        ({"external_id": "x" * 129}, ("too_long", "external_id", {"max": 128})),
        ({"phones": [""] * 11}, ("too_many", "phones", {"max": 10})),
        ({"tags": ["t"] * 31}, ("too_many", "tags", {"max": 30})),
        ({"phones": ["13912345678", "12345"]}, ("phone_invalid", "phones", {"value": "12345"})),
        ({"emails": ["a@"]}, ("email_invalid", "emails", {"value": "a@"})),
        ({"owner_id": 0}, ("owner_invalid", "owner_id", {})),
        ({"owner_id": 2**64}, ("type_invalid", "owner_id", {"expected": "integer"})),
        ({"owner_id": True}, ("type_invalid", "owner_id", {"expected": "integer"})),
        ({"owner_id": "7"}, ("type_invalid", "owner_id", {"expected": "integer"})),
        ({"phones": ["1", 2]}, ("type_invalid", "phones", {"expected": "array of strings"})),
        (
            {"fields": {"level": False}},
            ("type_invalid", "fields", {"expected": "object of strings and numbers"}),
        ),
        ({"external_id": 1.5}, ("type_invalid", "external_id", {"expected": "string or integer"})),
        ({"shoe_size": 42}, ("key_unknown", "shoe_size", {"key": "shoe_size"})),
    ],
)
def test_each_rule_answers_its_code_field_and_limit(data, expected):
    assert refusal(CustomerInput, data) == expected


def test_an_orders_refusals_name_the_nested_field():
    order = {"order_id": "SO-1", "customer": {"external_id": "u-1"}}
    assert refusal(OrderInput, {**order, "items": [{"name": "Tea", "sku": "T1"}]}) == (
        "key_unknown",
        "items[0].sku",
        {"key": "items[0].sku"},
    )
    assert refusal(OrderInput, {**order, "items": [{"quantity": 1}]}) == (
        "items_invalid",
        "items",
        {},
    )
    assert refusal(OrderInput, {**order, "customer": {"mobile": "1"}})[:2] == (
        "key_unknown",
        "customer.mobile",
    )
    assert refusal(OrderInput, {"customer": {}}) == ("required", "order_id", {})


def test_the_service_saves_what_the_model_allows_and_counts_a_repeated_entry_once(two_tenants):
    """save_customer (every caller: the API, the console, the import, recognition) checks a
    customer with the model; a console form adding a tag it has counts it once."""
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    customer = crm.customer_or_404(a.customer.id)
    tags = [f"tag {i}" for i in range(MAX_TAGS)]
    crm.save_customer(customer, {"tags": tags, "owner_id": str(a.agent.id), "name": None})
    crm.save_customer(customer, {"tags": [*tags, tags[0]]})
    assert sorted(t.tag for t in customer.tags) == sorted(tags)
    assert (customer.owner_id, customer.name) == (a.agent.id, "")  # the form's text; null: none
    for data, expected in (
        ({"tags": [*tags, "one more"]}, ("too_many", "tags")),
        ({"name": "X" * 121}, ("too_long", "name")),
        ({"phones": ["12345"]}, ("phone_invalid", "phones")),
        ({"company": 5}, ("type_invalid", "company")),
    ):
        with pytest.raises(ServiceError) as refused:
            crm.save_customer(customer, data)
        assert (refused.value.code, refused.value.field) == expected
    bind_tenant(None)
