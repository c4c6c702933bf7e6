"""The chat across real server processes, with python-socketio clients: a crash loses no
acknowledged message and duplicates none; two workers share Redis; a slow query on
PostgreSQL does not stall other clients (eventlet + psycogreen); overlapping page views on
SQLite do not freeze a green server; threading mode starts without a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.request import urlopen

import pytest
import requests
import socketio
from sqlalchemy import create_engine, text

from tenants.db import database_url

from .conftest import BACKEND, free_port
from .live import ROOT, LiveServer, agent_client, sign_up, visitor_client


def test_a_crash_loses_no_acknowledged_message_and_a_resend_duplicates_none(database):
    server = LiveServer(database.app_url)
    _, site_key = sign_up(server, "crash")
    visitor, token = visitor_client(server, site_key)
    acked: dict[str, int] = {}
    sent = [f"m{i}" for i in range(16)]  # under the flood limit of 20 per 10 s

    def chatter():
        for client_id in sent:
            try:
                answer = visitor.call(
                    "message",
                    {"client_id": client_id, "text": client_id},
                    namespace="/visitor",
                    timeout=5,
                )
            except Exception:  # the server died under us
                return
            acked[client_id] = answer["message"]["seq"]

    talking = threading.Thread(target=chatter)
    talking.start()
    while len(acked) < 5:
        time.sleep(0.01)
    server.kill()
    talking.join(timeout=10)
    visitor.disconnect()
    assert 5 <= len(acked) < len(sent)

    server = server.restart()
    try:
        again = socketio.Client(reconnection=False)
        again.connect(
            server.url,
            namespaces=["/visitor"],
            auth={"k": site_key, "t": token},
            transports=["websocket"],
            wait_timeout=10,
        )
        for client_id in sent:  # the client resends all it has no ack for (and some it has)
            again.call(
                "message",
                {"client_id": client_id, "text": client_id},
                namespace="/visitor",
                timeout=5,
            )
        history = again.call("history", {"since": 0}, namespace="/visitor", timeout=5)
        again.disconnect()
    finally:
        server.stop()
    texts = [m["text"] for m in history["messages"]]
    assert sorted(texts) == sorted(sent)  # every message once
    assert [m["seq"] for m in history["messages"]] == list(range(1, len(sent) + 1))
    for client_id, seq in acked.items():  # acknowledged ones kept their place
        assert history["messages"][seq - 1]["text"] == client_id


def test_a_closed_chat_takes_no_more_messages_and_a_resend_is_stored_once(database):
    """On a real server (PostgreSQL: one round trip per message), the open chat the socket
    remembers: closed by the agent, the next message starts a new one; a resent client id
    answers with the stored message and spends no seq."""
    server = LiveServer(database.app_url)
    try:
        session, site_key = sign_up(server, "closing")
        agent, _ = agent_client(server, session)
        visitor, _ = visitor_client(server, site_key)

        def say(client_id: str) -> dict:
            answer = visitor.call(
                "message", {"client_id": client_id, "text": client_id}, namespace="/visitor"
            )
            return answer["message"]

        first = say("c1")
        assert say("c1")["id"] == first["id"]  # a resend
        second = say("c2")
        assert (second["conversation_id"], second["seq"]) == (first["conversation_id"], 2)
        closed = agent.call(
            "close", {"conversation_id": first["conversation_id"]}, namespace="/agent"
        )
        assert closed["conversation"]["status"] == "closed"
        third = say("c3")
        assert third["conversation_id"] != first["conversation_id"] and third["seq"] == 1
        history = visitor.call("history", {"since": 0}, namespace="/visitor")
        assert [m["text"] for m in history["messages"]] == ["c3"]
        visitor.disconnect()
        agent.disconnect()
    finally:
        server.stop()


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (the PostgreSQL pass)")
def test_a_visitor_on_one_worker_reaches_an_agent_on_another(database):
    redis_url = os.environ["REDIS_URL"]
    one = LiveServer(database.app_url, redis_url)
    two = LiveServer(database.app_url, redis_url)
    try:
        session, site_key = sign_up(one, "redis")
        agent, received = agent_client(two, session)
        visitor, _ = visitor_client(one, site_key)
        visitor.call(
            "message",
            {"client_id": "r1", "text": "across workers"},
            namespace="/visitor",
            timeout=5,
        )
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [m["text"] for m in received] == ["across workers"]
        visitor.disconnect()
        agent.disconnect()
    finally:
        one.stop()
        two.stop()


@pytest.mark.skipif(BACKEND != "postgresql", reason="the green PostgreSQL driver")
def test_a_blocked_query_does_not_stall_other_clients(database):
    server = LiveServer(database.app_url)
    try:
        _, key_slow = sign_up(server, "slow")
        _, key_fast = sign_up(server, "fast")
        slow, _ = visitor_client(server, key_slow)
        fast, _ = visitor_client(server, key_fast)
        first = slow.call("message", {"client_id": "s0", "text": "hi"}, namespace="/visitor")
        conversation_id = first["message"]["conversation_id"]
        # Another session holds the slow shop's conversation row: its next message must wait.
        blocker = create_engine(database_url(database.owner_url)).connect()
        blocker.execute(
            text("SELECT 1 FROM chat_conversations WHERE id = :i FOR UPDATE"),
            {"i": conversation_id},
        )
        waiting: dict = {}
        stuck = threading.Thread(
            target=lambda: waiting.update(
                slow.call(
                    "message",
                    {"client_id": "s1", "text": "waits"},
                    namespace="/visitor",
                    timeout=20,
                )
            )
        )
        stuck.start()
        time.sleep(0.5)
        started = time.monotonic()
        answer = fast.call(
            "message", {"client_id": "f1", "text": "goes"}, namespace="/visitor", timeout=5
        )
        elapsed = time.monotonic() - started
        assert answer["message"]["text"] == "goes"
        assert not waiting  # the other is still blocked in the database…
        assert elapsed < 1.0  # …while this one was answered at once
        blocker.rollback()
        blocker.close()
        stuck.join(timeout=10)
        assert waiting["message"]["text"] == "waits"
        slow.disconnect()
        fast.disconnect()
    finally:
        server.stop()


@pytest.mark.parametrize("async_mode", ["eventlet", "gevent"])
def test_overlapping_page_views_on_sqlite_do_not_freeze_a_green_server(async_mode):
    """On SQLite every transaction holds the write lock from its first query; a green thread
    that then waited (a flood check's timer thread, Redis) left the next request blocking the
    one OS thread in SQLite's busy wait: 30 s for everyone, then a 500. With Redis (the
    PostgreSQL pass) flood checks and emits go through it, so both waits are exercised."""
    instance = Path(tempfile.mkdtemp(prefix="huike-sqlite-green-"))
    url = f"sqlite:///{instance / 'huike.db'}"
    env = {**os.environ, "DATABASE_URL": url, "HUIKE_INSTANCE": str(instance)}
    env.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "huike", "init"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    server = LiveServer(
        url, os.environ.get("REDIS_URL"), instance=instance, extra_env={"ASYNC_MODE": async_mode}
    )
    try:
        _, site_key = sign_up(server, f"green-{async_mode}")

        def hello(i: int) -> int:
            return requests.post(
                f"{server.url}/w/api/hello",
                json={"k": site_key, "url": f"https://shop.example/p/{i}", "title": "P"},
                timeout=25,
            ).status_code

        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(hello, range(40)))
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    assert statuses == [200] * 40
    assert elapsed < 10  # one stall alone was 30 s


def test_threading_mode_starts_without_a_terminal():
    """Flask-SocketIO refuses Werkzeug's server unless stdin is a terminal; wsgi.py says it
    means it, so the threading worker starts under systemd, nohup or CI too."""
    port = free_port()
    instance = Path(tempfile.mkdtemp(prefix="huike-threading-"))
    env = {
        **os.environ,
        "ASYNC_MODE": "threading",
        "PORT": str(port),
        "HUIKE_INSTANCE": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'huike.db'}",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    with open(instance / "server.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "wsgi.py"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        try:
            deadline, answered = time.monotonic() + 30, False
            while time.monotonic() < deadline and process.poll() is None and not answered:
                try:
                    with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                        answered = response.status == 200
                except OSError:
                    time.sleep(0.2)
        finally:
            exited = process.poll()
            process.terminate()
            process.wait(timeout=10)
    assert exited is None, (instance / "server.log").read_text()[-2000:]
    assert answered
