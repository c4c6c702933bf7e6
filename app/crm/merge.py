"""Merging two records of one person into the one that lives on."""

from __future__ import annotations

from sqlalchemy import update

from app.chat.models import Visitor
from app.crm import signals
from app.crm.customers import add_contacts, customer_snapshot
from app.crm.models import Customer, CustomerTag, Order, TimelineEntry
from app.crm.orders import refresh_totals
from app.crm.timeline import add_entry
from tenants.db import db, utcnow
from tenants.errors import ServiceError


def merge(target: Customer, source: Customer, author_id: int | None = None) -> Customer:
    """Fold ``source`` into ``target``: contacts, tags, fields, orders, visitors and timeline
    move over; ``source`` stays as a pointer to ``target`` so its id still resolves."""
    if target.id == source.id:
        raise ServiceError("merge_same", field="source_id")
    if target.merged_into_id or source.merged_into_id:
        raise ServiceError("merge_merged", field="source_id")
    snapshot = customer_snapshot(source)
    phones = [p.e164 for p in source.phones]
    emails = [e.email for e in source.emails]
    tags = [t.tag for t in source.tags]
    source.phones.clear()
    source.emails.clear()
    source.tags.clear()
    db.flush()
    add_contacts(target, phones, emails)
    have = {t.tag for t in target.tags}
    target.tags.extend(CustomerTag(tag=t) for t in tags if t not in have)
    target.fields = {**(source.fields or {}), **(target.fields or {})}
    for attr in ("name", "company", "owner_id"):
        if not getattr(target, attr) and getattr(source, attr):
            setattr(target, attr, getattr(source, attr))
    target.name_key = (target.name or "").lower()
    if not target.external_id and source.external_id:
        external_id, source.external_id = source.external_id, None
        db.flush()
        target.external_id = external_id
    for model in (Order, TimelineEntry):
        db.execute(
            update(model).where(model.customer_id == source.id).values(customer_id=target.id)
        )
    db.execute(
        update(Visitor).where(Visitor.customer_id == source.id).values(customer_id=target.id)
    )
    source.merged_into_id = target.id
    source.name_key = ""
    seen = [at for at in (target.last_seen_at, source.last_seen_at) if at]
    target.last_seen_at = max(seen) if seen else None
    db.flush()
    refresh_totals(target)
    add_entry(target.id, "merge", summary=source.name, data=snapshot, author_id=author_id)
    target.updated_at = utcnow()
    db.expire(target)
    signals.customer_merged.send(target, source_id=source.id)
    return target
