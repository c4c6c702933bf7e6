"""The screen pop (来电弹屏): a ringing call reaches the right agents' consoles with the caller's
name, "I took it" takes it, and nothing crosses shops or pops for a locked shop."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from app.calls import hooks
from app.calls.models import Call, CallNumber
from app.extensions import socketio
from tenants.db import bind_tenant, db, utcnow

from ..conftest import login, set_tenant

AGENT = "/agent"
KNOWN = "13800000000"  # the shop's customer "Buyer <label>" (+8613800000000, conftest)


def ring(client, shop, number=KNOWN, call_id=None, event="ringing", **fields):
    call_id = call_id or f"pop-{uuid.uuid4().hex[:8]}"
    body = json.dumps(
        {"event": event, "call_id": call_id, "from": number, "to": "+862160000000", **fields}
    ).encode()
    answer = client.post(
        f"/calls/hook/{shop.call_connection.token}",
        data=body,
        headers={
            hooks.SIGNATURE_HEADER: hooks.sign(shop.call_secret, body),
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def agent_socket(app, member, status="online"):
    """An agent's console tab: signed in on a client of its own, connected, ``status``."""
    http = app.test_client()
    login(http, member)
    sock = socketio.test_client(app, namespace=AGENT, flask_test_client=http)
    assert sock.is_connected(AGENT)
    answer = sock.emit("status", {"status": status}, namespace=AGENT, callback=True)
    assert answer == {"status": status}
    sock.get_received(AGENT)
    return sock


def calls_heard(sock) -> list[dict]:
    return [e["args"][0] for e in sock.get_received(AGENT) if e["name"] == "call"]


def test_a_ringing_call_pops_with_the_customers_name_in_its_own_shop_only(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    mine, other_shop = agent_socket(app, a.agent), agent_socket(app, b.agent)
    answer = ring(client, a)
    heard = calls_heard(mine)
    assert len(heard) == 1
    card = heard[0]
    assert card["id"] == answer["call"] and card["status"] == "ringing"
    assert card["customer"]["id"] == a.customer.id and card["customer"]["name"] == "Buyer a"
    assert card["customer"]["returning"] is True
    assert card["number"] == "+8613800000000" and card["number_display"] == "138 0000 0000"
    assert card["direction"] == "in" and card["kind"] == "call" and card["started_at"]
    assert calls_heard(other_shop) == []

    unknown = ring(client, a, number="13911112222")
    card = calls_heard(mine)[0]
    assert card["id"] == unknown["call"] and card["customer"] is None
    assert card["number"] == "+8613911112222"
    mine.disconnect(namespace=AGENT)
    other_shop.disconnect(namespace=AGENT)


def test_the_numbers_agent_gets_the_call_when_online_else_every_online_agent(
    app, client, two_tenants
):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    db.get(CallNumber, a.call_number.id).membership_id = a.owner.id
    db.commit()
    agent = agent_socket(app, a.agent)
    owner = agent_socket(app, a.owner, status="away")  # connected, but not taking calls
    ring(client, a)
    assert len(calls_heard(agent)) == 1 and calls_heard(owner) == []

    owner.emit("status", {"status": "online"}, namespace=AGENT, callback=True)
    agent.get_received(AGENT)
    ring(client, a, call_id="theirs-1")
    assert [c["agent_id"] for c in calls_heard(owner)] == [a.owner.id]
    assert calls_heard(agent) == []  # the number's own agent is online: it is theirs

    # once over (or taken), every online agent hears it, so a card shown anywhere goes
    ring(client, a, call_id="theirs-1", event="ended", cause="noAnswer")
    assert [c["status"] for c in calls_heard(owner)] == ["missed"]
    assert [c["status"] for c in calls_heard(agent)] == ["missed"]
    agent.disconnect(namespace=AGENT)
    owner.disconnect(namespace=AGENT)


def test_i_took_it_answers_the_call_and_every_online_agent_hears_it(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    first, second = agent_socket(app, a.agent), agent_socket(app, a.owner)
    answer = ring(client, a)
    assert len(calls_heard(first)) == len(calls_heard(second)) == 1

    taken = first.emit("call_take", {"call_id": answer["call"]}, namespace=AGENT, callback=True)
    assert taken == {"ok": True, "call_id": answer["call"]}
    for sock in (first, second):
        (update,) = calls_heard(sock)
        assert update["status"] == "answered" and update["agent_id"] == a.agent.id
        assert update["agent_name"] == "Agent a"
    again = second.emit("call_take", {"call_id": answer["call"]}, namespace=AGENT, callback=True)
    assert again["error"] == "call_not_ringing"

    # another shop's ringing call, by its id: refused exactly like a missing one
    theirs = ring(client, b)
    foreign = first.emit("call_take", {"call_id": theirs["call"]}, namespace=AGENT, callback=True)
    missing = first.emit("call_take", {"call_id": 10**9}, namespace=AGENT, callback=True)
    assert foreign == missing and foreign["error"] == "not_found"
    bind_tenant(b.tenant.id)
    db.expire_all()
    assert db.get(Call, theirs["call"]).status == "ringing"
    first.disconnect(namespace=AGENT)
    second.disconnect(namespace=AGENT)


def test_the_end_of_a_call_reaches_the_card(app, client, two_tenants):
    a = two_tenants.a
    sock = agent_socket(app, a.agent)
    ring(client, a, call_id="ends-1")
    calls_heard(sock)
    ring(client, a, call_id="ends-1", event="ended", cause="noAnswer")
    (update,) = calls_heard(sock)
    assert update["status"] == "missed" and update["ended_at"]
    sock.disconnect(namespace=AGENT)


def test_a_locked_shops_call_is_recorded_and_nothing_pops(app, client, two_tenants):
    a = two_tenants.a
    sock = agent_socket(app, a.agent)
    set_tenant(a, trial_ends_at=utcnow() - timedelta(seconds=1))  # Free
    answer = ring(client, a, call_id="locked-1")
    bind_tenant(a.tenant.id)
    recorded = db.scalar(select(func.count()).select_from(Call).where(Call.call_ref == "locked-1"))
    assert recorded == 1 and answer["status"] == "ringing"
    assert calls_heard(sock) == []
    taken = sock.emit("call_take", {"call_id": answer["call"]}, namespace=AGENT, callback=True)
    assert taken["error"] == "feature_locked" and taken["feature"] == "calls"
    bind_tenant(a.tenant.id)
    assert db.get(Call, answer["call"]).status == "ringing"
    sock.disconnect(namespace=AGENT)
