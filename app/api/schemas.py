"""What /api/v1 answers (customers, orders, timeline entries, calls, pages, errors): one Pydantic
model each, which builds the JSON from the stored rows and gives the OpenAPI document its
schemas (app/api/openapi.py). What a request body may carry is the CRM's
(app/crm/schemas.py); its path and query, app/api/params.py.

Money leaves as a decimal string in major units ("199.50"), never a float; times as ISO-8601
UTC ("2026-11-22T08:30:00Z").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from sqlalchemy import select

from app.calls.models import CALL_STATUSES, DIRECTIONS
from app.calls.models import Call as CallRow
from app.crm.models import Customer as CustomerRow
from app.crm.models import Order as OrderRow
from app.crm.models import TimelineEntry as TimelineEntryRow
from tenants.db import db
from tenants.models import Membership


def money(minor: int) -> str:
    return str((Decimal(minor) / 100).quantize(Decimal("0.01")))


def timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


TIMESTAMP = {"type": "string", "format": "date-time", "examples": ["2026-11-22T08:30:00Z"]}
Money = Annotated[
    int,
    PlainSerializer(money, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d+\.\d{2}$",
            "description": "A decimal amount in major units, as text (never a float).",
            "examples": ["199.50"],
        }
    ),
]
Timestamp = Annotated[
    datetime, PlainSerializer(timestamp, return_type=str), WithJsonSchema(TIMESTAMP)
]


class Answer(BaseModel):
    """An object the API answers with: exactly these keys."""

    model_config = ConfigDict(extra="forbid")


class Member(Answer):
    """A member of the shop's staff."""

    id: int
    name: str
    email: str

    @classmethod
    def of(cls, membership: Membership | None) -> Member | None:
        if membership is None:
            return None
        return cls(id=membership.id, name=membership.user.name, email=membership.user.email)


