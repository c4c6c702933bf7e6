"""Chat rules an admin sets up: groups route chats, working hours, transfer, history search,
settings validation — each bad value changes nothing."""

from datetime import UTC, datetime

from sqlalchemy import select

from app.chat import presence, service, setup
from app.chat.models import ChatSettings, Conversation
from tenants.db import bind_tenant, db

from ..conftest import login
from .test_chat_socket import agent_socket, events, hello, visitor_socket


def test_a_chosen_group_goes_to_its_own_agents(app, client, two_tenants):
    a = two_tenants.a  # the fixture's group "Sales a" has only the agent
    agent_socket(app, client, a.agent)
    owner = agent_socket(app, app.test_client(), a.owner)
    visitor = visitor_socket(app, a, hello(app.test_client(), a)["t"])
    sent = visitor.emit(
        "message",
        {"client_id": "g1", "text": "pre-sales question", "group_id": a.group.id},
        namespace="/visitor",
        callback=True,
    )
    conversation = [
        c
        for c in events(owner, "/agent", "conversation")
        if c["id"] == sent["message"]["conversation_id"]
    ][-1]
    assert (conversation["group_id"], conversation["assignee_id"]) == (a.group.id, a.agent.id)
    foreign = visitor.emit(
        "message",
        {"client_id": "g2", "text": "x", "group_id": two_tenants.b.group.id},
        namespace="/visitor",
        callback=True,
    )
    assert "message" in foreign  # the open chat continues; a group only counts at the start


def test_a_foreign_group_is_refused_for_a_new_chat(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    visitor = visitor_socket(app, a, hello(client, a)["t"])
    answer = visitor.emit(
        "message",
        {"client_id": "x1", "text": "hi", "group_id": b.group.id},
        namespace="/visitor",
        callback=True,
    )
    assert answer["error"] == "not_found"


def test_transfer_to_a_colleague(app, client, two_tenants):
    a = two_tenants.a
    agent = agent_socket(app, client, a.agent)
    moved = agent.emit(
        "transfer",
        {"conversation_id": a.conversation.id, "agent_id": a.owner.id},
        namespace="/agent",
        callback=True,
    )
    assert moved["conversation"]["assignee_id"] == a.owner.id
    nowhere = agent.emit(
        "transfer",
        {"conversation_id": a.conversation.id, "agent_id": two_tenants.b.owner.id},
        namespace="/agent",
        callback=True,
    )
    assert nowhere["error"] == "not_found"
    bind_tenant(a.tenant.id)
    assert db.get(Conversation, a.conversation.id).assignee_id == a.owner.id


def test_working_hours_in_the_shops_time_zone(two_tenants):
    bind_tenant(two_tenants.a.tenant.id)
    chat = service.settings()
    setup.update_schedule({"mon_open": "on", "mon_start": "09:00", "mon_end": "18:00"})
    # Monday 2026-11-23 02:00 UTC is 10:00 in Shanghai; 11:00 UTC is 19:00 there.
    assert service.in_hours(chat, "Asia/Shanghai", datetime(2026, 11, 23, 2, tzinfo=UTC))
    assert not service.in_hours(chat, "Asia/Shanghai", datetime(2026, 11, 23, 11, tzinfo=UTC))
    assert not service.in_hours(chat, "Asia/Shanghai", datetime(2026, 11, 24, 2, tzinfo=UTC))


def test_outside_hours_the_widget_is_told_to_offer_the_form(app, client, two_tenants):
    a = two_tenants.a
    agent_socket(app, app.test_client(), a.agent)
    bind_tenant(a.tenant.id)
    setup.update_schedule({"sun_open": "on", "sun_start": "00:00", "sun_end": "00:01"})
    db.commit()
    bind_tenant(None)
    answer = hello(client, a)
    assert answer["online"] is False and answer["in_hours"] is False


def test_bad_settings_are_refused_and_change_nothing(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    bind_tenant(a.tenant.id)
    table = ChatSettings.__table__
    before = tuple(db.execute(select(table).where(table.c.tenant_id == a.tenant.id)).one())
    bind_tenant(None)
    for form, message in (
        ({"color": "red", "max_chats": "4"}, "Choose a colour like #1f6feb."),
        ({"color": "#112233", "max_chats": "0"}, "from 1 to 50"),
        (
            {"color": "#112233", "max_chats": "4", "domains": "shop.com, bad_host!"},
            "“bad_host!” is not a website address like myshop.com",
        ),
        ({"color": "#112233", "max_chats": "4", "greeting": "x" * 201}, "200"),
    ):
        page = client.post("/console/settings/chat/widget", data=form, follow_redirects=True)
        assert message in page.get_data(True), form
    hours = client.post(
        "/console/settings/chat/hours",
        data={"mon_open": "on", "mon_start": "18:00", "mon_end": "09:00"},
        follow_redirects=True,
    )
    assert "opening time before the closing time" in hours.get_data(True)
    bind_tenant(a.tenant.id)
    assert tuple(db.execute(select(table).where(table.c.tenant_id == a.tenant.id)).one()) == before


def test_agents_cannot_change_chat_settings(client, two_tenants):
    login(client, two_tenants.a.agent)
    assert client.get("/console/settings/chat").status_code == 403
    assert client.post("/console/settings/groups", data={"name": "x"}).status_code == 403


def test_history_search_finds_messages_and_names_in_this_shop_only(client, two_tenants):
    login(client, two_tenants.b.owner)
    page = client.get("/console/history?q=hello from").get_data(True)
    assert f"/console/history/{two_tenants.b.conversation.id}" in page
    assert f"/console/history/{two_tenants.a.conversation.id}" not in page
    none = client.get("/console/history?q=100%_no_such").get_data(True)
    assert "No conversation matches." in none
    transcript = client.get(f"/console/history/{two_tenants.b.conversation.id}").get_data(True)
    assert "hello from b" in transcript


def test_quick_replies_shared_and_personal(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    client.post("/console/quick-replies", data={"shortcut": "/ship", "text": "2 days."})
    client.post("/console/quick-replies", data={"shortcut": "x", "text": "y", "shared": "on"})
    replies = client.get("/console/api/quick-replies").get_json()
    assert {(r["shortcut"], r["shared"]) for r in replies} == {("ship", False), ("hia", True)}
    bad = client.post(
        "/console/quick-replies", data={"shortcut": "a b", "text": "t"}, follow_redirects=True
    )
    assert "one word of letters, digits" in bad.get_data(True)
    shared = next(r for r in replies if r["shared"])
    refused = client.post(f"/console/quick-replies/{shared['id']}/delete", follow_redirects=True)
    assert "owner or an admin can do this" in refused.get_data(True)


def test_a_new_shops_first_requests_racing_to_make_its_chat_settings_all_get_them(
    dbsession, monkeypatch
):
    from tenants import service as tenants_service

    from ..conftest import PASSWORD

    owner = tenants_service.signup("Race shop", "race@example.com", PASSWORD)
    bind_tenant(owner.tenant_id)
    # Another request made the row between this request's look (nothing yet) and its insert.
    db.add(ChatSettings(color="#123456"))
    db.flush()

    class FirstLookMisses:
        def __init__(self):
            self.looked = False

        def scalar(self, statement, *args, **kwargs):
            if not self.looked:
                self.looked = True
                return None
            return db.scalar(statement, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(db, name)

    monkeypatch.setattr(presence, "db", FirstLookMisses())
    assert service.settings().color == "#123456"  # the other's row, not a unique violation
    monkeypatch.undo()
    assert len(db.scalars(select(ChatSettings)).all()) == 1
    bind_tenant(None)
