"""Mail through the outbox against a real SMTP server on loopback: an outage fails no request
and the mail goes out when the server is back; a Stripe webhook whose mail cannot be sent
answers 200 and the mail goes out once later; a lost message only delays its mail; a mail
the server refuses for good is given up."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from tenants.db import bind_tenant, cross_tenant, db, utcnow
from tenants.jobs import enqueue, jobs_of
from tenants.mail import send_mail
from tenants.outbox import OutboxEntry
from tenants.work import unit_of_work

from ..billing.stripe_fake import event, invoice
from ..billing.test_stripe import SECRET, deliver, subscribed
from ..conftest import free_port, login, make_test_app
from .conftest import SmtpServer

# The outage is a minute; here a few seconds, so the suite stays fast. Retries start
# after a quarter of a second and double up to one second, so several fall inside it.
OUTAGE = 3.0
QUICK_RETRIES = {"JOB_RETRY_MIN_SECONDS": 0.25, "JOB_RETRY_MAX_SECONDS": 1.0}


_before = {"id": 0}  # the last outbox row before the test: live-server tests leave theirs


@pytest.fixture(autouse=True)
def _only_this_tests_rows(two_tenants):
    with cross_tenant():
        _before["id"] = db.scalar(select(func.max(OutboxEntry.id))) or 0


def mail_rows() -> list[OutboxEntry]:
    """This test's mail rows, as the worker left them, not as this session last saw them."""
    query = (
        select(OutboxEntry)
        .where(OutboxEntry.kind == "mail", OutboxEntry.id > _before["id"])
        .order_by(OutboxEntry.id)
    )
    with cross_tenant():
        return list(db.scalars(query.execution_options(populate_existing=True)))


def test_an_smtp_outage_fails_no_request_and_the_mail_goes_out_when_it_ends(two_tenants):
    a = two_tenants.a
    server = SmtpServer().start()
    server.refusing = True
    try:
        app = make_test_app(SMTP_URL=server.url, **QUICK_RETRIES)
        jobs = jobs_of(app)
        owner, stranger = app.test_client(), app.test_client()
        login(owner, a.owner)
        started = time.monotonic()
        responses = [
            owner.post("/console/members/invite", data={"email": f"new{i}@example.com"})
            for i in range(2)
        ] + [
            stranger.post("/password/forgot", data={"email": f"owner-{label}@example.com"})
            for label in ("a", "b")
        ]
        assert [r.status_code for r in responses] == [302] * 4
        jobs.wait_idle()  # the first attempts: refused
        rows = mail_rows()
        assert server.delivered == [] and server.refused >= 4 and len(rows) == 4
        assert all(r.done_at is None and r.attempts >= 1 for r in rows)
        assert all("451" in r.last_error for r in rows)

        time.sleep(max(0.0, started + OUTAGE - time.monotonic()))
        server.refusing = False
        jobs.wait_idle(timeout=20, delayed=True)  # every retry that was waiting has run
    finally:
        server.stop()
    rows = mail_rows()
    assert all(r.done_at is not None for r in rows)
    assert sorted(server.delivered) == sorted(r.payload["message_id"] for r in rows)  # each once
    assert {m["To"] for m in server.messages} == {
        "new0@example.com",
        "new1@example.com",
        "owner-a@example.com",
        "owner-b@example.com",
    }