def members_by_id(ids: Iterable[int | None]) -> dict[int, Membership]:
    """The members a page names (owners, authors), in one query."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {m.id: m for m in db.scalars(select(Membership).where(Membership.id.in_(wanted)))}


class Customer(Answer):
    id: int
    external_id: str | None = Field(
        description="The shop's own user id (the one Huike.identify is given)."
    )
    name: str
    company: str
    phones: list[Annotated[str, Field(pattern=r"^\+[1-9]\d{4,14}$")]] = Field(
        description="E.164, e.g. +8613812345678."
    )
    emails: list[str] = Field(description="Lower case.")
    tags: list[str]
    fields: dict[str, str | int | float] = Field(
        description="Custom field key -> value (text, number, ISO date or a choice)."
    )
    owner: Member | None
    order_count: int = Field(description="Orders that count (not cancelled or refunded).")
    revenue: Money = Field(description="Total of the orders that count.")
    last_order_at: Timestamp | None
    last_seen_at: Timestamp | None
    source: str = Field(
        description="How the customer first reached the shop.",
        examples=["api", "chat", "left_message", "identify", "order", "import"],
    )
    merged_into: int | None = Field(
        description="Set when this customer was merged into another: read that one."
    )
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, row: CustomerRow, members: dict[int, Membership]) -> Customer:
        return cls(
            id=row.id,
            external_id=row.external_id,
            name=row.name,
            company=row.company,
            phones=[p.e164 for p in row.phones],
            emails=[e.email for e in row.emails],
            tags=[t.tag for t in row.tags],
            fields=dict(row.fields or {}),
            owner=Member.of(members.get(row.owner_id)),
            order_count=row.order_count,
            revenue=row.revenue,
            last_order_at=row.last_order_at,
            last_seen_at=row.last_seen_at,
            source=row.source,
            merged_into=row.merged_into_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @classmethod
    def page(cls, rows: list[CustomerRow], next_cursor: str | None) -> CustomerPage:
        members = members_by_id(r.owner_id for r in rows)
        return CustomerPage(data=[cls.of(r, members) for r in rows], next_cursor=next_cursor)


NEXT_CURSOR = "Pass it as `cursor` for the next page; null on the last page."


class CustomerPage(Answer):
    data: list[Customer]
    next_cursor: str | None = Field(description=NEXT_CURSOR)


class TimelineEntry(Answer):
    id: int
    kind: str = Field(
        description="What happened; new kinds may appear, so ignore unknown ones.",
        examples=["chat", "left_message", "order", "order_status", "note", "merge", "call"],
    )
    summary: str
    data: dict[str, Any] = Field(
        description="Details by kind, e.g. an order's total, currency and status."
    )
    author: Member | None
    occurred_at: Timestamp

    @classmethod
    def page(cls, rows: list[TimelineEntryRow], next_cursor: str | None) -> TimelinePage:
        authors = members_by_id(r.author_id for r in rows)
        return TimelinePage(data=[cls.of(r, authors) for r in rows], next_cursor=next_cursor)

    @classmethod
    def of(cls, row: TimelineEntryRow, authors: dict[int, Membership]) -> TimelineEntry:
        data = dict(row.data or {})
        if row.kind == "order" and isinstance(data.get("total"), int):
            data["total"] = money(data["total"])  # stored in minor units, as the order's own
        return cls(
            id=row.id,
            kind=row.kind,
            summary=row.summary,
            data=data,
            author=Member.of(authors.get(row.author_id)),
            occurred_at=row.occurred_at,
        )


class TimelinePage(Answer):
    data: list[TimelineEntry]
    next_cursor: str | None = Field(description=NEXT_CURSOR)


class OrderItem(Answer):
    name: str
    quantity: int = Field(ge=1)
    price: Money | None


class Order(Answer):
    order_id: str = Field(description="The shop's order id.")
    status: str = Field(examples=["placed", "paid", "shipped", "refunded"])
    total: Money
    currency: str = Field(pattern="^[A-Z]{3}$")
    items: list[OrderItem]
    placed_at: Timestamp
    customer_id: int
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, row: OrderRow) -> Order:
        return cls(
            order_id=row.external_id,
            status=row.status,
            total=row.total,
            currency=row.currency,
            items=[OrderItem(**item) for item in row.items or ()],
            placed_at=row.placed_at,
            customer_id=row.customer_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class Call(Answer):
    """One phone call, as the provider's events made it (app/calls/records.py)."""

    id: int
    call_ref: str | None = Field(description="The provider's id of the call.")
    kind: Literal["call", "callback"] = Field(
        description="`callback`: a call back the shop made after a visitor asked for one."
    )
    direction: Literal[DIRECTIONS] = Field(
        description="`in`: the customer called the shop; `out`: the shop called."
    )
    status: Literal[CALL_STATUSES] = Field(
        description=(
            "`ringing`, `answered` (on the line now), `ended` (was answered), or, never "
            "answered: `missed`, `busy`, `failed`."
        )
    )
    number: str = Field(
        description=(
            "The customer's number: the caller of an inbound call, the called of an outbound "
            "one. E.164 when it reads as a phone number, else as the provider sent it."
        )
    )
    from_number: str
    to_number: str
    customer_id: int | None = Field(description="The CRM customer with this number, if known.")
    agent: Member | None = Field(description="The member who took or made the call.")
    agent_ref: str = Field(
        description="The agent as the provider named them (an extension, number or e-mail)."
    )
    started_at: Timestamp
    answered_at: Timestamp | None
    ended_at: Timestamp | None
    duration: int | None = Field(description="Seconds talked; null before the call ends.")
    cause: str = Field(description="Why it ended, as the provider said (e.g. `noAnswer`).")
    recording_url: str | None = Field(description="The provider's link to the recording.")
    outcome: str = Field(
        description="What came of it, as the agent set it.",
        examples=["resolved", "sale", "callback_needed", "complaint", "wrong_number", "other"],
    )
    notes: str = Field(description="The agent's notes on the call.")
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, row: CallRow, members: dict[int, Membership]) -> Call:
        return cls(
            id=row.id,
            call_ref=row.call_ref,
            kind=row.kind,
            direction=row.direction,
            status=row.status,
            number=row.customer_number,
            from_number=row.from_number,
            to_number=row.to_number,
            customer_id=row.customer_id,
            agent=Member.of(members.get(row.agent_id)),
            agent_ref=row.agent_ref,
            started_at=row.started_at,
            answered_at=row.answered_at,
            ended_at=row.ended_at,
            duration=row.duration,
            cause=row.cause,
            recording_url=row.recording_url or None,
            outcome=row.outcome,
            notes=row.notes,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @classmethod
    def page(cls, rows: list[CallRow], next_cursor: str | None) -> CallPage:
        members = members_by_id(r.agent_id for r in rows)
        return CallPage(data=[cls.of(r, members) for r in rows], next_cursor=next_cursor)


class CallPage(Answer):
    data: list[Call]
    next_cursor: str | None = Field(description=NEXT_CURSOR)


class Error(BaseModel):
    """Every error but 402. `error` is a stable code to branch on; `message` is worded for
    people (Accept-Language: zh-CN or en); `field` names the input at fault. Some errors add
    parameters, e.g. `customer_id` on a 409, `limit` on a 429."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(examples=["phone_invalid"])
    message: str = Field(examples=["Enter a valid phone number."])
    field: str | None = Field(examples=["phones"])


class FeatureLocked(Answer):
    """The shop's plan lacks the module of the operation, which `feature` names: `crm` for
    customers and orders, `calls` for calls, `robot` for the knowledge base and the ask API,
    `analytics` for the reports (the same answer as the console's)."""

    error: Literal["feature_locked"]
    feature: Literal["crm", "calls", "robot", "analytics"]
    upgrade_url: str = Field(json_schema_extra={"format": "uri"})


class OpenApiDocument(BaseModel):
    """This document: OpenAPI 3.1."""

    model_config = ConfigDict(extra="allow")
