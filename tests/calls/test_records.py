"""Provider events → one call record: any order, any duplicates, the same record."""

from __future__ import annotations

import itertools
import json

from sqlalchemy import func, select

from app.calls import hooks
from app.calls.models import Call, CallEvent
from tenants.db import bind_tenant, db


def post(client, shop, event: dict, secret: str | None = None):
    body = json.dumps(event).encode()
    signature = hooks.sign(secret or shop.call_secret, body)
    return client.post(
        f"/calls/hook/{shop.call_connection.token}",
        data=body,
        headers={hooks.SIGNATURE_HEADER: signature, "Content-Type": "application/json"},
    )


SEQUENCE = [
    {
        "event": "ringing",
        "call_id": "c1",
        "from": "13900000002",
        "to": "+862160000000",
        "timestamp": "2026-12-07T01:00:00Z",
    },
    {"event": "answered", "call_id": "c1", "agent": "801", "timestamp": "2026-12-07T01:00:10Z"},
    {
        "event": "ended",
        "call_id": "c1",
        "cause": "normalClearing",
        "duration": 95,
        "timestamp": "2026-12-07T01:01:45Z",
    },
]


def calls_of(shop):
    bind_tenant(shop.tenant.id)
    rows = db.scalars(select(Call).where(Call.call_ref.like("c%")).order_by(Call.id)).all()
    return [(c.call_ref, c.status, c.from_number, c.duration, c.cause) for c in rows]


def test_every_order_and_duplicate_ends_in_one_record(client, two_tenants):
    shop = two_tenants.a
    expected = None
    for n, order in enumerate(itertools.permutations(SEQUENCE)):
        for event in list(order) + [order[0]]:  # and one duplicate
            answer = post(client, shop, {**event, "call_id": f"c{n}"})
            assert answer.status_code == 200, answer.get_json()
        bind_tenant(shop.tenant.id)
        call = db.scalar(select(Call).where(Call.call_ref == f"c{n}"))
        got = (call.status, call.from_number, call.duration, call.cause, call.started_at)
        assert expected in (None, got)
        expected = got
    assert expected[:4] == ("ended", "+8613900000002", 95, "normalClearing")


def test_ended_without_answer_is_missed_and_busy_is_busy(client, two_tenants):
    shop = two_tenants.a
    post(client, shop, {**SEQUENCE[0], "call_id": "m1"})
    post(client, shop, {**SEQUENCE[2], "call_id": "m1", "duration": 0, "cause": "noAnswer"})
    post(client, shop, {**SEQUENCE[0], "call_id": "b1"})
    post(client, shop, {**SEQUENCE[2], "call_id": "b1", "duration": 0, "cause": "busy"})
    bind_tenant(shop.tenant.id)
    status = dict(db.execute(select(Call.call_ref, Call.status)).all())
    assert status["m1"] == "missed" and status["b1"] == "busy"


def test_bad_signature_records_nothing(client, two_tenants):
    shop = two_tenants.a
    bind_tenant(shop.tenant.id)
    before = db.scalar(select(func.count()).select_from(CallEvent))
    answer = post(client, shop, SEQUENCE[0], secret="not-the-secret")
    assert answer.status_code == 403
    assert answer.get_json()["error"] == "signature_invalid"
    bind_tenant(shop.tenant.id)
    assert db.scalar(select(func.count()).select_from(CallEvent)) == before


def test_another_shops_token_finds_nothing(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    body = json.dumps(SEQUENCE[0]).encode()
    answer = client.post(
        "/calls/hook/not-a-token",
        data=body,
        headers={hooks.SIGNATURE_HEADER: hooks.sign(a.call_secret, body)},
        content_type="application/json",
    )
    assert answer.status_code == 404
    # shop A's secret on shop B's hook: refused, nothing recorded in either
    assert post(client, b, SEQUENCE[0], secret=a.call_secret).status_code == 403
    assert calls_of(a) == [("call-a", "missed", "+8613800000000", None, "noAnswer")]


def test_a_call_left_ringing_is_swept_to_missed_and_a_late_end_still_corrects_it(
    app, client, two_tenants
):
    from datetime import timedelta

    from app.calls import jobs
    from tenants.db import utcnow
    from tenants.jobs import wait_for_jobs
    from tenants.work import unit_of_work

    a, b = two_tenants.a, two_tenants.b
    long_ago = (utcnow() - timedelta(seconds=61)).isoformat()
    just_now = utcnow().isoformat()
    post(client, a, {**SEQUENCE[0], "call_id": "lost", "timestamp": long_ago})
    post(client, a, {**SEQUENCE[0], "call_id": "fresh", "timestamp": just_now})
    post(client, b, {**SEQUENCE[0], "call_id": "lost-b", "timestamp": long_ago})
    with app.app_context(), unit_of_work():
        jobs.sweep_everywhere()
    wait_for_jobs()
    bind_tenant(a.tenant.id)
    status = dict(db.execute(select(Call.call_ref, Call.status)).all())
    assert status["lost"] == "missed" and status["fresh"] == "ringing"
    bind_tenant(b.tenant.id)
    assert db.scalar(select(Call.status).where(Call.call_ref == "lost-b")) == "missed"
    # the provider's own end arrives late: the truth replaces the guess, never backwards
    post(client, a, {**SEQUENCE[1], "call_id": "lost", "timestamp": long_ago})
    post(client, a, {**SEQUENCE[2], "call_id": "lost", "timestamp": just_now, "duration": 40})
    bind_tenant(a.tenant.id)
    call = db.scalar(select(Call).where(Call.call_ref == "lost"))
    assert (call.status, call.duration, call.cause) == ("ended", 40, "normalClearing")