def test_a_stripe_webhook_answers_200_when_its_mail_cannot_be_sent(two_tenants):
    a = two_tenants.a
    port = free_port()  # nothing listens there yet: the mail server is down
    app = make_test_app(
        STRIPE_WEBHOOK_SECRET=SECRET, SMTP_URL=f"smtp://127.0.0.1:{port}", **QUICK_RETRIES
    )
    jobs = jobs_of(app)
    client = app.test_client()
    sub = subscribed(client, SimpleNamespace(subscriptions={}), a)  # no Stripe API call
    failed = event(
        "invoice.payment_failed",
        invoice("in_0009", sub["customer"], sub["id"], "open", 990000),
    )
    response = deliver(client, failed)
    assert response.status_code == 200 and response.get_json()["outcome"] == "applied"
    jobs.wait_idle()
    (row,) = mail_rows()
    assert row.done_at is None and "ConnectionRefused" in row.last_error
    again = deliver(client, failed)  # Stripe delivers it again: nothing new to send
    assert again.status_code == 200 and again.get_json()["outcome"] == "duplicate"

    server = SmtpServer(port=port).start()  # the mail server is back
    try:
        jobs.wait_idle(timeout=20, delayed=True)
    finally:
        server.stop()
    assert [m["To"] for m in server.messages] == ["owner-a@example.com"]  # once
    assert server.messages[0]["Subject"] == "Your Huike payment failed"
    assert mail_rows()[0].done_at is not None


GRACE = 3.0


def test_a_lost_message_only_delays_its_mail(app, two_tenants, outbox):
    """The message that would send the mail is lost (Redis lost it, or the process died
    between its commit and the queueing): the clock's sweeper sends it after the grace."""
    app = make_test_app(OUTBOX_GRACE_SECONDS=GRACE, OUTBOX_DIR=app.config["OUTBOX_DIR"])
    jobs = jobs_of(app)
    written = time.monotonic()
    with app.app_context(), unit_of_work():
        bind_tenant(two_tenants.a.tenant.id)
        send_mail("someone@example.com", "Hello", "A mail that must not be lost.")
    jobs.broker.flush_all()
    jobs.wait_idle()
    assert outbox.messages() == []

    def sweep() -> None:
        with app.app_context(), unit_of_work():
            enqueue("outbox.sweep", None)
        jobs.wait_idle()

    sweep()
    if time.monotonic() - written < GRACE:  # still within its grace: the sweeper leaves it be
        assert outbox.messages() == []
    time.sleep(max(0.0, written + GRACE - time.monotonic()))
    sweep()
    sweep()  # done: nothing to send again
    assert [m["To"] for m in outbox.messages()] == ["someone@example.com"]


def test_a_mail_refused_for_good_is_given_up(two_tenants):
    server = SmtpServer().start()
    try:
        app = make_test_app(SMTP_URL=server.url, OUTBOX_MAX_ATTEMPTS=3, **QUICK_RETRIES)
        with app.app_context(), unit_of_work():
            bind_tenant(two_tenants.a.tenant.id)
            send_mail("nobody@example.com", "Hello", "No such user: 550, not worth a retry.")
            send_mail("busy@example.com", "Hello", "Refused for a while (451): 3 attempts.")
        server.refusing = True  # for busy@ (nobody@ is refused before its data)
        jobs_of(app).wait_idle(timeout=20, delayed=True)
    finally:
        server.stop()
    rows = {r.payload["to"]: r for r in mail_rows()}
    nobody, busy = rows["nobody@example.com"], rows["busy@example.com"]
    assert (nobody.attempts, nobody.next_attempt_at, nobody.done_at) == (1, None, None)
    assert "550" in nobody.last_error
    assert (busy.attempts, busy.next_attempt_at, busy.done_at) == (3, None, None)
    assert server.delivered == []


def test_done_mail_is_deleted_after_30_days(app, two_tenants):
    with app.app_context(), unit_of_work():
        bind_tenant(two_tenants.a.tenant.id)
        for to in ("old@example.com", "recent@example.com", "pending@example.com"):
            send_mail(to, "Hello", "Kept a month once sent.")
    jobs_of(app).broker.flush_all()  # this test sets the rows' state by hand
    with cross_tenant():
        ago = {"old@example.com": 31, "recent@example.com": 29}
        for row in mail_rows():
            if row.payload["to"] in ago:
                row.done_at = utcnow() - timedelta(days=ago[row.payload["to"]])
        db.commit()
    with app.app_context(), unit_of_work():
        enqueue("outbox.purge", None)
    jobs_of(app).wait_idle()
    assert [r.payload["to"] for r in mail_rows()] == ["recent@example.com", "pending@example.com"]
