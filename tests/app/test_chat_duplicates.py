"""A visitor's message is stored once, whatever retries and races: its client id names it for
good (not only within one conversation), and a visitor never has two open conversations.
Real python-socketio clients against a real server process: the races are real ones."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
import socketio
from sqlalchemy import text

from ..live import LiveServer, agent_client, sign_up, visitor_client

DEADLINE = 10  # seconds, for every wait below
ROUNDS = 4  # fresh visitors per race: one lucky interleaving must not hide a duplicate


@pytest.fixture(scope="module")
def server(own_database):
    # Redis on the PostgreSQL pass (emits and rate counts through it, as in production). Shops
    # sign up and visitors connect from one address here, more than a real one would; the
    # counts in Redis outlive the run.
    live = LiveServer(
        own_database.app_url,
        os.environ.get("REDIS_URL"),
        extra_env={
            "FLOOD_LIMITS": json.dumps({"connect": "1000/minute"}),
            "SIGNUP_RATE_LIMIT": "1000 per hour",
        },
    )
    yield live
    live.stop()


def stored(engine, site_key: str) -> list[dict]:
    """The shop's conversations, oldest first, each with its visitor messages."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT c.id, c.status, c.visitor_id, m.client_id, m.body, m.seq, m.id AS mid "
                "FROM chat_conversations c JOIN tenants t ON t.id = c.tenant_id "
                "LEFT JOIN chat_messages m ON m.conversation_id = c.id AND m.sender = 'visitor' "
                "WHERE t.site_key = :k ORDER BY c.id, m.seq"
            ),
            {"k": site_key},
        ).all()
    conversations: dict[int, dict] = {}
    for row in rows:
        conversation = conversations.setdefault(
            row.id, {"id": row.id, "status": row.status, "visitor": row.visitor_id, "messages": []}
        )
        if row.mid is not None:
            conversation["messages"].append((row.client_id, row.body, row.seq, row.mid))
    return list(conversations.values())


def say(client: socketio.Client, client_id: str, text_: str) -> dict:
    answer = client.call(
        "message",
        {"client_id": client_id, "text": text_},
        namespace="/visitor",
        timeout=DEADLINE,
    )
    assert "message" in answer, answer
    return answer["message"]


def emit_without_waiting(sends: list[tuple[socketio.Client, str, str]]) -> list[dict]:
    """Every send emitted at once, none waiting for an answer; then every answer, in order."""
    answers: list[dict | None] = [None] * len(sends)
    done = threading.Semaphore(0)

    def on_answer(i: int):
        def record(answer):
            answers[i] = answer
            done.release()

        return record

    for i, (client, client_id, text_) in enumerate(sends):
        client.emit(
            "message",
            {"client_id": client_id, "text": text_},
            namespace="/visitor",
            callback=on_answer(i),
        )
    deadline = time.monotonic() + DEADLINE
    for _ in sends:
        assert done.acquire(timeout=max(0.0, deadline - time.monotonic())), answers
    for answer in answers:
        assert "message" in answer, answer
    return [answer["message"] for answer in answers]


def wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_message_resent_after_the_chat_was_closed_is_the_stored_one(server, owner_engine):
    session, site_key = sign_up(server, "dup-closed")
    agent, heard = agent_client(server, session)
    tab, token = visitor_client(server, site_key)
    first = say(tab, "closed-X", "Where is my parcel?")
    wait_for(lambda: len(heard) == 1, "the agent to hear the first message")
    closed = agent.call(
        "close", {"conversation_id": first["conversation_id"]}, namespace="/agent", timeout=5
    )
    assert closed["conversation"]["status"] == "closed"

    # The same tab resends (its ack was lost), and so does the page reloaded after the close.
    again_here = say(tab, "closed-X", "Where is my parcel?")
    reloaded, _ = visitor_client(server, site_key, token)
    again_there = say(reloaded, "closed-X", "Where is my parcel?")
    for again in (again_here, again_there):
        assert (again["id"], again["seq"], again["conversation_id"]) == (
            first["id"],
            first["seq"],
            first["conversation_id"],
        )
    # A new message does open a new chat…
    after = say(reloaded, "after-X", "Hello again")
    assert after["conversation_id"] != first["conversation_id"] and after["seq"] == 1
    # …and a resend while that new chat is open (on PostgreSQL: the one-round-trip path first).
    late = say(reloaded, "closed-X", "Where is my parcel?")
    assert (late["id"], late["conversation_id"]) == (first["id"], first["conversation_id"])
    # The agent heard each message once: a resend broadcasts nothing (the last one sent is
    # heard after anything a resend would have broadcast).
    last = say(reloaded, "last-X", "Thanks")
    assert (last["conversation_id"], last["seq"]) == (after["conversation_id"], 2)  # none spent
    wait_for(lambda: len(heard) >= 3, "the agent to hear the last message")
    assert [m["text"] for m in heard] == ["Where is my parcel?", "Hello again", "Thanks"]

    conversations = stored(owner_engine, site_key)
    assert [[m[0] for m in c["messages"]] for c in conversations] == [
        ["closed-X"],
        ["after-X", "last-X"],
    ]
    assert [c["status"] == "closed" for c in conversations] == [True, False]
    for client in (tab, reloaded, agent):
        client.disconnect()


def test_a_new_visitor_sending_one_message_three_times_at_once_stores_it_once(server, owner_engine):
    _, site_key = sign_up(server, "dup-thrice")
    for round_ in range(ROUNDS):
        visitor, _ = visitor_client(server, site_key)
        client_id = f"thrice-{round_}"
        acks = emit_without_waiting([(visitor, client_id, "Do you ship abroad?")] * 3)
        assert len({(m["id"], m["seq"], m["conversation_id"]) for m in acks}) == 1, acks
        visitor.disconnect()

    conversations = stored(owner_engine, site_key)
    assert len({c["visitor"] for c in conversations}) == len(conversations) == ROUNDS
    for round_, conversation in enumerate(conversations):
        assert [m[:3] for m in conversation["messages"]] == [
            (f"thrice-{round_}", "Do you ship abroad?", 1)
        ]


def test_two_tabs_sending_the_same_first_message_store_it_once(server, owner_engine):
    _, site_key = sign_up(server, "dup-tabs")
    for round_ in range(ROUNDS):
        one, token = visitor_client(server, site_key)
        two, _ = visitor_client(server, site_key, token)
        client_id = f"tabs-{round_}"
        acks = emit_without_waiting([(one, client_id, "Hi"), (two, client_id, "Hi")])
        assert acks[0]["id"] == acks[1]["id"] and acks[0]["seq"] == acks[1]["seq"] == 1, acks
        one.disconnect()
        two.disconnect()

    conversations = stored(owner_engine, site_key)
    assert len(conversations) == ROUNDS
    assert [[m[0] for m in c["messages"]] for c in conversations] == [
        [f"tabs-{round_}"] for round_ in range(ROUNDS)
    ]


def test_two_different_first_messages_at_once_open_one_conversation(server, owner_engine):
    _, site_key = sign_up(server, "dup-two-firsts")
    for round_ in range(ROUNDS):
        one, token = visitor_client(server, site_key)
        two, _ = visitor_client(server, site_key, token)
        acks = emit_without_waiting(
            [(one, f"a-{round_}", "Is it in stock?"), (two, f"b-{round_}", "What colours?")]
        )
        assert acks[0]["conversation_id"] == acks[1]["conversation_id"], acks
        assert sorted(m["seq"] for m in acks) == [1, 2]
        one.disconnect()
        two.disconnect()

    conversations = stored(owner_engine, site_key)
    assert len(conversations) == ROUNDS  # one per visitor, each holding both messages
    for round_, conversation in enumerate(conversations):
        assert conversation["status"] != "closed"
        assert sorted(m[0] for m in conversation["messages"]) == [f"a-{round_}", f"b-{round_}"]
