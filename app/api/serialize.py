"""The JSON the API answers: customers, orders, timeline entries (components in openapi.py).

Money leaves as a decimal string in major units ("199.50"), never a float; times as ISO-8601
UTC ("2026-11-22T08:30:00Z").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from app.crm.models import Customer, Order, TimelineEntry
from tenants.db import db
from tenants.models import Membership


def money(minor: int | None) -> str | None:
    if minor is None:
        return None
    return str((Decimal(minor) / 100).quantize(Decimal("0.01")))


def timestamp(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def members_by_id(ids: Iterable[int | None]) -> dict[int, Membership]:
    """The members a page names (owners, authors), in one query."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {m.id: m for m in db.scalars(select(Membership).where(Membership.id.in_(wanted)))}


def member(membership: Membership | None) -> dict | None:
    if membership is None:
        return None
    return {"id": membership.id, "name": membership.user.name, "email": membership.user.email}


def customer(row: Customer, members: dict[int, Membership]) -> dict:
    return {
        "id": row.id,
        "external_id": row.external_id,
        "name": row.name,
        "company": row.company,
        "phones": [p.e164 for p in row.phones],
        "emails": [e.email for e in row.emails],
        "tags": [t.tag for t in row.tags],
        "fields": dict(row.fields or {}),
        "owner": member(members.get(row.owner_id)),
        "order_count": row.order_count,
        "revenue": money(row.revenue),
        "last_order_at": timestamp(row.last_order_at),
        "last_seen_at": timestamp(row.last_seen_at),
        "source": row.source,
        "merged_into": row.merged_into_id,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }


def customers(rows: list[Customer]) -> list[dict]:
    members = members_by_id(r.owner_id for r in rows)
    return [customer(r, members) for r in rows]


def order(row: Order) -> dict:
    return {
        "order_id": row.external_id,
        "status": row.status,
        "total": money(row.total),
        "currency": row.currency,
        "items": [
            {"name": i["name"], "quantity": i["quantity"], "price": money(i.get("price"))}
            for i in row.items or ()
        ],
        "placed_at": timestamp(row.placed_at),
        "customer_id": row.customer_id,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }


def entries(rows: list[TimelineEntry]) -> list[dict]:
    authors = members_by_id(r.author_id for r in rows)
    return [entry(r, authors) for r in rows]


def entry(row: TimelineEntry, authors: dict[int, Membership]) -> dict:
    data = dict(row.data or {})
    if row.kind == "order" and isinstance(data.get("total"), int):
        data["total"] = money(data["total"])  # stored in minor units, like the order's own total
    return {
        "id": row.id,
        "kind": row.kind,
        "summary": row.summary,
        "data": data,
        "author": member(authors.get(row.author_id)),
        "occurred_at": timestamp(row.occurred_at),
    }
