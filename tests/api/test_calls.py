"""The call log through the API: GET /calls with its filters and cursor, GET /calls/{id}; the
calls feature's own gate; another shop's calls never found. Every answer is also held to the
OpenAPI document (tests/api/conftest.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from app.calls.models import Call
from tenants.db import bind_tenant, db, utcnow

from ..conftest import set_tenant
from .conftest import error_of


def add_call(shop, at: datetime, **fields) -> int:
    bind_tenant(shop.tenant.id)
    values = {
        "connection_id": shop.call_connection.id,
        "call_ref": uuid.uuid4().hex,
        "from_number": "+8613900000001",
        "to_number": "+862160000000",
        "customer_number": "+8613900000001",
        "status": "ended",
        "started_at": at,
    }
    call = Call(**{**values, **fields})
    db.add(call)
    db.commit()
    bind_tenant(None)
    return call.id


def ids(api, **params) -> list[int]:
    response = api.get("/calls", query_string=params)
    assert response.status_code == 200, response.get_json()
    return [c["id"] for c in response.get_json()["data"]]


def test_a_call_reads_as_its_record_says(api, two_tenants):
    a = two_tenants.a
    answered = add_call(
        a,
        datetime(2026, 12, 7, 1, 0, tzinfo=UTC),
        answered_at=datetime(2026, 12, 7, 1, 0, 10, tzinfo=UTC),
        ended_at=datetime(2026, 12, 7, 1, 1, 45, tzinfo=UTC),
        duration=95,
        agent_id=a.agent.id,
        agent_ref="801",
        cause="normalClearing",
        recording_url="https://pbx.example/rec/1.mp3",
        outcome="sale",
        notes="wants the green tea",
    )
    body = api.get(f"/calls/{answered}").get_json()
    assert body == {
        "id": answered,
        "call_ref": body["call_ref"],
        "kind": "call",
        "direction": "in",
        "status": "ended",
        "number": "+8613900000001",
        "from_number": "+8613900000001",
        "to_number": "+862160000000",
        "customer_id": None,
        "agent": {"id": a.agent.id, "name": "Agent a", "email": "agent-a@example.com"},
        "agent_ref": "801",
        "started_at": "2026-12-07T01:00:00Z",
        "answered_at": "2026-12-07T01:00:10Z",
        "ended_at": "2026-12-07T01:01:45Z",
        "duration": 95,
        "cause": "normalClearing",
        "recording_url": "https://pbx.example/rec/1.mp3",
        "outcome": "sale",
        "notes": "wants the green tea",
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    missed = api.get(f"/calls/{a.call.id}").get_json()  # make_shop's, from the customer
    assert (missed["status"], missed["customer_id"], missed["agent"]) == (
        "missed",
        a.customer.id,
        None,
    )
    assert missed["recording_url"] is None and missed["duration"] is None


def test_the_list_walks_every_call_once_in_id_order(api, two_tenants):
    a = two_tenants.a
    made = [a.call.id] + [
        add_call(a, datetime(2026, 12, 7, tzinfo=UTC) - timedelta(minutes=n)) for n in range(6)
    ]
    seen, params = [], {"limit": 4}
    while True:
        page = api.get("/calls", query_string=params).get_json()
        seen += [c["id"] for c in page["data"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == sorted(made)
    assert ids(api) == sorted(made)  # 20 a page by default


def test_each_filter_names_its_calls(api, two_tenants):
    a = two_tenants.a
    at = datetime(2026, 12, 7, 12, tzinfo=UTC)
    out = add_call(a, at, direction="out", customer_number="+12015550123", status="missed")
    busy = add_call(a, at + timedelta(hours=1), status="busy")
    assert ids(api, direction="out") == [out]
    assert ids(api, direction="in") == [a.call.id, busy]
    assert ids(api, status="missed") == [a.call.id, out]
    assert ids(api, status="busy") == [busy]
    assert ids(api, number="+1 201") == [out]
    assert ids(api, number="13800000000") == [a.call.id]  # national, as in the console
    assert ids(api, number="139", status="busy") == [busy]
    assert ids(api, number="137") == []


def test_from_and_to_take_the_shops_days_or_moments(api, two_tenants):
    a = two_tenants.a  # Asia/Shanghai; make_shop's call started 2026-12-01T10:00Z
    late = add_call(a, datetime(2026, 12, 6, 15, 59, 59, tzinfo=UTC))  # the 6th, 23:59:59
    early = add_call(a, datetime(2026, 12, 6, 16, 0, tzinfo=UTC))  # the 7th, 00:00
    assert ids(api, **{"from": "2026-12-07"}) == [early]
    assert ids(api, to="2026-12-06") == [a.call.id, late]  # the day included
    assert ids(api, **{"from": "2026-12-06", "to": "2026-12-06"}) == [late]
    assert ids(api, **{"from": "2026-12-06T15:59:59Z", "to": "2026-12-06T16:00:00Z"}) == [late]
    assert ids(api, **{"from": "2026-12-07T00:00:00+08:00"}) == [early]
    assert ids(api, **{"from": "0001-01-01", "to": "9999-12-31"}) == [a.call.id, late, early]
    set_tenant(a, timezone="America/New_York")
    assert ids(api, **{"from": "2026-12-06", "to": "2026-12-06"}) == [late, early]


def test_bad_filters_are_refused_naming_them(api, two_tenants):
    for params, refused in (
        ({"from": "2026-02-30"}, ("date_invalid", "from")),
        ({"to": "2026-12-07T10:00:00"}, ("datetime_invalid", "to")),  # no time zone
        ({"from": "2026-12-08", "to": "2026-12-07"}, ("date_range_invalid", "to")),
        (
            {"from": "2026-12-07T10:00:00Z", "to": "2026-12-07T10:00:00Z"},
            ("date_range_invalid", "to"),
        ),
        ({"direction": "IN"}, ("filter_invalid", "direction")),
        ({"status": "lost"}, ("filter_invalid", "status")),
        ({"number": "abc"}, ("filter_invalid", "number")),
        ({"agent": "1"}, ("param_unknown", "agent")),
        ({"limit": "101"}, ("limit_invalid", "limit")),
        ({"cursor": "WyJ4Il0"}, ("cursor_invalid", "cursor")),
    ):
        response = api.get("/calls", query_string=params)
        assert error_of(response) == (422, *refused), params


def test_another_shops_call_is_not_found_and_never_listed(api, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    foreign = api.get(f"/calls/{b.call.id}")
    missing = api.get("/calls/999999")
    assert error_of(foreign) == error_of(missing) == (404, "not_found", "call_id")
    assert foreign.get_json() == missing.get_json()
    assert b.call.id not in ids(api, number="+8613800000000")  # the same caller rang both
    assert ids(api.as_shop(b)) == [b.call.id]
    assert error_of(api.as_shop(b).get(f"/calls/{a.call.id}"))[0] == 404


def test_the_calls_api_has_the_calls_features_gate(api, two_tenants):
    a = two_tenants.a
    set_tenant(a, feature_overrides={"crm": False})  # calls without the CRM: still open
    assert api.get("/calls").status_code == 200
    assert api.get("/customers").get_json()["feature"] == "crm"
    set_tenant(a, feature_overrides={"calls": False})
    for path in ("/calls", f"/calls/{a.call.id}"):
        response = api.get(path)
        assert response.status_code == 402
        assert response.get_json() == {
            "error": "feature_locked",
            "feature": "calls",
            "upgrade_url": "http://huike.test/console/upgrade",
        }
    assert api.get("/customers").status_code == 200
    set_tenant(a, feature_overrides={}, trial_ends_at=utcnow() - timedelta(seconds=1))  # Free
    assert api.get("/calls").status_code == api.get(f"/calls/{a.call.id}").status_code == 402
    assert api.get("/calls", token=None).status_code == 401  # the key is checked first
