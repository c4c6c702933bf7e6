"""The one error shape for Flask's own errors too, and the per-key rate limit."""

import pytest

from app.crm import service as crm
from app.extensions import limiter

from ..conftest import make_test_app
from .conftest import Api, error_of


def test_unknown_paths_and_methods_answer_the_error_shape(api):
    assert error_of(api.get("/nothing-here")) == (404, "not_found", None)
    assert error_of(api.get("/nothing-here", token=None)) == (404, "not_found", None)
    wrong = api.open("DELETE", "/customers")
    assert error_of(wrong) == (405, "method_not_allowed", None)
    assert set(wrong.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert wrong.is_json


def test_a_body_over_a_megabyte_is_a_413(api):
    huge = '{"name": "' + "x" * (1024 * 1024) + '"}'
    response = api.post("/customers", data=huge, content_type="application/json")
    assert error_of(response) == (413, "body_too_large", None)


def test_a_crash_is_a_500_in_the_error_shape(api, monkeypatch):
    def broken(params):
        raise RuntimeError("the database fell over")

    monkeypatch.setattr(crm, "search", broken)
    response = api.get("/customers")
    assert error_of(response) == (500, "server_error", None)
    assert "fell over" not in response.get_data(True)


def test_messages_follow_accept_language(api):
    chinese = api.get("/customers", token=None, headers={"Accept-Language": "zh-CN"})
    english = api.get("/customers", token=None, headers={"Accept-Language": "en"})
    assert chinese.get_json()["error"] == english.get_json()["error"] == "api_key_missing"
    assert english.get_json()["message"].startswith("Send your API key")


@pytest.fixture
def tiny_limit_app():
    app = make_test_app(API_RATE_LIMIT="3 per minute")
    yield app
    limiter.reset()


def test_each_key_has_its_own_budget_and_a_429_says_when_to_retry(
    tiny_limit_app, dbsession, two_tenants
):
    client = tiny_limit_app.test_client()
    a, b = Api(client, two_tenants.a.api_token), Api(client, two_tenants.b.api_token)
    answers = [
        a.get("/customers"),
        a.get(f"/customers/{two_tenants.a.customer.id}"),
        a.post("/orders", json={"order_id": "SO-a", "status": "paid"}),
    ]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert answers[-1].headers["X-RateLimit-Remaining"] == "0"
    refused = a.get("/orders/SO-a")  # the budget is the key's, across every endpoint
    assert error_of(refused) == (429, "rate_limited", None)
    assert refused.get_json()["limit"] == "3 per 1 minute"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert b.get("/customers").status_code == 200  # another shop's key is not affected
    assert a.get("/openapi.json", token=None).status_code == 200  # the document is not limited


def test_an_id_past_any_row_is_a_404_on_every_method_of_its_path(api):
    huge = "1" + "0" * 29  # 30 digits: past any id, and past what SQLite can compare
    for method, path in (
        ("GET", f"/customers/{huge}"),
        ("PATCH", f"/customers/{huge}"),
        ("GET", f"/customers/{huge}/timeline"),
    ):
        response = api.open(method, path, json={"name": "X"})
        assert error_of(response) == (404, "not_found", "customer_id"), (method, path)
    wrong = api.open("DELETE", f"/customers/{huge}")
    assert error_of(wrong) == (405, "method_not_allowed", None)
    assert set(wrong.headers["Allow"].split(", ")) >= {"GET", "PATCH"}


def test_a_refusal_carries_exactly_its_parameters(api, two_tenants):
    """The whole body of a 422: code, field, message, and only the parameters of its code."""
    with_order = {"order_id": "SO-a"}
    for method, path, body, params in (
        ("POST", "/customers", {"name": "X" * 121}, {"max": 120}),
        ("POST", "/customers", {"name": 5}, {"expected": "string"}),
        ("POST", "/customers", {"nmae": "X"}, {"key": "nmae"}),
        ("POST", "/customers", {"phones": ["12345"]}, {"value": "12345"}),
        ("POST", "/customers", {"tags": [""] * 31}, {"max": 30}),
        ("POST", "/orders", {**with_order, "status": "x" * 33}, {}),
        (
            "POST",
            "/orders",
            {**with_order, "items": [{"name": "t", "quantity": 0}]},
            {"max": 1_000_000},
        ),
        ("PATCH", "/orders/SO-a", {"items": [{"quantity": 1}]}, {}),
        ("GET", "/customers?limit=0", None, {"max": 100}),
        ("GET", "/customers?cursor=x", None, {}),
    ):
        answer = api.open(method, path, json=body).get_json()
        assert answer.pop("message") and answer.pop("error") and "field" in answer
        answer.pop("field")
        assert answer == params, (method, path, body)
