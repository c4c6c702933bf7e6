"""The outbox: work that must not be lost (mail; later pushes, outgoing webhooks, call tasks).

``write(kind, payload)`` adds a row in the caller's unit of work, so it exists exactly when
the change that caused it does; once that unit commits, the job ``outbox.deliver`` is queued
for it. The job claims the row (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so two deliveries of
one message never both work), marks it done and does the work in one unit: a repeated message
for a done row does nothing. A failure is recorded on the row (attempts, last error, next
attempt) and retried with backoff; after ``OUTBOX_MAX_ATTEMPTS`` the row is given up (no next
attempt, never done). The sweeper, run by the clock, queues again every row still not done
``OUTBOX_GRACE_SECONDS`` after it was due, so a lost message or a dead worker only delays it.

A handler (``@handler("mail")``) receives the payload and is idempotent at its far end where it
can be (mail carries a Message-ID fixed per row). Between the far end's "done" and our commit
a crash repeats the work once: the window is the commit's round trip.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime, timedelta

from dramatiq.errors import Retry
from flask import current_app
from sqlalchemy import ForeignKey, Index, String, Text, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from tenants.clock import periodic
from tenants.db import (
    Base,
    TenantScoped,
    cross_tenant,
    current_tenant_id,
    db,
    utcnow,
)
from tenants.jobs import enqueue, job
from tenants.work import unit_of_work

log = logging.getLogger("huike.outbox")

DELIVER = "outbox.deliver"
SWEEP_BATCH = 1000
KEEP_DONE = timedelta(days=30)  # then a done row goes: mail bodies are not kept for good
_HANDLERS: dict[str, Callable[[dict], None]] = {}


class OutboxEntry(TenantScoped, Base):
    """One piece of work to do after a commit. Pending: ``done_at`` and ``next_attempt_at``
    set; given up: neither. Platform work (a password reset's mail) has no tenant."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "next_attempt_at",
            postgresql_where="done_at IS NULL",
            sqlite_where="done_at IS NULL",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    # At most one row per key: a periodic job that finds the same work twice writes it once.
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    payload: Mapped[dict]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class GiveUp(Exception):
    """A handler's failure that no retry can mend (an address the server refuses for good)."""


def handler(kind: str):
    """Register the decorated function as the work of ``kind`` rows: ``fn(payload)``."""

    def register(fn: Callable[[dict], None]) -> Callable[[dict], None]:
        _HANDLERS[kind] = fn
        return fn

    return register


def write(kind: str, payload: dict, key: str | None = None) -> int | None:
    """Add a row in the current unit for the session's tenant (none bound: platform work);
    its delivery is queued after the commit. With a ``key`` already used: nothing, None."""
    if kind not in _HANDLERS:
        raise KeyError(f"no outbox handler for {kind!r}")
    session = db()
    tenant_id = current_tenant_id(session)
    now = utcnow()
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(OutboxEntry)
    statement = insert.values(
        tenant_id=tenant_id,
        kind=kind,
        key=key,
        payload=payload,
        created_at=now,
        attempts=0,
        next_attempt_at=now,
    ).returning(OutboxEntry.id)
    if key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["key"])
    with _tenant_or_platform(tenant_id):
        entry_id = session.execute(statement).scalar()
    if entry_id is not None:
        enqueue(DELIVER, tenant_id, entry_id)
    return entry_id


def _tenant_or_platform(tenant_id: int | None):
    """Rows without a tenant are the platform's: row security shows them to its role only.
    Around a whole unit, so its commit's flush is the platform's too."""
    return cross_tenant() if tenant_id is None else nullcontext()


@job(DELIVER, max_retries=None, own_units=True)
def deliver(entry_id: int) -> None:
    tenant_id = current_tenant_id()
    try:
        if db().get_bind().dialect.name == "postgresql":
            _deliver_locked(entry_id, tenant_id)
        else:
            _deliver_unlocked(entry_id, tenant_id)
    except Exception as error:
        delay = _record_failure(entry_id, tenant_id, error)
        if delay is not None:
            raise Retry(delay=int(delay.total_seconds() * 1000)) from error


