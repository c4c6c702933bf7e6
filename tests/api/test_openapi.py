"""The OpenAPI document is valid, names exactly the app's routes, and every answer it
describes is produced by the real endpoints and matches it (see conftest.conform)."""

import re
from datetime import timedelta

from openapi_spec_validator import validate

from app.api import keys
from app.api.openapi import document, operations
from app.crm import service as crm
from app.messages import MESSAGES
from tenants.db import bind_tenant, utcnow
from tenants.work import unit_of_work

from ..conftest import set_tenant
from .conftest import BASE, CHECKED, path_template

METHODS = {"get", "post", "patch", "put", "delete"}


def test_the_document_is_valid_openapi_3_1():
    validate(document())
    assert document()["openapi"] == "3.1.0"


def test_the_document_and_the_routes_name_the_same_operations(app):
    routes = {
        (re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule.removeprefix(BASE)), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(BASE + "/")
        for method in rule.methods & {m.upper() for m in METHODS}
    }
    documented = {
        (path, method)
        for path, item in document()["paths"].items()
        for method in item.keys() & METHODS
    }
    assert routes == documented


def test_the_served_document_is_the_one_tested(api):
    assert api.get("/openapi.json", token=None).get_json() == document()


def documented_answers() -> set[tuple[str, str, int]]:
    answers = set()
    for path, item in document()["paths"].items():
        for method in item.keys() & METHODS:
            answers |= {(path, method, int(status)) for status in item[method]["responses"]}
    return answers


def test_every_documented_answer_is_given_by_the_real_api(app, api, two_tenants, monkeypatch):
    a = two_tenants.a
    CHECKED.clear()  # what this walk alone shows
    customer_id = a.customer.id
    other = api.post("/customers", json={"name": "Other", "phones": ["13722223333"]}).get_json()
    robot_entry = {"external_id": "walk", "question": "Walk?", "answer": "Yes."}
    stored = api.post("/robot/entries", json=[{"question": "Gone?", "answer": "Soon."}])
    other_entry = stored.get_json()["data"][0]["id"]
    # method, path, a body that works, a body that breaks a rule
    operations = [
        ("GET", "/customers", None, None),
        ("POST", "/customers", {"name": "Walk"}, {"name": "X", "emails": ["x"]}),
        ("GET", f"/customers/{customer_id}", None, None),
        ("PATCH", f"/customers/{customer_id}", {"company": "Walk Ltd"}, {"tags": "vip"}),
        ("GET", f"/customers/{customer_id}/timeline", None, None),
        ("POST", "/orders", {"order_id": "W-1", "customer": {"phone": "13800000000"}}, {}),
        ("GET", "/orders/SO-a", None, None),
        ("PATCH", "/orders/SO-a", {"status": "paid"}, {"status": 7}),
        ("GET", "/calls", None, None),
        ("GET", f"/calls/{a.call.id}", None, None),
        ("GET", "/robot/entries", None, None),
        ("POST", "/robot/entries", [robot_entry], [{"question": "Q"}]),
        ("GET", f"/robot/entries/{a.robot_entry.id}", None, None),
        ("PATCH", f"/robot/entries/{a.robot_entry.id}", {"category": "c"}, {"answer": " "}),
        ("POST", "/robot/answer", {"question": "Do you ship abroad?"}, {"question": 5}),
        ("DELETE", f"/robot/entries/{other_entry}", None, None),
        ("GET", "/analytics/funnel", None, None),
        ("GET", "/analytics/volume", None, None),
        ("GET", "/analytics/team", None, None),
    ]
    for method, path, good, bad in operations:
        assert api.open(method, path, json=good).status_code in (200, 201)
        assert api.open(method, path, token=None, json=good).status_code == 401
        assert api.open(method, path, query_string={"limit": 0}, json=good).status_code == 422
        nul = api.open(method, path, query_string={"limit": "1\x00"}, json=good)
        assert nul.status_code == 400 and nul.get_json()["error"] == "text_invalid"
        if method not in ("GET", "DELETE"):
            assert api.open(method, path, json=bad).status_code == 422
            assert (
                api.open(method, path, data="{", content_type="application/json").status_code == 400
            )
            assert api.open(method, path, data={"a": "b"}).status_code == 415
            huge = "[" + "0," * 600_000 + "0]"
            assert (
                api.open(method, path, data=huge, content_type="application/json").status_code
                == 413
            )
        if "/customers/" in path or "/orders/" in path or "/calls/" in path or "/entries/" in path:
            missing = re.sub(r"/(\d+|SO-a)", "/999999", path, count=1)
            assert api.open(method, missing, json=good).status_code == 404
    assert api.post("/orders", json=operations[5][2]).status_code == 200  # known: 200
    assert api.post("/customers", json={"external_id": "user-a"}).status_code == 409
    taken = {"external_id": "walk"}
    assert api.patch(f"/robot/entries/{a.robot_entry.id}", json=taken).status_code == 409
    taken = {"phones": other["phones"]}
    assert api.patch(f"/customers/{customer_id}", json=taken).status_code == 409

    with monkeypatch.context() as patched:
        patched.setitem(app.config, "API_RATE_LIMIT", "1 per hour")
        patched.setitem(app.config, "API_ASK_RATE_LIMIT", "1 per hour")
        for method, path, good, _ in operations:
            api.open(method, path, json=good)
            assert api.open(method, path, json=good).status_code == 429

    def crash(_key):
        raise RuntimeError("boom")

    with monkeypatch.context() as patched:
        patched.setattr(keys, "mark_used", crash)
        for method, path, good, _ in operations:
            assert api.open(method, path, json=good).status_code == 500

    set_tenant(a, trial_ends_at=utcnow() - timedelta(seconds=1))
    for method, path, good, _ in operations:
        assert api.open(method, path, json=good).status_code == 402
    set_tenant(a, trial_ends_at=utcnow() + timedelta(days=1), status="suspended")
    for method, path, good, _ in operations:
        assert api.open(method, path, json=good).status_code == 403

    assert api.get("/openapi.json", token=None).status_code == 200
    missed = documented_answers() - CHECKED
    assert not missed, f"documented but never answered: {sorted(missed)}"
    assert path_template("/orders/SO-a") == "/orders/{order_id}"


