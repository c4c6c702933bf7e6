"""Secrets stay out of logs and off the wire: reset and invitation tokens never reach the
server's log, and an SMTP password is never sent to a server without TLS."""

from __future__ import annotations

import logging
import uuid

import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from tenants.db import cross_tenant, db
from tenants.jobs import jobs_of
from tenants.outbox import OutboxEntry

from ..conftest import free_port, make_test_app
from ..live import LiveServer, invite, reset_password, sign_up


def test_reset_and_invitation_tokens_never_reach_the_log(own_database):
    server = LiveServer(own_database.app_url, extra_env={"LOG_LEVEL": "INFO", "LOG_JSON": "1"})
    try:
        label = f"log{uuid.uuid4().hex[:8]}"
        owner, _ = sign_up(server, label)
        invite_link = invite(server, owner, f"invitee-{label}@example.com")
        assert requests.get(invite_link).status_code == 200  # opened by the invitee
        reset_link = reset_password(server, f"{label}@example.com", "another-password-1")
    finally:
        server.stop()
    log = (server.instance / f"server-{server.port}.log").read_text()
    for link in (invite_link, reset_link):
        assert link.rsplit("/", 1)[1] not in log  # no token…
    assert '"route": "/password/reset/<token>"' in log  # …though the requests were logged
    assert '"route": "/invite/<token>"' in log


class _Inbox:
    def __init__(self) -> None:
        self.messages, self.logins = [], []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append(auth_data)
        return AuthResult(success=True)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_no_password_goes_to_an_smtp_server_without_tls(two_tenants):
    inbox = _Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=inbox.authenticate,
        auth_require_tls=False,  # a careless server: it would take the password in clear
    )
    controller.start()
    app = make_test_app(SMTP_URL=f"smtp://mailer:s3cret-pass@127.0.0.1:{port}")
    handler = _Records()
    logging.getLogger("huike.mail").addHandler(handler)
    try:
        response = app.test_client().post("/password/forgot", data={"email": "owner-a@example.com"})
        jobs_of(app).wait_idle()  # the mail's job tries, and fails
    finally:
        logging.getLogger("huike.mail").removeHandler(handler)
        controller.stop()
    assert response.status_code == 302  # the visitor is not shown a crash
    assert inbox.logins == [] and inbox.messages == []
    said = [(r.levelname, r.getMessage()) for r in handler.records]
    assert any(level == "ERROR" and "STARTTLS" in text for level, text in said)
    assert not any("s3cret-pass" in text for _, text in said)
    # Kept, not lost: the mail waits in the outbox for a retry (a server with TLS).
    with cross_tenant():
        kept = db.scalars(select(OutboxEntry).where(OutboxEntry.kind == "mail")).one()
    assert kept.done_at is None and kept.next_attempt_at is not None
    assert kept.last_error.startswith("InsecureServer") and "s3cret" not in kept.last_error
    assert "/password/reset/" in kept.payload["body"]
