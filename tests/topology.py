"""The production topology as ``make serve-prod`` starts it (deploy/serve.py), and what the
topology test watches it with: an SMTP server, an agent's socket, the widget's frames."""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path
from urllib.request import urlopen

import requests
import socketio
from sqlalchemy import text

from .conftest import free_port
from .live import ROOT

START_DEADLINE = 90  # seconds: migrations, then four Python processes on a shared machine
DEADLINE = 20  # seconds, for every other wait


class Topology:
    """deploy/serve.py in a session of its own, so every process it starts can be ended."""

    def __init__(self, database, redis_url: str, smtp_port: int, run_dir: Path) -> None:
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
            "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "LOG_LEVEL": "WARNING",
            # every client here comes from 127.0.0.1, and the counts in Redis outlive a run
            "FLOOD_LIMITS": json.dumps({"connect": "1000/minute", "hello": "1000/minute"}),
            "SIGNUP_RATE_LIMIT": "1000 per hour",
            "LOGIN_RATE_LIMIT": "1000 per minute",
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


class Inbox:
    """A real SMTP server on the loopback: every mail that reaches it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mails: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.mails.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


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
    the messages acknowledged, and every stored message the server told it about (an ack,
    the broadcast of its own message, a history answer after reconnecting), by text:
    {(client id, seq)}."""

    def __init__(self, page, nginx_url: str) -> None:
        self.nodes: list[str] = []  # per connection, in order
        self.sent: list[dict] = []  # every "message" emitted, resends too
        self.acked: set[str] = set()
        self.confirmed: dict[str, set[tuple[str, int]]] = {}
        self.nginx = nginx_url.replace("http://", "ws://")
        page.on("websocket", self._socket)

    def _socket(self, ws) -> None:
        assert ws.url.startswith(self.nginx), ws.url  # through nginx, never around it
        ws.on("framereceived", self._received)
        ws.on("framesent", self._sent)

    def _received(self, payload) -> None:
        if payload.startswith("0{"):  # Engine.IO's open packet names the session
            self.nodes.append(json.loads(payload[1:])["sid"].split(".")[0])
        elif payload.startswith(("42/visitor,", "43/visitor,")):
            body = json.loads(payload[payload.index("[") :])
            if payload.startswith("42"):  # an event: ["message", message]
                stored = [body[1]] if body[0] == "message" else []
            else:  # an ack: {"message": …} or a history answer {"messages": […]}
                answer = body[0] if isinstance(body[0], dict) else {}
                stored = answer.get("messages") or [answer.get("message") or {}]
                if "message" in answer:
                    self.acked.add(answer["message"]["text"])
            for message in stored:
                if message.get("sender") == "visitor":
                    pair = (message["client_id"], message["seq"])
                    self.confirmed.setdefault(message["text"], set()).add(pair)

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
