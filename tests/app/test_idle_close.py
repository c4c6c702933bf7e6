"""Idle chats close themselves (the clock, a per-shop setting) and only live chats count
against an agent's limit (app/chat/closing.py, presence.live_load)."""

from datetime import timedelta

from sqlalchemy import select

from app.chat import closing
from app.chat.models import Conversation, Message
from app.chat.service import settings, visitor_token
from tenants.db import bind_tenant, db, utcnow
from tenants.jobs import wait_for_jobs
from tenants.work import unit_of_work

from .test_chat_socket import agent_socket, events, hello, visitor_socket


def _quiet(shop, minutes: int) -> None:
    """The shop's fixture chat: its visitor left and nobody wrote for ``minutes``."""
    bind_tenant(shop.tenant.id)
    conversation = db.get(Conversation, shop.conversation.id)
    conversation.last_message_at = utcnow() - timedelta(minutes=minutes)
    conversation.visitor.last_seen_at = utcnow() - timedelta(minutes=minutes)
    db.commit()
    bind_tenant(None)


def _limit(shop, chats: int) -> None:
    bind_tenant(shop.tenant.id)
    settings().max_chats_per_agent = chats
    db.commit()
    bind_tenant(None)


def _status(shop, conversation_id: int) -> str:
    bind_tenant(shop.tenant.id)
    status = db.scalar(select(Conversation.status).where(Conversation.id == conversation_id))
    bind_tenant(None)
    return status


def _first_message(app, shop, text: str) -> dict:
    sock = visitor_socket(app, shop, hello(app.test_client(), shop)["t"])
    answer = sock.emit(
        "message", {"client_id": "m1", "text": text}, namespace="/visitor", callback=True
    )
    return answer["message"]


def test_a_chat_whose_visitor_left_no_longer_fills_the_agents_limit(app, client, two_tenants):
    a = two_tenants.a
    _limit(a, 1)
    agent_socket(app, client, a.agent)  # takes the fixture's chat: at the limit
    assert _status(a, a.conversation.id) == "open"
    _quiet(a, 11)  # its visitor wrote and left eleven minutes ago: not live any more
    new = _first_message(app, a, "anyone there?")
    bind_tenant(a.tenant.id)
    conversation = db.get(Conversation, new["conversation_id"])
    assert (conversation.status, conversation.assignee_id) == ("open", a.agent.id)
    assert db.get(Conversation, a.conversation.id).status == "open"  # not closed yet (30 min)
    bind_tenant(None)


def test_a_live_chat_still_fills_the_limit(app, client, two_tenants):
    a = two_tenants.a
    _limit(a, 1)
    agent_socket(app, client, a.agent)
    _quiet(a, 3)  # the visitor left three minutes ago: the chat may go on
    new = _first_message(app, a, "hello?")
    assert _status(a, new["conversation_id"]) == "queued"


def test_the_clock_closes_idle_chats_tells_everyone_and_frees_the_queue(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    _limit(a, 1)
    agent = agent_socket(app, client, a.agent)
    visitor_tab = visitor_socket(app, a, hello(app.test_client(), a, lang="zh-CN")["t"])
    bind_tenant(a.tenant.id)  # the fixture chat's visitor, still on a tab
    token = visitor_token(app.config["SECRET_KEY"], db.get(Conversation, a.conversation.id).visitor)
    bind_tenant(None)
    fixture_tab = visitor_socket(app, a, token)
    fixture_tab.get_received("/visitor")
    visitor_tab.emit("message", {"client_id": "w", "text": "wait"}, namespace="/visitor")
    waiting = events(agent, "/agent", "conversation")[-1]
    _quiet(a, 11)  # not live: the next chat would be assigned, yet nothing is closed at 11'
    _quiet(b, 45)  # the other shop's chat: its own setting
    bind_tenant(b.tenant.id)
    settings().auto_close_minutes = 0  # b never closes
    db.commit()
    bind_tenant(None)
    agent.get_received("/agent")
    with app.app_context(), unit_of_work():
        closing.close_idle_everywhere()
    wait_for_jobs()
    assert _status(a, a.conversation.id) == "open"

    _quiet(a, 31)
    with app.app_context(), unit_of_work():
        closing.close_idle_everywhere()
    wait_for_jobs()
    assert _status(a, a.conversation.id) == "closed"
    assert _status(b, b.conversation.id) != "closed"
    told = {c["id"]: c for c in events(agent, "/agent", "conversation")}
    assert told[a.conversation.id]["status"] == "closed"  # the console updates live
    bind_tenant(a.tenant.id)
    note = db.scalars(
        select(Message).where(Message.conversation_id == a.conversation.id).order_by(Message.seq)
    ).all()[-1]
    bind_tenant(None)
    assert note.sender == "system" and "30" in note.body
    heard = fixture_tab.get_received("/visitor")  # the visitor, if still there, is told
    assert {"message", "closed"} <= {e["name"] for e in heard}
    assert waiting["status"] == "queued"  # the idle chat was still live then
    assert (told[waiting["id"]]["status"], told[waiting["id"]]["assignee_id"]) == (
        "open",
        a.agent.id,
    )


def test_closing_runs_on_the_shops_own_minutes_and_time_is_injectable(app, two_tenants):
    a = two_tenants.a
    _quiet(a, 0)
    bind_tenant(a.tenant.id)
    with app.app_context():
        settings().auto_close_minutes = 0  # off: never
        assert closing.close_idle(now=utcnow() + timedelta(days=3)) == []
        settings().auto_close_minutes = 10
        assert closing.close_idle(now=utcnow() + timedelta(minutes=9)) == []
        closed = closing.close_idle(now=utcnow() + timedelta(minutes=11))
    assert [(c.id, c.status) for c in closed] == [(a.conversation.id, "closed")]
    bind_tenant(None)


def test_the_setting_is_saved_and_bad_values_change_nothing(client, two_tenants):
    from ..conftest import login

    a = two_tenants.a
    login(client, a.owner)
    response = client.post("/console/settings/chat/auto-close", data={"auto_close_minutes": "15"})
    assert response.status_code == 302
    page = client.get("/console/settings/chat").get_data(True)
    assert 'name="auto_close_minutes" min="0" max="1440" value="15"' in page
    for bad in ("-1", "abc", "99999", ""):
        client.post("/console/settings/chat/auto-close", data={"auto_close_minutes": bad})
        page = client.get("/console/settings/chat").get_data(True)
        assert "Enter a whole number from 0 to 1440." in page
        assert 'value="15"' in page
    bind_tenant(a.tenant.id)
    assert settings().auto_close_minutes == 15
    bind_tenant(two_tenants.b.tenant.id)
    assert settings().auto_close_minutes == 30  # the other shop's is its own
    bind_tenant(None)
    login(client, a.agent)  # an agent is not an admin
    refused = client.post("/console/settings/chat/auto-close", data={"auto_close_minutes": "5"})
    assert refused.status_code in (302, 403)
    bind_tenant(a.tenant.id)
    assert settings().auto_close_minutes == 15
    bind_tenant(None)