def _deliver_locked(entry_id: int, tenant_id: int | None) -> None:
    """PostgreSQL: claim, mark done, work, commit; a failure rolls the mark back."""
    with _tenant_or_platform(tenant_id), unit_of_work():
        entry = _pending(entry_id, lock="skip")
        if entry is None:  # done already, or being done by another worker right now
            return
        entry.attempts += 1
        entry.done_at = utcnow()
        db.flush()  # before the work: after the far end's "done" only the commit is left
        _HANDLERS[entry.kind](entry.payload)
    log.info("outbox done", extra={"entry": entry_id, "kind": entry.kind, "tenant": tenant_id})


def _deliver_unlocked(entry_id: int, tenant_id: int | None) -> None:
    """SQLite: its first statement takes the database's one write lock, and a worker that
    then waited on the network (a green thread, under eventlet) would hold up every request.
    So read, work outside a transaction, then mark done. One process runs SQLite's jobs."""
    with _tenant_or_platform(tenant_id), unit_of_work():
        entry = _pending(entry_id)
        if entry is None:
            return
        kind, payload = entry.kind, entry.payload
    _HANDLERS[kind](payload)
    with _tenant_or_platform(tenant_id), unit_of_work():
        db.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == entry_id, OutboxEntry.done_at.is_(None))
            .values(done_at=utcnow(), attempts=OutboxEntry.attempts + 1)
        )
    log.info("outbox done", extra={"entry": entry_id, "kind": kind, "tenant": tenant_id})


def _pending(entry_id: int, lock: str | None = None) -> OutboxEntry | None:
    query = select(OutboxEntry).where(OutboxEntry.id == entry_id, OutboxEntry.done_at.is_(None))
    if lock == "skip":
        query = query.with_for_update(skip_locked=True)
    elif lock == "wait":
        query = query.with_for_update()
    return db.scalar(query)


def _record_failure(entry_id: int, tenant_id: int | None, error: Exception) -> timedelta | None:
    """Note the failed attempt; returns when to try again, or None (done meanwhile, or given
    up). Only the error's class and text are kept and logged, never the payload."""
    config = current_app.config
    with _tenant_or_platform(tenant_id), unit_of_work():
        entry = _pending(entry_id, lock="wait")
        if entry is None or entry.next_attempt_at is None:
            return None
        entry.attempts += 1
        entry.last_error = f"{type(error).__name__}: {error}"[:1000]
        context = {"entry": entry_id, "kind": entry.kind, "tenant": tenant_id}
        if isinstance(error, GiveUp) or entry.attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
            entry.next_attempt_at = None
            log.error("outbox gave up", extra={**context, "error": entry.last_error})
            return None
        delay = _backoff(entry.attempts)
        entry.next_attempt_at = utcnow() + delay
    log.warning("outbox attempt failed", extra={**context, "error": entry.last_error})
    return delay


def _backoff(attempts: int) -> timedelta:
    config = current_app.config
    seconds = config["JOB_RETRY_MIN_SECONDS"] * 2 ** min(attempts - 1, 30)
    return timedelta(seconds=min(seconds, config["JOB_RETRY_MAX_SECONDS"]))


@periodic("outbox.sweep", every="OUTBOX_SWEEP_SECONDS")
def sweep() -> None:
    """Queue again what should have been done a while ago: its message was lost (the web
    process died between its commit and the queueing, Redis was away) or its worker died."""
    now = utcnow()
    cutoff = now - timedelta(seconds=current_app.config["OUTBOX_GRACE_SECONDS"])
    with cross_tenant():
        due = db.execute(
            select(OutboxEntry.id, OutboxEntry.tenant_id)
            .where(OutboxEntry.done_at.is_(None), OutboxEntry.next_attempt_at <= cutoff)
            .order_by(OutboxEntry.next_attempt_at)
            .limit(SWEEP_BATCH)
            .with_for_update(skip_locked=True)  # rows being worked on now are not late
        ).all()
        if due:
            db.execute(
                update(OutboxEntry)
                .where(OutboxEntry.id.in_([entry_id for entry_id, _ in due]))
                .values(next_attempt_at=now)
            )
    for entry_id, tenant_id in due:
        enqueue(DELIVER, tenant_id, entry_id)
    if due:
        log.warning("outbox rows queued again", extra={"count": len(due)})


@periodic("outbox.purge", every=86400)
def purge() -> None:
    with cross_tenant():
        db.execute(delete(OutboxEntry).where(OutboxEntry.done_at < utcnow() - KEEP_DONE))
