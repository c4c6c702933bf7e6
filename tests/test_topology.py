"""The production topology as ``make serve-prod`` starts it (deploy/serve.py): nginx in front
of two web workers, a job worker and the clock, on PostgreSQL + Redis. Everything goes
through nginx: a visitor in Chromium with the real widget chats with an agent held on the
other worker, and keeps every acknowledged message, once, when their worker is killed."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.request import urlopen

import pytest
import requests
import socketio
from sqlalchemy import text

from .conftest import BACKEND, free_port
from .e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from .live import ROOT, sign_up

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        BACKEND != "postgresql" or not os.environ.get("REDIS_URL"),
        reason="the production topology runs on PostgreSQL + Redis",
    ),
]
START_DEADLINE = 90  # seconds: migrations, then four Python processes on a shared machine
DEADLINE = 20  # seconds, for every other wait


class Topology:
    """deploy/serve.py in a session of its own, so every process it starts can be ended."""

    def __init__(self, database, redis_url: str, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.port = free_port()
        self.web_ports = {"w1": free_port(), "w2": free_port()}
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "MIGRATIONS_DATABASE_URL": database.owner_url,
            "DATABASE_URL": database.app_url,
            "PLATFORM_DATABASE_URL": database.platform_url,
            "REDIS_URL": redis_url,
            "HUIKE_INSTANCE": str(run_dir / "instance"),
            "RUN_DIR": str(run_dir),
            "PORT": str(self.port),
            "WEB_PORTS": f"{self.web_ports['w1']},{self.web_ports['w2']}",
            "RESTART_DELAY": "3",
            "SECRET_KEY": "topology-test-secret",
            "LOG_LEVEL": "WARNING",
            # every client here comes from 127.0.0.1, and the counts in Redis outlive a run
            "FLOOD_LIMITS": json.dumps({"connect": "1000/minute", "hello": "1000/minute"}),
            "SIGNUP_RATE_LIMIT": "1000 per hour",
        }
        self.output = open(run_dir / "serve.log", "wb")  # noqa: SIM115
        self.launcher = subprocess.Popen(
            [sys.executable, "deploy/serve.py"],
            cwd=ROOT,
            env=env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_until_serving()

    def wait_until_serving(self) -> None:
        addresses = [self.url, *(f"http://127.0.0.1:{p}" for p in self.web_ports.values())]
        deadline = time.monotonic() + START_DEADLINE
        while not all(map(answers, addresses)):
            if self.launcher.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve-prod did not start: {self.logs()}")
            time.sleep(0.3)

    def pid(self, name: str) -> int:
        return int((self.run_dir / f"{name}.pid").read_text())

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in [self.run_dir / "serve.log", *sorted(self.run_dir.glob("logs/*.log"))]
        )

    def stop(self) -> None:
        """As Ctrl-C would; then whatever is left of its process group, killed."""
        self.launcher.send_signal(signal.SIGTERM)
        try:
            self.launcher.wait(timeout=20)
        finally:
            with contextlib.suppress(ProcessLookupError):  # everything had exited
                os.killpg(self.launcher.pid, signal.SIGKILL)
            self.output.close()


def answers(url: str) -> bool:
    try:
        with urlopen(f"{url}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_for(predicate, what: str, page=None, deadline: float = DEADLINE) -> None:
    """Polls; through the page's clock when there is one, so its events keep coming."""
    ends = time.monotonic() + deadline
    while not predicate():
        assert time.monotonic() < ends, f"timed out waiting for {what}"
        if page is not None:
            page.wait_for_timeout(50)
        else:
            time.sleep(0.05)


@pytest.fixture(scope="module")
def topology(own_database, tmp_path_factory):
    served = Topology(own_database, os.environ["REDIS_URL"], tmp_path_factory.mktemp("serve"))
    print(f"serve-prod's files: {served.run_dir}")  # shown when a test fails
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args) -> None:
        """The shop's own web server: its access log is not the test's business."""


@pytest.fixture
def shop(topology, tmp_path):
    """A shop signed up through nginx, and its page on another origin with the snippet."""
    session, site_key = sign_up(topology, f"topology-{uuid.uuid4().hex[:6]}")
    (tmp_path / "index.html").write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Tea</title></head>"
        f'<body><h1>Tea</h1><script async src="{topology.url}/w/{site_key}.js"></script>'
        "</body></html>"
    )
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield session, site_key, f"http://127.0.0.1:{server.server_port}/index.html"
    server.shutdown()


class Agent:
    """The console's socket through nginx, on long-polling: the transport that needs every
    request of a session on one worker (WebSocket holds one connection anyway)."""

    def __init__(self, url: str, session: requests.Session) -> None:
        self.received: list[dict] = []
        self.client = socketio.Client(reconnection=False)
        self.client.on("message", self.received.append, namespace="/agent")
        self.client.connect(
            url,
            namespaces=["/agent"],
            headers={"Cookie": "; ".join(f"{c.name}={c.value}" for c in session.cookies)},
            transports=["polling"],
            wait_timeout=DEADLINE,
        )
        self.node = self.client.eio.sid.split(".")[0]  # the worker's name starts the session
        self.call("status", {"status": "online"})

    def call(self, event: str, data: dict) -> dict:
        return self.client.call(event, data, namespace="/agent", timeout=DEADLINE)


def agents_on_both_workers(url: str, session: requests.Session) -> dict[str, Agent]:
    """New connections go to the worker with fewer: a few tries give one agent on each."""
    agents: dict[str, Agent] = {}
    for _ in range(8):
        agent = Agent(url, session)
        if agent.node in agents:
            agent.client.disconnect()
        agents.setdefault(agent.node, agent)
        if len(agents) == 2:
            return agents
    raise AssertionError(f"every agent landed on {list(agents)}")


