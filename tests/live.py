"""A real Huike server process (``wsgi.py``), for tests that need one: browsers, restarts,
several workers over Redis."""

from __future__ import annotations

import email
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

import requests
import socketio

from .conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


class LiveServer:
    def __init__(
        self,
        database_url: str,
        redis_url: str | None = None,
        port: int = 0,
        instance: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.extra_env = extra_env or {}
        self.database_url, self.redis_url = database_url, redis_url
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.instance = instance or Path(tempfile.mkdtemp(prefix="huike-live-"))
        self.outbox = self.instance / "outbox"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "HUIKE_INSTANCE": str(self.instance),
            "PORT": str(self.port),
            "ASYNC_MODE": "eventlet",
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": "live-test-secret",  # the same in every process: tokens carry over
            # live tests sign up many shops from one address, and with Redis the count is
            # shared by every server of the run (tests/app/test_accounts.py tests the limit)
            "SIGNUP_RATE_LIMIT": "1000 per hour",
        }
        env.pop("REDIS_URL", None)
        if redis_url:
            env["REDIS_URL"] = redis_url
        env.update(self.extra_env)
        self.log = open(self.instance / f"server-{self.port}.log", "a")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "wsgi.py"], cwd=ROOT, env=env, stdout=self.log, stderr=self.log
        )
        # With Redis the server queues its jobs (mail) there, for a job worker to run, as in
        # production; without it the server runs them itself.
        self.jobs = None
        if redis_url:
            self.jobs = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "app", "huike", "jobs"],
                cwd=ROOT,
                env={**env, "ASYNC_MODE": "threading"},
                stdout=self.log,
                stderr=self.log,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        log = (self.instance / f"server-{self.port}.log").read_text()
        raise RuntimeError(f"server did not start: {log}")

    def restart(self) -> LiveServer:
        """The same server again, on the same port and instance folder."""
        return LiveServer(
            self.database_url, self.redis_url, self.port, self.instance, self.extra_env
        )

    def kill(self) -> None:
        """As a crash would: no shutdown, no goodbye."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._stop_jobs()
        self.log.close()

    def last_mail(self, to: str) -> str:
        """The body of the newest mail to ``to``, once it is there (a job sends it after the
        request's commit)."""
        deadline = time.monotonic() + 10
        while True:
            for path in sorted(self.outbox.glob("*.eml"), reverse=True):
                mail = email.message_from_bytes(path.read_bytes())
                if mail["To"] == to:
                    return mail.get_payload(decode=True).decode()
            if time.monotonic() > deadline:
                raise TimeoutError(f"no mail to {to} in {self.outbox} after 10 s")
            time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self._stop_jobs()
        self.log.close()

    def _stop_jobs(self) -> None:
        if self.jobs is not None:
            self.jobs.terminate()
            self.jobs.wait(timeout=10)


def sign_up(server: LiveServer, label: str) -> tuple[requests.Session, str]:
    """A new shop through the real signup form: (the owner's signed-in session, site key)."""
    session = requests.Session()
    session.headers["Accept-Language"] = "en"  # the owner's language: tests read English
    page = session.get(f"{server.url}/signup").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = session.post(
        f"{server.url}/signup",
        data={
            "csrf_token": token,
            "shop_name": f"Shop {label}",
            "name": f"Owner {label}",
            "email": f"{label}@example.com",
            "password": "a-good-password",
        },
    )
    assert response.status_code == 200 and "/console/" in response.url, response.text[:500]
    site_key = re.search(r"/w/([\w-]+)\.js", response.text).group(1)
    return session, site_key


def visitor_client(
    server: LiveServer, site_key: str, token: str | None = None
) -> tuple[socketio.Client, str]:
    """A visitor's page (the widget's hello, then its socket): a new visitor, or with
    ``token`` the same visitor again (another tab, a reload)."""
    hello = requests.post(
        f"{server.url}/w/api/hello",
        json={"k": site_key, "t": token, "url": "https://shop.example/p", "title": "P"},
        timeout=10,
    ).json()
    client = socketio.Client(reconnection=False)
    client.connect(
        server.url,
        namespaces=["/visitor"],
        auth={"k": site_key, "t": hello["t"]},
        transports=["websocket"],
        wait_timeout=10,
    )
    return client, hello["t"]


def agent_client(server: LiveServer, session: requests.Session) -> tuple[socketio.Client, list]:
    received: list = []
    client = socketio.Client(reconnection=False)
    client.on("message", lambda data: received.append(data), namespace="/agent")
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    client.connect(
        server.url,
        namespaces=["/agent"],
        headers={"Cookie": cookie},
        transports=["websocket"],
        wait_timeout=10,
    )
    assert client.call("status", {"status": "online"}, namespace="/agent") == {"status": "online"}
    return client, received


def csrf_token(session: requests.Session, url: str) -> str:
    """The CSRF token of the form on the page at ``url``, as a browser would post it."""
    page = session.get(url).text
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def api_key(server: LiveServer, owner: requests.Session, name: str = "Server") -> str:
    """A new API key of the owner's shop, made on the console's page as an admin does."""
    page = f"{server.url}/console/settings/api-keys/"
    created = owner.post(page, data={"name": name, "csrf_token": csrf_token(owner, page)})
    assert created.status_code == 200, created.text[:500]
    return re.search(r'id="api-key">(hk_live_[\w-]+)<', created.text).group(1)


def invite(server: LiveServer, owner: requests.Session, email: str) -> str:
    """The owner invites ``email`` as an agent through the members page: the mailed link."""
    owner.post(
        f"{server.url}/console/members/invite",
        data={
            "csrf_token": csrf_token(owner, f"{server.url}/console/members"),
            "email": email,
            "role": "agent",
        },
    )
    return re.search(r"https?://\S+/invite/\S+", server.last_mail(email)).group(0)


def reset_password(server: LiveServer, email: str, password: str) -> str:
    """Through the forgot and reset forms, as a stranger's browser: the mailed link used."""
    browser = requests.Session()
    browser.post(
        f"{server.url}/password/forgot",
        data={"csrf_token": csrf_token(browser, f"{server.url}/password/forgot"), "email": email},
    )
    link = re.search(r"https?://\S+/password/reset/\S+", server.last_mail(email)).group(0)
    browser.post(
        link,
        data={
            "csrf_token": csrf_token(browser, link),
            "password": password,
            "confirm": password,
        },
    )
    return link


def create_staff(server: LiveServer, email: str, password: str) -> str:
    """A platform admin made with the CLI (`flask staff create`): their TOTP secret."""
    created = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "staff", "create", email]
        + ["--role", "admin", "--name", "Ops", "--password", password],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "DATABASE_URL": server.database_url,
            "HUIKE_INSTANCE": str(server.instance),
            "LOG_LEVEL": "WARNING",
        },
    )
    assert created.returncode == 0, created.stderr
    return re.search(r"Secret:\s+(\w+)", created.stdout).group(1)
