"""Helpers for the job tests: a real SMTP server on loopback, and the app's session bound to a
database of the test's own (real connections, real commits: jobs run on other threads)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller

from tenants.db import _platform_binds, bind_engines, db, make_engine

from ..conftest import PLATFORM_ROLE, Database, free_port


class SmtpServer:
    """aiosmtpd on 127.0.0.1. ``refusing``: every mail is answered 451 (try again later);
    ``delay``: seconds each mail takes before the server's 250; an address ``nobody@…`` is
    refused for good (550). A mail counts as delivered when the server answers 250, as a
    real server's does."""

    def __init__(self, delay: float = 0, port: int | None = None) -> None:
        self.delay, self.refusing = delay, False
        self.delivered: list[str] = []  # Message-IDs, one per 250 answered
        self.messages: list[Message] = []
        self.refused = 0
        self.port = port or free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.controller: Controller | None = None

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.refusing:
            self.refused += 1
            return "451 4.3.0 Mail server busy, try again later"
        if self.delay:
            await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.content)
        self.messages.append(message)
        self.delivered.append(message["Message-ID"])
        return "250 OK"

    def start(self) -> SmtpServer:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def distinct(self) -> int:
        return len(set(self.delivered))

    def repeats(self) -> int:
        return sum(n - 1 for n in Counter(self.delivered).values())

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.distinct() < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.distinct()} of {count} mails after {timeout} s")
            time.sleep(0.05)


@contextmanager
def bound_to(database: Database):
    """The app's session on ``database`` through the app's and the platform's roles, as a
    server process would be; the test run's own binding afterwards."""
    previous = db.session_factory.kw.get("bind")
    previous_platform = _platform_binds.get(previous)
    app_engine = make_engine(database.app_url, platform_role=PLATFORM_ROLE)
    platform_engine = make_engine(database.platform_url)
    db.remove()
    bind_engines(app_engine, platform_engine)
    try:
        yield
    finally:
        db.remove()
        bind_engines(previous, previous_platform)
        app_engine.dispose()
        platform_engine.dispose()
