"""An agent's chosen status outlives their connections; the console home shows who is waiting;
the console's upload says its limit in words."""

import io
import json
import re

from app.chat import service
from app.chat.models import Conversation
from app.extensions import socketio
from tenants.db import bind_tenant, db

from ..conftest import login
from .test_chat_socket import agent_socket, events, hello, visitor_socket


def connect(app, client, member):
    login(client, member)
    sock = socketio.test_client(app, namespace="/agent", flask_test_client=client)
    assert sock.is_connected("/agent")
    return sock


def first_message(app, shop, text="Hello?"):
    token = hello(app.test_client(), shop)["t"]
    visitor = visitor_socket(app, shop, token)
    sent = visitor.emit(
        "message", {"client_id": "p-1", "text": text}, namespace="/visitor", callback=True
    )
    bind_tenant(shop.tenant.id)
    conversation = db.get(Conversation, sent["message"]["conversation_id"])
    bind_tenant(None)
    return conversation


def test_a_new_agent_starts_online_and_gets_chats_without_clicking(app, client, two_tenants):
    a = two_tenants.a
    agent = connect(app, client, a.agent)  # never chose a status
    assert events(agent, "/agent", "snapshot")[0]["me"]["status"] == "online"
    conversation = first_message(app, a)
    assert (conversation.status, conversation.assignee_id) == ("open", a.agent.id)


def test_the_chosen_status_survives_a_reload_and_the_last_tab_closing(app, client, two_tenants):
    a = two_tenants.a
    away = agent_socket(app, client, a.agent, status="away")
    away.disconnect(namespace="/agent")
    bind_tenant(a.tenant.id)
    assert service.agent_state(a.agent.id).status == "away"  # closing the tab forgets nothing
    db.rollback()
    bind_tenant(None)

    again = connect(app, client, a.agent)
    assert events(again, "/agent", "snapshot")[0]["me"]["status"] == "away"
    assert first_message(app, a).status == "queued"  # away: not assigned

    again.emit("status", {"status": "online"}, namespace="/agent", callback=True)
    again.disconnect(namespace="/agent")
    bind_tenant(a.tenant.id)
    assert service.online_agents() == []  # no tab open: nobody to assign to
    assert service.agent_state(a.agent.id).status == "online"
    db.rollback()
    bind_tenant(None)
    page = client.get("/console/conversations").text
    data = re.search(r'id="page-data">(.*?)</script>', page, re.S).group(1)
    assert json.loads(data)["me"]["status"] == "online"  # drawn before the socket says


def test_console_home_lists_waiting_and_unanswered_chats_of_its_own_shop(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    login(client, a.agent)
    home = client.get("/console/")
    assert home.status_code == 200
    assert a.conversation.status == "queued"
    assert f'href="/console/conversations#c{a.conversation.id}"' in home.text
    assert "hello from a" not in home.text  # its last message is the picture
    assert "Every open chat has an answer." in home.text

    agent = agent_socket(app, app.test_client(), a.owner)
    unanswered = first_message(app, a, "Do you ship to Hangzhou?")
    assert unanswered.status == "open"
    home = client.get("/console/").text
    assert f"#c{unanswered.id}" in home and "Do you ship to Hangzhou?" in home
    agent.emit(
        "send",
        {"conversation_id": unanswered.id, "client_id": "r-1", "text": "Yes"},
        namespace="/agent",
        callback=True,
    )
    assert f"#c{unanswered.id}" not in client.get("/console/").text  # answered

    login(client, b.agent)  # another shop's agent sees none of it
    other = client.get("/console/").text
    assert f"#c{a.conversation.id}" not in other and f"#c{unanswered.id}" not in other
    assert f"#c{b.conversation.id}" in other


def test_console_upload_past_the_request_limit_says_the_file_limit(app, client, two_tenants):
    login(client, two_tenants.a.agent)
    big = io.BytesIO(b"\0" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    response = client.post(
        "/console/api/uploads",
        data={"file": (big, "big.zip")},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 413
    assert response.get_json() == {
        "error": "file_too_big",
        "message": "Files can be at most 10 MB.",
        "field": "file",
    }
