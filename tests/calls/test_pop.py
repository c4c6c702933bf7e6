"""The screen pop (来电弹屏): a ringing call reaches the right agents' consoles with the caller's
name, "I took it" takes it, and nothing crosses shops or pops for a locked shop."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

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


def test_a_ringing_call_is_written_once_and_reads_its_shop_and_caller_once(
    app, client, two_tenants
):
    """The webhook's hot path (docs/BENCHMARKS.md, Calls): one UPDATE of the call, the shop's
    row and the customer read once each, though the record and the card both need them."""
    sent = []

    def seen(_conn, _cursor, statement, *_):
        sent.append(" ".join(statement.split()))

    mine = agent_socket(app, two_tenants.a.agent)
    event.listen(Engine, "before_cursor_execute", seen)
    try:
        ring(client, two_tenants.a)
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert calls_heard(mine)[0]["customer"]["name"] == "Buyer a"
    assert len([s for s in sent if s.startswith("UPDATE calls ")]) == 1
    assert len([s for s in sent if s.startswith("SELECT") and " FROM tenants" in s]) == 1
    assert len([s for s in sent if s.startswith("SELECT") and " FROM crm_customers" in s]) == 1
    mine.disconnect(namespace=AGENT)


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


# --- the card and the call page --------------------------------------------------------------


def test_the_card_shows_the_customer_their_pages_notes_and_open_tasks(app, client, two_tenants):
    a = two_tenants.a
    answer = ring(client, a)
    login(client, a.agent)
    html = client.get(f"/console/calls/{answer['call']}/card").get_data(True)
    assert 'data-caller="customer"' in html and 'data-customer-name="Buyer a"' in html
    assert "SO-a" in html and ">vip<" in html and "likes green tea (a)" in html
    assert "On the site now" in html
    assert 'href="https://shop-a.example/item?utm_source=ad"' in html  # the page they were on
    assert "Call a about the sample" in html  # their open follow-up task
    contact = html.split("data-last-contact>")[1].split("</dd>")[0]
    assert contact.startswith(("Chat", "Left message"))  # their chat before they rang
    assert "Buyer b" not in html and "SO-b" not in html

    # the fixture's old call came before any chat: nothing earlier to show
    old = client.get(f"/console/calls/{a.call.id}/card").get_data(True)
    assert "None before this call" in old


def test_an_unknown_number_offers_a_new_customer_and_a_link_to_one(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    sock = agent_socket(app, a.agent)
    answer = ring(client, a, number="13911112222")
    assert calls_heard(sock)[0]["customer"] is None
    login(client, a.agent)
    card = f"/console/calls/{answer['call']}/card"
    html = client.get(card).get_data(True)
    assert 'data-caller="unknown"' in html
    assert "/console/customers/new?phone=%2B8613911112222" in html
    form = client.get("/console/customers/new?phone=%2B8613911112222").get_data(True)
    assert "139 1111 2222</textarea>" in form  # the number filled in

    found = client.get(card, query_string={"q": "Buyer"}).get_data(True)
    assert "Buyer a" in found and "Buyer b" not in found

    link = f"/console/calls/{answer['call']}/link"
    foreign = client.post(link, data={"customer_id": b.customer.id, "from": "card"})
    assert foreign.status_code == 400 and "Not found." in foreign.get_data(True)
    taken = client.post(link, data={"customer_id": a.customer.id, "from": "card"})
    assert taken.status_code == 200 and 'data-customer-name="Buyer a"' in taken.get_data(True)
    (named,) = calls_heard(sock)  # the card, wherever it is open, now names the caller
    assert named["status"] == "ringing" and named["customer"]["name"] == "Buyer a"
    sock.disconnect(namespace=AGENT)
    bind_tenant(a.tenant.id)
    db.expire_all()
    assert db.get(Call, answer["call"]).customer_id == a.customer.id
    assert "+8613911112222" in {p.e164 for p in db.get(type(a.customer), a.customer.id).phones}
    bind_tenant(b.tenant.id)
    assert "+8613911112222" not in {p.e164 for p in db.get(type(b.customer), b.customer.id).phones}

    # a number another customer has is theirs: nothing changes
    other = ring(client, a, number="13922223333")
    login(client, a.agent)
    bind_tenant(a.tenant.id)
    someone = type(a.customer)(name="Someone else")
    db.add(someone)
    db.flush()
    from app.crm import service as crm

    crm.add_contacts(someone, phones=["+8613922223333"])
    db.commit()
    again = client.post(f"/console/calls/{other['call']}/link", data={"customer_id": a.customer.id})
    assert again.status_code == 302
    page = client.get(again.headers["Location"]).get_data(True)
    assert "already belongs to another customer" in page
    assert 'data-customer-name="Someone else"' in page  # the card names who has it


def test_without_the_crm_the_card_shows_no_customer_tools(app, client, two_tenants):
    a = two_tenants.a
    set_tenant(a, feature_overrides={"crm": False})
    answer = ring(client, a, number="13911112222")
    login(client, a.agent)
    html = client.get(f"/console/calls/{answer['call']}/card").get_data(True)
    assert "New customer" not in html and "Link to a customer" not in html
    assert "/console/upgrade" in html
    link = client.post(f"/console/calls/{answer['call']}/link", data={"customer_id": a.customer.id})
    assert link.status_code == 402
    known = client.get(f"/console/calls/{a.call.id}/card").get_data(True)
    assert 'data-customer-name="Buyer a"' in known and "SO-a" not in known


def test_the_call_page_saves_notes_and_an_outcome(app, client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    db.get(Call, a.call.id).recording_url = "https://pbx.example/rec/1.mp3"
    db.commit()
    login(client, a.agent)
    page = client.get(f"/console/calls/{a.call.id}")
    html = page.get_data(True)
    assert page.status_code == 200 and "Buyer a" in html and "Missed" in html
    assert "Nobody answered" in html  # the provider's cause, in words
    assert "Dec 1, 2026, 6:00:00" in html  # 10:00 UTC in the shop's zone (Asia/Shanghai)
    assert 'href="https://pbx.example/rec/1.mp3"' in html
    for word in ("Resolved", "Sale", "Call back", "Complaint", "Wrong number", "Other"):
        assert word in html
    assert 'action="/console/calls/tasks"' in html and 'name="phone" value="+8613800000000"' in html

    bad = client.post(f"/console/calls/{a.call.id}", data={"outcome": "won", "notes": "x"})
    assert bad.status_code == 400 and "Choose one of the outcomes" in bad.get_data(True)
    long = client.post(f"/console/calls/{a.call.id}", data={"outcome": "sale", "notes": "x" * 5001})
    assert long.status_code == 400
    bind_tenant(a.tenant.id)
    db.expire_all()
    assert (db.get(Call, a.call.id).notes, db.get(Call, a.call.id).outcome) == ("", "")

    saved = client.post(
        f"/console/calls/{a.call.id}", data={"outcome": "sale", "notes": "Wants 2 kg of Longjing"}
    )
    assert saved.status_code == 302
    bind_tenant(a.tenant.id)
    db.expire_all()
    call = db.get(Call, a.call.id)
    assert (call.outcome, call.notes) == ("sale", "Wants 2 kg of Longjing")
    html = client.get(f"/console/calls/{a.call.id}").get_data(True)
    assert 'value="sale" checked' in html and "Wants 2 kg of Longjing" in html


def test_the_recording_plays_here_once_stored(app, client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    db.get(Call, a.call.id).recording_file = "rec-1.mp3"
    db.commit()
    login(client, a.agent)
    html = client.get(f"/console/calls/{a.call.id}").get_data(True)
    assert f'<audio controls preload="none" src="/console/calls/{a.call.id}/recording"' in html


def test_a_page_opened_mid_ring_finds_the_calls_ringing_for_me(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    sock = agent_socket(app, a.agent)
    mine = ring(client, a)
    ring(client, b)
    login(client, a.agent)
    ringing = client.get("/console/calls/ringing").get_json()["calls"]
    assert [c["id"] for c in ringing] == [mine["call"]]
    assert ringing[0]["customer"]["name"] == "Buyer a"
    words = client.get("/console/calls/ringing", headers={"Accept-Language": "zh-CN"})
    assert words.get_json()["words"]["take"] == "我来接"  # the card's words, in the agent's
    sock.disconnect(namespace=AGENT)


def test_another_shops_call_is_not_found(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    login(client, b.agent)
    for path in ("/card", ""):
        foreign = client.get(f"/console/calls/{a.call.id}{path}")
        missing = client.get(f"/console/calls/{10**9}{path}")
        assert foreign.status_code == missing.status_code == 404


def test_the_call_page_speaks_chinese(app, client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    html = client.get(f"/console/calls/{a.call.id}", headers={"Accept-Language": "zh-CN"})
    text = html.get_data(True)
    for words in ("备注和结果", "已解决", "打错电话", "未接", "无人接听", "回访电话", "来电者"):
        assert words in text, words
