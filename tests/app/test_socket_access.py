"""Sockets follow membership and sessions: disabling a member, logging out, resetting a
password or suspending the shop ends the sockets already open, at once, through real
python-socketio clients against a real server; and every agent event re-checks the right."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pyotp
import pytest
import redis
import requests
import socketio
from sqlalchemy import text

from app.chat.peers import LISTENER

from ..live import (
    LiveServer,
    create_staff,
    csrf_token,
    invite,
    reset_password,
    sign_up,
    visitor_client,
)

PASSWORD = "a-good-password"
DEADLINE = 10.0  # seconds for a disconnection to arrive


class Agent:
    """A python-socketio client on /agent with the cookie of ``session``."""

    def __init__(self, server: LiveServer, session: requests.Session) -> None:
        self.messages: list = []
        self.gone = threading.Event()
        self.client = socketio.Client(reconnection=False)
        self.client.on("message", self.messages.append, namespace="/agent")
        self.client.on("disconnect", lambda *_: self.gone.set(), namespace="/agent")
        self.snapshot: dict = {}
        self.client.on("snapshot", self.snapshot.update, namespace="/agent")
        self.client.connect(
            server.url,
            namespaces=["/agent"],
            headers={"Cookie": "; ".join(f"{c.name}={c.value}" for c in session.cookies)},
            transports=["websocket"],
            wait_timeout=10,
        )
        status = self.client.call("status", {"status": "online"}, namespace="/agent")
        assert status == {"status": "online"}

    def disconnected(self) -> bool:
        return self.gone.wait(DEADLINE)


def _visitor(server: LiveServer, site_key: str) -> tuple[socketio.Client, threading.Event]:
    client, _ = visitor_client(server, site_key)
    gone = threading.Event()
    client.on("disconnect", lambda *_: gone.set(), namespace="/visitor")
    return client, gone


def _invite_agent(server: LiveServer, owner: requests.Session, label: str) -> requests.Session:
    """An agent through the real invitation: their signed-in session."""
    link = invite(server, owner, f"agent-{label}@example.com")
    agent = requests.Session()
    agent.headers["Accept-Language"] = "en"
    accepted = agent.post(
        link, data={"csrf_token": csrf_token(agent, link), "name": "Agent", "password": PASSWORD}
    )
    assert "/console/" in accepted.url
    return agent


@pytest.fixture(scope="module")
def server(own_database):
    server = LiveServer(own_database.app_url, os.environ.get("REDIS_URL"))
    yield server
    server.stop()


@pytest.fixture
def shop(server):
    label = f"acc{uuid.uuid4().hex[:8]}"
    owner, site_key = sign_up(server, label)
    return label, owner, site_key


def _say(visitor: socketio.Client, text: str) -> None:
    ack = visitor.call(
        "message", {"client_id": uuid.uuid4().hex, "text": text}, namespace="/visitor"
    )
    assert "message" in ack, ack


def test_a_disabled_member_is_disconnected_at_once_and_hears_nothing_more(server, shop):
    label, owner, site_key = shop
    agent = Agent(server, _invite_agent(server, owner, label))
    member_id = agent.snapshot["me"]["id"]
    owners_socket = Agent(server, owner)
    visitor, _ = _visitor(server, site_key)
    _say(visitor, "before")
    disabled = owner.post(
        f"{server.url}/console/members/{member_id}/disable",
        data={"csrf_token": csrf_token(owner, f"{server.url}/console/members")},
    )
    assert disabled.status_code == 200
    assert agent.disconnected()
    heard = len(agent.messages)
    _say(visitor, "after")
    deadline = time.monotonic() + DEADLINE
    while not any(m["text"] == "after" for m in owners_socket.messages):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert len(agent.messages) == heard and not owners_socket.gone.is_set()
    for client in (visitor, owners_socket.client):
        client.disconnect()


def test_logging_out_ends_the_socket_and_every_copy_of_the_cookie(server, shop):
    _, owner, _ = shop
    copy = requests.Session()
    copy.cookies.update(owner.cookies)
    sock = Agent(server, owner)
    owner.post(
        f"{server.url}/logout", data={"csrf_token": csrf_token(owner, f"{server.url}/console/")}
    )
    assert sock.disconnected()
    assert "/login" in copy.get(f"{server.url}/console/").url  # the saved copy is dead too
    with pytest.raises(socketio.exceptions.ConnectionError):
        Agent(server, copy)


def test_a_password_reset_ends_sockets_opened_before_it(server, shop):
    label, owner, _ = shop
    sock = Agent(server, owner)
    reset_password(server, f"{label}@example.com", "new-pass-123")
    assert sock.disconnected()
    assert "/login" in owner.get(f"{server.url}/console/").url


def test_suspending_a_shop_disconnects_its_visitors_and_agents_only(server, shop, owner_engine):
    _, owner, site_key = shop
    other_owner, other_key = sign_up(server, f"other{uuid.uuid4().hex[:8]}")
    sock, other_sock = Agent(server, owner), Agent(server, other_owner)
    visitor, visitor_gone = _visitor(server, site_key)
    other_visitor, other_visitor_gone = _visitor(server, other_key)
    with owner_engine.connect() as connection:
        tenant_id = connection.scalar(
            text("SELECT id FROM tenants WHERE site_key = :k"), {"k": site_key}
        )
    email = f"ops-{uuid.uuid4().hex[:8]}@staff.example.com"
    secret = create_staff(server, email, "staff-pass-123")
    staff = requests.Session()
    staff.post(
        f"{server.url}/backoffice/login",
        data={
            "csrf_token": csrf_token(staff, f"{server.url}/backoffice/login"),
            "email": email,
            "password": "staff-pass-123",
            "code": pyotp.TOTP(secret).now(),
        },
    )
    page = f"{server.url}/backoffice/tenants/{tenant_id}"
    suspended = staff.post(
        f"{page}/suspend", data={"csrf_token": csrf_token(staff, page), "reason": "abuse reports"}
    )
    assert suspended.status_code == 200 and "suspended" in suspended.text
    assert sock.disconnected() and visitor_gone.wait(DEADLINE)
    time.sleep(0.5)  # the other shop's sockets stay
    assert not other_sock.gone.is_set() and not other_visitor_gone.is_set()
    for client in (other_sock.client, other_visitor):
        client.disconnect()


def test_every_agent_event_rechecks_the_member(server, shop, owner_engine):
    """Even when no disconnection arrived (a worker that missed it), the agent's next event is
    refused and the socket closed."""
    label, owner, _ = shop
    agent = Agent(server, _invite_agent(server, owner, label))
    assert agent.client.call("status", {"status": "away"}, namespace="/agent") == {"status": "away"}
    with owner_engine.begin() as connection:  # behind the app's back: nothing is published
        connection.execute(
            text("UPDATE memberships SET status = 'disabled' WHERE id = :m"),
            {"m": agent.snapshot["me"]["id"]},
        )
    refused = agent.client.call("status", {"status": "online"}, namespace="/agent")
    assert refused["error"] == "unauthorized"
    assert agent.disconnected()


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="workers share Redis (PostgreSQL pass)")
def test_a_worker_that_lost_its_redis_subscription_subscribes_again(server, shop):
    """Pub/sub keeps nothing: what is published while a worker is not subscribed is lost to
    it (its agents' next events still re-check). Once it has subscribed again, it hears."""
    label, owner, _ = shop
    agent = Agent(server, _invite_agent(server, owner, label))
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    name = f"{LISTENER}-{server.process.pid}"
    listeners = [c for c in client.client_list() if c["name"] == name]
    assert listeners
    for listener in listeners:
        client.client_kill_filter(_id=listener["id"])
    time.sleep(4)  # the worker notices, waits a second and subscribes again
    owner.post(
        f"{server.url}/console/members/{agent.snapshot['me']['id']}/disable",
        data={"csrf_token": csrf_token(owner, f"{server.url}/console/members")},
    )
    assert agent.disconnected()