def test_every_error_code_the_document_names_is_worded():
    """Each operation's 422 lists its codes, read from its models and its service rules
    (conform() holds every real answer to that list); each is a code with a message, and
    the rules beyond the schema are among them."""
    described = set()
    for op in operations():
        answers = document()["paths"][op.path][op.method]["responses"]
        if op.public:
            assert "422" not in answers and not op.unprocessable
            continue
        schema = answers["422"]["content"]["application/json"]["schema"]
        codes = set(schema["properties"]["error"]["enum"])
        assert op.beyond_the_schema <= codes == op.unprocessable, op.operation_id
        assert codes <= MESSAGES.keys(), codes - MESSAGES.keys()
        described.add(op.operation_id)
    assert len(described) == 19


def test_every_422_code_the_document_names_is_answered_by_the_real_api(api, two_tenants):
    """The codes are read from the models and the views' lists of service rules: none may
    be one the API never answers (conform() already fails on one it answers unnamed)."""
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    with unit_of_work():
        crm.save_custom_field(None, "size", "Size", "number")
        crm.save_custom_field(None, "born", "Born", "date")
    bind_tenant(None)
    customer = f"/customers/{a.customer.id}"
    customer_bodies = [
        {"nmae": "X"},
        {"name": 5},
        {"tags": ["t"] * 31},
        {"name": "X" * 121},
        {"phones": ["12345"]},
        {"emails": ["nope"]},
        {"owner_id": 0},
        {"fields": {"shoe": 1}},
        {"fields": {"size": "big"}},
        {"fields": {"born": "someday"}},
        {"fields": {"level": "platinum"}},
        {"name": " ", "external_id": "", "phones": [""], "emails": []},
    ]
    new_order = {"order_id": "N-1", "customer": {"external_id": "user-a"}}
    order_bodies = [
        {"order_id": "N-1", "sku": 1},
        {"order_id": True},
        {"order_id": "N-1", "items": [{"name": "t"}] * 201},
        {**new_order, "total": "1e3"},
        {"order_id": "SO-a", "status": " "},
        {**new_order, "items": [{"name": " "}]},
        {**new_order, "items": [{"name": "t", "quantity": 0}]},
        {"order_id": " "},
        {**new_order, "currency": "yuan"},
        {**new_order, "placed_at": "yesterday"},
        {"order_id": "N-1"},
        {"order_id": "N-1", "customer": {"external_id": "x" * 129}},
        {"order_id": "N-1", "customer": {"phone": "12"}},
        {"order_id": "N-1", "customer": {"email": "nope"}},
    ]
    change_bodies = [
        {"sku": 1},
        {"status": 7},
        {"items": [{"name": "t"}] * 201},
        {"total": "1e3"},
        {"status": ""},
        {"items": [{"quantity": 1}]},
        {"items": [{"name": "t", "quantity": 0}]},
    ]
    # per operation: its query string and body for each refusal to provoke
    requests = {
        ("GET", "/customers"): [
            (q, None)
            for q in (
                "x=1",
                "tag=a&tag=b",
                "limit=0",
                "cursor=garbage!",
                "owner_id=-1",
                "has_ordered=maybe",
                "ordered_after=22/11/2026",
                "updated_since=2026-11-22T10:00:00",
            )
        ],
        ("POST", "/customers"): [("x=1", {"name": "X"})] + [("", b) for b in customer_bodies],
        ("GET", customer): [("x=1", None)],
        ("PATCH", customer): [("x=1", {})] + [("", b) for b in customer_bodies],
        ("GET", f"{customer}/timeline"): [
            (q, None) for q in ("x=1", "limit=1&limit=2", "limit=101", "cursor=WyJ4Il0")
        ],
        ("POST", "/orders"): [("x=1", new_order)] + [("", b) for b in order_bodies],
        ("GET", "/orders/SO-a"): [("x=1", None)],
        ("PATCH", "/orders/SO-a"): [("x=1", {})] + [("", b) for b in change_bodies],
        ("GET", "/calls"): [
            (q, None)
            for q in (
                "x=1",
                "status=missed&status=ended",
                "limit=0",
                "cursor=garbage!",
                "from=2026-02-30",
                "to=2026-11-22T10:00:00",
                "direction=sideways",
                "from=2026-12-02&to=2026-12-01",
            )
        ],
        ("GET", f"/calls/{a.call.id}"): [("x=1", None)],
        ("GET", "/analytics/funnel"): [
            (q, None)
            for q in (
                "x=1",
                "by=channel&by=keyword",
                "from=2026-02-30",
                "from=2026-12-05&to=2026-12-01",
                "from=2024-01-01&to=2026-12-01",
                "by=city",
                "model=linear",
            )
        ],
        ("GET", "/analytics/volume"): [
            (q, None)
            for q in (
                "x=1",
                "to=2026-12-01&to=2026-12-02",
                "from=2026-02-30",
                "from=2026-12-02&to=2026-12-01",
                "from=2025-01-01&to=2026-12-01",
            )
        ],
        ("GET", "/analytics/team"): [
            (q, None)
            for q in (
                "x=1",
                "from=2026-12-01&from=2026-12-02",
                "from=2026-02-30",
                "from=2026-12-02&to=2026-12-01",
                "from=2025-01-01&to=2026-12-01",
            )
        ],
    }
    documented = {(op.path, op.method): op.unprocessable for op in operations()}
    for (method, path), cases in requests.items():
        answered = set()
        for query, body in cases:
            response = api.open(method, f"{path}?{query}", json=body)
            assert response.status_code == 422, (method, path, query, body)
            answered.add(response.get_json()["error"])
        template = path_template(path)
        assert answered == documented[template, method.lower()], (method, template)
