"""The real-time core through real Socket.IO clients (Flask-SocketIO's test client)."""

from sqlalchemy import func, select

from app.chat.models import Conversation, Message
from app.extensions import socketio
from tenants.db import bind_tenant, db

from ..conftest import login


def hello(client, shop, url="https://shop.example/p/1", token=None, lang="en"):
    response = client.post(
        "/w/api/hello",
        json={"k": shop.tenant.site_key, "t": token, "url": url, "title": "P1", "lang": lang},
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def visitor_socket(app, shop, token):
    return socketio.test_client(
        app, namespace="/visitor", auth={"k": shop.tenant.site_key, "t": token}
    )


def agent_socket(app, client, member, status="online"):
    login(client, member)
    sock = socketio.test_client(app, namespace="/agent", flask_test_client=client)
    assert sock.is_connected("/agent")
    if status:
        assert sock.emit("status", {"status": status}, namespace="/agent", callback=True) == {
            "status": status
        }
    return sock


def payload(event):
    # The test client hands "message" events over bare (Socket.IO's send() name), others listed.
    return event["args"][0] if isinstance(event["args"], list) else event["args"]


def events(sock, namespace, name):
    return [payload(e) for e in sock.get_received(namespace) if e["name"] == name]


def count_messages(shop) -> int:
    bind_tenant(shop.tenant.id)
    n = db.scalar(select(func.count()).select_from(Message))
    bind_tenant(None)
    return n


def test_message_is_stored_acked_and_a_retry_is_not_duplicated(app, client, two_tenants):
    a = two_tenants.a
    token = hello(client, a)["t"]
    visitor = visitor_socket(app, a, token)
    before = count_messages(a)
    first = visitor.emit(
        "message",
        {"client_id": "m-1", "text": "Is this tea organic?"},
        namespace="/visitor",
        callback=True,
    )
    again = visitor.emit(
        "message",
        {"client_id": "m-1", "text": "Is this tea organic?"},
        namespace="/visitor",
        callback=True,
    )
    assert first["message"]["seq"] == 1 and first["message"]["text"] == "Is this tea organic?"
    assert again["message"]["id"] == first["message"]["id"]
    assert count_messages(a) == before + 1
    second = visitor.emit(
        "message",
        {"client_id": "m-2", "text": "And the price?"},
        namespace="/visitor",
        callback=True,
    )
    assert second["message"]["seq"] == 2
    history = visitor.emit("history", {"since": 1}, namespace="/visitor", callback=True)
    assert [m["text"] for m in history["messages"]] == ["And the price?"]


def test_agent_sees_the_draft_then_the_message_and_replies(app, client, two_tenants):
    a = two_tenants.a
    agent = agent_socket(app, client, a.agent)
    snapshot = events(agent, "/agent", "snapshot")[0]
    assert snapshot["me"]["id"] == a.agent.id
    token = hello(app.test_client(), a)["t"]
    visitor = visitor_socket(app, a, token)
    visitor.emit("draft", {"text": "Do you ship to Hangz"}, namespace="/visitor")
    previews = events(agent, "/agent", "preview")
    assert previews[-1]["text"] == "Do you ship to Hangz"
    sent = visitor.emit(
        "message",
        {"client_id": "x1", "text": "Do you ship to Hangzhou?"},
        namespace="/visitor",
        callback=True,
    )
    received = agent.get_received("/agent")
    conversation = next(payload(e) for e in received if e["name"] == "conversation")
    assert conversation["status"] == "open" and conversation["assignee_id"] == a.agent.id
    assert any(
        e["name"] == "message" and payload(e)["text"] == "Do you ship to Hangzhou?"
        for e in received
    )

    opened = agent.emit(
        "open", {"conversation_id": conversation["id"]}, namespace="/agent", callback=True
    )
    assert opened["messages"][-1]["id"] == sent["message"]["id"]
    assert opened["visitor"]["pages"][0]["url"] == "https://shop.example/p/1"
    reply = agent.emit(
        "send",
        {"conversation_id": conversation["id"], "client_id": "r1", "text": "Yes, in two days."},
        namespace="/agent",
        callback=True,
    )
    assert reply["message"]["sender"] == "agent"
    got = events(visitor, "/visitor", "message")
    assert got[-1]["text"] == "Yes, in two days." and got[-1]["agent_name"] == "Agent a"

    note = agent.emit(
        "send",
        {
            "conversation_id": conversation["id"],
            "client_id": "n1",
            "text": "VIP buyer",
            "note": True,
        },
        namespace="/agent",
        callback=True,
    )
    assert note["message"]["sender"] == "note"
    assert all(m["text"] != "VIP buyer" for m in events(visitor, "/visitor", "message"))

    closed = agent.emit(
        "close", {"conversation_id": conversation["id"]}, namespace="/agent", callback=True
    )
    assert closed["conversation"]["status"] == "closed"
    assert events(visitor, "/visitor", "closed")[-1]["ask_rating"] is True
    rated = visitor.emit(
        "rate",
        {"conversation_id": conversation["id"], "score": 5, "comment": "quick"},
        namespace="/visitor",
        callback=True,
    )
    assert rated == {"ok": True}
    bad = visitor.emit(
        "rate",
        {"conversation_id": conversation["id"], "score": 9},
        namespace="/visitor",
        callback=True,
    )
    assert bad["error"] == "bad_score"
    bind_tenant(a.tenant.id)
    stored = db.get(Conversation, conversation["id"])
    assert (stored.rating, stored.rating_comment) == (5, "quick")


def test_bad_and_foreign_tokens_are_refused_at_connect(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    token_a = hello(client, a)["t"]
    forged = token_a[:-3] + ("AAA" if not token_a.endswith("AAA") else "BBB")
    for auth in (
        {"k": a.tenant.site_key, "t": forged},
        {"k": b.tenant.site_key, "t": token_a},  # A's visitor knocking on B's door
        {"k": a.tenant.site_key},
        {"k": "nope", "t": token_a},
    ):
        sock = socketio.test_client(app, namespace="/visitor", auth=auth)
        assert not sock.is_connected("/visitor"), auth


def test_another_tenants_agent_cannot_open_or_hear_a_conversation(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    spy = agent_socket(app, client, b.owner)
    spy.get_received("/agent")
    for event, payload in (
        ("open", {"conversation_id": a.conversation.id}),
        ("send", {"conversation_id": a.conversation.id, "client_id": "z", "text": "hi"}),
        ("take", {"conversation_id": a.conversation.id}),
        ("close", {"conversation_id": a.conversation.id}),
        ("invite", {"visitor_id": a.visitor.id}),
        ("transfer", {"conversation_id": a.conversation.id, "agent_id": b.owner.id}),
    ):
        answer = spy.emit(event, payload, namespace="/agent", callback=True)
        assert answer["error"] == "not_found", event
    token = hello(app.test_client(), a)["t"]
    visitor_socket(app, a, token).emit(
        "message", {"client_id": "s1", "text": "secret of A"}, namespace="/visitor", callback=True
    )
    heard = spy.get_received("/agent")
    assert all("secret of A" not in str(e["args"]) for e in heard)
    bind_tenant(a.tenant.id)
    assert db.get(Conversation, a.conversation.id).status != "closed"


def test_cross_site_agent_socket_is_refused(app, client, two_tenants):
    login(client, two_tenants.a.owner)
    sock = socketio.test_client(
        app,
        namespace="/agent",
        flask_test_client=client,
        headers={"Origin": "https://evil.example"},
    )
    assert not sock.is_connected("/agent")
    anonymous = socketio.test_client(app, namespace="/agent")
    assert not anonymous.is_connected("/agent")


def test_flood_gets_a_clear_error_and_the_socket_stays(app, client, two_tenants):
    a = two_tenants.a
    visitor = visitor_socket(app, a, hello(client, a)["t"])
    answers = [
        visitor.emit(
            "message", {"client_id": f"f{i}", "text": "spam"}, namespace="/visitor", callback=True
        )
        for i in range(25)
    ]
    refused = [x for x in answers if "error" in x]
    assert len(refused) == 5 and refused[0]["error"] == "rate_limited"
    assert "too fast" in refused[0]["message"]
    assert visitor.is_connected("/visitor")
    assert events(visitor, "/visitor", "error")[0]["error"] == "rate_limited"


def test_bad_message_input_is_refused_and_stores_nothing(app, client, two_tenants):
    a = two_tenants.a
    visitor = visitor_socket(app, a, hello(client, a)["t"])
    before = count_messages(a)
    for payload, code in (
        ({"client_id": "b1", "text": "x" * 5001}, "too_long"),
        ({"client_id": "b2", "text": "   "}, "empty"),
        ({"text": "no id"}, "bad_client_id"),
        ({"client_id": "b3", "text": 42}, "bad_request"),
        (
            {"client_id": "b4", "text": "hi", "attachment_id": two_tenants.b.attachment.id},
            "not_found",
        ),
        ({"client_id": "b5", "text": "hi", "group_id": "abc"}, "bad_request"),
    ):
        answer = visitor.emit("message", payload, namespace="/visitor", callback=True)
        assert answer["error"] == code, payload
    assert visitor.emit("message", "not a dict", namespace="/visitor", callback=True)["error"]
    assert count_messages(a) == before


def test_round_robin_with_a_limit_then_the_queue(app, client, two_tenants):
    a = two_tenants.a
    from app.chat.service import settings

    bind_tenant(a.tenant.id)
    settings().max_chats_per_agent = 1
    db.commit()
    bind_tenant(None)
    agent = agent_socket(app, client, a.agent)  # takes the fixture's queued chat: now full
    taken = events(agent, "/agent", "conversation")
    assert (taken[-1]["id"], taken[-1]["assignee_id"]) == (a.conversation.id, a.agent.id)
    owner = agent_socket(app, app.test_client(), a.owner)
    assignees = []
    for i in range(2):
        visitor = visitor_socket(app, a, hello(app.test_client(), a)["t"])
        visitor.emit(
            "message",
            {"client_id": "q", "text": f"visitor {i}"},
            namespace="/visitor",
            callback=True,
        )
        conv = events(agent, "/agent", "conversation")[-1]
        assignees.append((conv["id"], conv["assignee_id"], conv["status"]))
    (first, first_to, _), (second, second_to, second_status) = assignees
    assert first_to == a.owner.id
    assert (second_to, second_status) == (None, "queued")  # everyone is at the limit
    owner.emit("close", {"conversation_id": first}, namespace="/agent", callback=True)
    after = {c["id"]: c for c in events(agent, "/agent", "conversation")}
    assert (after[second]["assignee_id"], after[second]["status"]) == (a.owner.id, "open")


def test_an_agent_left_behind_by_a_crashed_worker_stops_counting_as_online(
    app, client, two_tenants
):
    from datetime import timedelta

    from app.chat import service

    a = two_tenants.a
    agent_socket(app, client, a.agent)
    bind_tenant(a.tenant.id)
    assert [s.membership_id for s in service.online_agents()] == [a.agent.id]
    state = service.agent_state(a.agent.id)
    state.seen_at -= timedelta(minutes=2)  # no heartbeat since: its worker died
    db.commit()
    assert service.online_agents() == []
    assert service.agents_summary()[1]["status"] == "offline"


def test_one_visitor_cannot_act_on_another_visitors_chat(app, client, two_tenants):
    """Same shop, two visitors: ids from the other one's chat lead nowhere."""
    a = two_tenants.a
    intruder = visitor_socket(app, a, hello(client, a)["t"])
    rated = intruder.emit(
        "rate",
        {"conversation_id": a.conversation.id, "score": 1},
        namespace="/visitor",
        callback=True,
    )
    assert rated["error"] == "not_found"
    stolen = intruder.emit(
        "message",
        {"client_id": "i1", "text": "look", "attachment_id": a.attachment.id},
        namespace="/visitor",
        callback=True,
    )
    assert stolen["error"] == "not_found"
    history = intruder.emit("history", {"since": 0}, namespace="/visitor", callback=True)
    assert history == {"conversation": None, "messages": []}
    assert (
        app.test_client()
        .get(f"/w/files/{a.attachment.id}?t={hello(app.test_client(), a)['t']}")
        .status_code
        == 404
    )


def test_after_the_chat_is_closed_the_next_message_starts_a_new_one(app, client, two_tenants):
    """The socket remembers its open chat for the next message; a closed one is not written
    to (nor its seq spent), on this tab or on another one opened before the close."""
    a = two_tenants.a
    agent = agent_socket(app, client, a.agent)
    token = hello(app.test_client(), a)["t"]
    tab, other_tab = visitor_socket(app, a, token), visitor_socket(app, a, token)

    def say(sock, client_id):
        return sock.emit(
            "message",
            {"client_id": client_id, "text": client_id},
            namespace="/visitor",
            callback=True,
        )["message"]

    first, second = say(tab, "t1"), say(tab, "t2")
    assert (second["conversation_id"], second["seq"]) == (first["conversation_id"], 2)
    agent.emit("close", {"conversation_id": first["conversation_id"]}, namespace="/agent")
    after = say(other_tab, "t3")
    assert after["conversation_id"] != first["conversation_id"] and after["seq"] == 1
    assert say(tab, "t4")["conversation_id"] == after["conversation_id"]
    assert say(tab, "t3")["id"] == after["id"]  # a retry from the other tab: the stored one
    bind_tenant(a.tenant.id)
    closed = db.get(Conversation, first["conversation_id"])
    assert (closed.status, closed.last_seq) == ("closed", 2)
    bind_tenant(None)
