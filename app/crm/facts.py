"""What the console shows of a customer beside a chat or a call: a handful of indexed
queries, however long their history (the newest few of each list; the record has the rest)."""

from __future__ import annotations

from sqlalchemy import select

from app.chat.models import Conversation, Visitor
from app.chat.payloads import member_name
from app.crm.linking import visit_summary
from app.crm.models import Customer, Order, TimelineEntry
from tenants.db import db
from tenants.models import Membership

SHOWN = 5  # of each list; the full record has the rest


def customer_facts(customer: Customer) -> dict:
    """The customer's visits, newest orders, conversations, left messages and notes."""
    visitor_ids = select(Visitor.id).where(Visitor.customer_id == customer.id)
    orders = db.scalars(
        select(Order)
        .where(Order.customer_id == customer.id)
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(SHOWN)
    ).all()
    conversations = db.scalars(
        select(Conversation)
        .where(Conversation.visitor_id.in_(visitor_ids))
        .order_by(Conversation.id.desc())
        .limit(SHOWN)
    ).all()
    notes = _entries(customer.id, "note")
    names = _member_names(
        {customer.owner_id, *(c.assignee_id for c in conversations), *(n.author_id for n in notes)}
    )
    return {
        "visits": visit_summary(customer.id),
        "orders": orders,
        "currency": orders[0].currency if orders else "CNY",
        "conversations": conversations,
        "left_messages": _entries(customer.id, "left_message"),
        "notes": notes,
        "owner_name": names.get(customer.owner_id),
        "names": names,
    }


def _entries(customer_id: int, kind: str) -> list[TimelineEntry]:
    """The newest few of one kind through the (customer, kind, ref) index, without walking
    the rest of a long timeline: left messages in the order they were left (their ref is the
    message's id), notes (no ref) in the order they were written."""
    return db.scalars(
        select(TimelineEntry)
        .where(TimelineEntry.customer_id == customer_id, TimelineEntry.kind == kind)
        .order_by(TimelineEntry.ref_id.desc(), TimelineEntry.id.desc())
        .limit(SHOWN)
    ).all()


def _member_names(ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    members = db.scalars(select(Membership).where(Membership.id.in_(wanted)))
    return {m.id: member_name(m) for m in members}


def latest_visitor(customer_id: int) -> Visitor | None:
    """The customer's browser seen last: where they are on the site, or were (a phone call's
    card shows it)."""
    return db.scalar(
        select(Visitor)
        .where(Visitor.customer_id == customer_id)
        .order_by(Visitor.last_seen_at.desc(), Visitor.id.desc())
        .limit(1)
    )
