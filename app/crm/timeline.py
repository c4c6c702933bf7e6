"""A customer's timeline: chats, left messages, orders, visits and notes, newest first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, tuple_

from app.chat.models import Conversation, LeftMessage
from app.crm.models import Customer, TimelineEntry
from tenants.db import db, utcnow
from tenants.errors import ServiceError

MAX_NOTE = 5000
TIMELINE_PAGE = 50


def add_entry(
    customer_id: int,
    kind: str,
    *,
    ref_id: int | None = None,
    summary: str = "",
    data: dict | None = None,
    occurred_at: datetime | None = None,
    author_id: int | None = None,
) -> TimelineEntry | None:
    """One interaction on the customer's timeline; an entry about the same row is added once."""
    if ref_id is not None:
        found = db.scalar(
            select(TimelineEntry).where(
                TimelineEntry.customer_id == customer_id,
                TimelineEntry.kind == kind,
                TimelineEntry.ref_id == ref_id,
            )
        )
        if found is not None:
            return found
    entry = TimelineEntry(
        customer_id=customer_id,
        kind=kind,
        ref_id=ref_id,
        summary=(summary or "")[:2000],
        data=data or {},
        occurred_at=occurred_at or utcnow(),
        author_id=author_id,
    )
    db.add(entry)
    db.flush()
    return entry


def update_entry(
    entry: TimelineEntry,
    *,
    summary: str | None = None,
    data: dict | None = None,
    occurred_at: datetime | None = None,
) -> TimelineEntry:
    """Bring an entry about a row that changes (a call that rang, then ended) up to date."""
    if summary is not None:
        entry.summary = summary[:2000]
    if data is not None:
        entry.data = data
    if occurred_at is not None:
        entry.occurred_at = occurred_at
    db.flush()
    return entry


def note_duplicate(customer_id: int, other_id: int, source: str) -> None:
    """Two customers who may be one person (an import row or a new user id of the shop with
    the other's phone or e-mail and another name): each timeline says so, to compare and
    merge them if they are."""
    names = dict(
        db.execute(
            select(Customer.id, Customer.name).where(Customer.id.in_((customer_id, other_id)))
        ).all()
    )
    for one, other in ((customer_id, other_id), (other_id, customer_id)):
        add_entry(
            one, "duplicate", ref_id=other, summary=names.get(other, ""), data={"source": source}
        )


def add_note(customer: Customer, author_id: int, text: str) -> TimelineEntry:
    text = (text or "").strip()
    if not text:
        raise ServiceError("required", field="text")
    if len(text) > MAX_NOTE:
        raise ServiceError("too_long", field="text", max=MAX_NOTE)
    customer.updated_at = utcnow()
    return add_entry(customer.id, "note", summary=text, author_id=author_id)


def timeline(
    customer_id: int, before: tuple[datetime, int] | None = None, limit: int = TIMELINE_PAGE
) -> list[TimelineEntry]:
    """Newest first, paged by (occurred_at, id) of the last entry seen: fast at any depth."""
    query = select(TimelineEntry).where(TimelineEntry.customer_id == customer_id)
    if before is not None:
        # a row comparison, so the index (customer_id, occurred_at, id) starts at the cursor;
        # the equivalent OR form read every newer entry first (all 5,000 at the last page)
        query = query.where(tuple_(TimelineEntry.occurred_at, TimelineEntry.id) < tuple(before))
    query = query.order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc())
    return list(db.scalars(query.limit(max(1, min(limit, 200)))))


def add_chat_entry(customer_id: int, conversation: Conversation) -> None:
    add_entry(
        customer_id,
        "chat",
        ref_id=conversation.id,
        summary=conversation.last_text,
        data={"page_url": conversation.page_url},
        occurred_at=conversation.created_at,
    )


def add_left_message_entry(customer_id: int, left: LeftMessage) -> None:
    add_entry(
        customer_id,
        "left_message",
        ref_id=left.id,
        summary=left.body[:300],
        occurred_at=left.created_at,
    )