class VisitorFrames:
    """What the widget's WebSockets carried: which worker each session was on, what it sent,
    and what the server acknowledged."""

    def __init__(self, page, nginx_url: str) -> None:
        self.nodes: list[str] = []  # per connection, in order
        self.sent: list[dict] = []  # every "message" emitted, resends too
        self.acked: dict[str, dict] = {}  # text -> the stored message the ack carried
        self.nginx = nginx_url.replace("http://", "ws://")
        page.on("websocket", self._socket)

    def _socket(self, ws) -> None:
        assert ws.url.startswith(self.nginx), ws.url  # through nginx, never around it
        ws.on("framereceived", self._received)
        ws.on("framesent", self._sent)

    def _received(self, payload) -> None:
        if payload.startswith("0{"):  # Engine.IO's open packet names the session
            self.nodes.append(json.loads(payload[1:])["sid"].split(".")[0])
        elif payload.startswith("43/visitor,"):
            answer = json.loads(payload[payload.index("[") :])[0]
            if isinstance(answer, dict) and "message" in answer:
                self.acked[answer["message"]["text"]] = answer["message"]

    def _sent(self, payload) -> None:
        if payload.startswith("42/visitor,") and '"message"' in payload:
            event, data = json.loads(payload[payload.index("[") :])
            if event == "message":
                self.sent.append(data)


def stored_messages(engine, site_key: str) -> list[tuple[str, str, str, int]]:
    """The shop's messages as the database has them: (sender, client id, text, seq)."""
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text(
                    "SELECT m.sender, m.client_id, m.body, m.seq FROM chat_messages m "
                    "JOIN tenants t ON t.id = m.tenant_id WHERE t.site_key = :k ORDER BY m.seq"
                ),
                {"k": site_key},
            )
        ]


def test_a_visitor_and_an_agent_on_two_workers_chat_and_a_killed_worker_loses_nothing(
    topology, shop, browser, owner_engine
):
    session, site_key, shop_url = shop
    agents = agents_on_both_workers(topology.url, session)
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    visitor = VisitorFrames(page, topology.url)
    try:
        page.goto(shop_url)
        widget = page.locator("huike-widget")
        widget.locator("button.b").click()
        box = widget.locator("textarea").first

        def say(words: str) -> None:
            box.fill(words)
            box.press("Enter")

        say("hello across workers")
        wait_for(lambda: "hello across workers" in visitor.acked, "the first ack", page)
        near = visitor.nodes[-1]
        far = "w2" if near == "w1" else "w1"
        agent = agents[far]  # held by the other worker: only Redis connects the two
        wait_for(lambda: agent.received, "the message at the agent on the other worker", page)
        assert agent.received[0]["text"] == "hello across workers"
        conversation = agent.received[0]["conversation_id"]
        agent.call("open", {"conversation_id": conversation})
        reply = agent.call(
            "send", {"conversation_id": conversation, "client_id": "a1", "text": "Hi from far"}
        )
        assert reply["message"]["seq"] == 2
        replies = widget.locator(".m.a .bb")
        wait_for(
            lambda: replies.count() and replies.last.inner_text() == "Hi from far",
            "the reply",
            page,
        )

        # Mid-chat, the visitor's worker dies (no goodbye); the widget goes on typing.
        words = [f"m{i}" for i in range(1, 11)]
        killed = topology.pid(near)
        for i, word in enumerate(words):
            say(word)
            if i == 3:  # m4 is on its way
                os.kill(killed, signal.SIGKILL)
        wait_for(lambda: len(visitor.nodes) >= 2, "the visitor's reconnection", page)
        rejoined = visitor.nodes[1:]
        assert rejoined == [far] * len(rejoined)  # through nginx, to the survivor
        wait_for(lambda: all(w in visitor.acked for w in words), "every message's ack", page)
        wait_for(
            lambda: {m["text"] for m in agent.received} >= set(words),
            "every message at the agent",
            page,
        )
    finally:
        context.close()
        for each in agents.values():
            each.client.disconnect()

    acked = {w: (visitor.acked[w]["client_id"], visitor.acked[w]["seq"]) for w in words}
    stored = stored_messages(owner_engine, site_key)
    # the database: every message once, each acknowledged one where its ack said
    assert [seq for *_, seq in stored] == list(range(1, len(stored) + 1))
    visitor_rows = {
        body: (client_id, seq) for sender, client_id, body, seq in stored if sender == "visitor"
    }
    assert sorted(visitor_rows) == sorted(["hello across workers", *words])
    assert len(visitor_rows) == len(stored) - 1  # no text twice; besides, the agent's reply
    assert {w: visitor_rows[w] for w in words} == acked
    # the agent: every message once, with the seq the database gave it
    at_agent = [
        (m["text"], m["client_id"], m["seq"]) for m in agent.received if m["sender"] == "visitor"
    ]
    assert sorted(at_agent) == sorted((w, *visitor_rows[w]) for w in visitor_rows)
    resent = len(visitor.sent) - len({m["client_id"] for m in visitor.sent})
    print(f"visitor: {near} killed, then on {rejoined}; {resent} message(s) sent again")

    # serve-prod starts the killed worker again
    back = f"http://127.0.0.1:{topology.web_ports[near]}"
    wait_for(lambda: answers(back), f"{near} to be back", deadline=60)
    assert topology.pid(near) != killed
