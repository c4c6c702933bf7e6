"""Calls tables: the shop's phone connections and numbers, the agents' lines, every provider
event as it arrived, the one call record each call's events drive, callback requests from the
widget, and the tasks (callbacks and follow-ups) with the shop's follow-up rules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from tenants.db import Base, TenantScoped, utcnow

CONNECTION_KINDS = ("twilio", "generic")
SIGNING_MODES = ("signature", "token")  # generic webhooks: HMAC-signed, or the URL's token only
DIRECTIONS = ("in", "out")
# A call only moves forward along this order; ended/missed/busy/failed are all final.
CALL_STATUSES = ("ringing", "answered", "ended", "missed", "busy", "failed")
EVENT_KINDS = ("ringing", "answered", "ended", "recording")
TASK_KINDS = ("callback", "follow_up")
TASK_STATUSES = ("open", "snoozed", "done")
CALLBACK_STATUSES = ("queued", "calling", "bridged", "task", "failed")


class CallConnection(TenantScoped, Base):
    """A phone provider the shop connected: Twilio (its account, numbers under ``CallNumber``)
    or any PBX / 400 provider posting the generic JSON webhook to ``/calls/hook/<token>``."""

    __tablename__ = "call_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(80), default="")
    # the generic webhook's path token: unguessable, unique across shops (it finds the shop)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    signing: Mapped[str] = mapped_column(String(10), default="signature")
    # encrypted at rest (app/calls/secrets.py): the generic webhook's signing secrets (two live,
    # so a shop can rotate) and Twilio's auth token; Twilio's account SID is not a secret
    secret_enc: Mapped[str | None] = mapped_column(Text)
    previous_secret_enc: Mapped[str | None] = mapped_column(Text)
    account_sid: Mapped[str | None] = mapped_column(String(64))
    auth_token_enc: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    # Twilio: the answer to an inbound call records it (callers are told first)
    record_calls: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CallNumber(TenantScoped, Base):
    """One of the shop's phone numbers on a connection. Twilio's webhooks carry the number's own
    token, so a request signed for one number cannot be replayed against another."""

    __tablename__ = "call_numbers"
    __table_args__ = (UniqueConstraint("tenant_id", "e164", name="uq_call_number_e164"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("call_connections.id", ondelete="CASCADE"), index=True
    )
    e164: Mapped[str] = mapped_column(String(20))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(80), default="")
    # who a call to this number pops for first; nobody: every online agent
    membership_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentLine(TenantScoped, Base):
    """An agent's extension on the shop's PBX and the phone a callback rings first."""

    __tablename__ = "call_agent_lines"
    __table_args__ = (UniqueConstraint("tenant_id", "membership_id", name="uq_agent_line"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id", ondelete="CASCADE"))
    extension: Mapped[str] = mapped_column(String(20), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")  # E.164


class CallEvent(TenantScoped, Base):
    """A provider's event as it arrived: duplicates are dropped here, and the call record is
    what these events say, whatever their order."""

    __tablename__ = "call_events"
    __table_args__ = (UniqueConstraint("connection_id", "call_ref", "event", name="uq_call_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("call_connections.id", ondelete="CASCADE")
    )
    call_ref: Mapped[str] = mapped_column(String(128))  # the provider's call id
    event: Mapped[str] = mapped_column(String(12))  # EVENT_KINDS
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)


class Call(TenantScoped, Base):
    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("connection_id", "call_ref", name="uq_call_ref"),
        Index("ix_calls_tenant_started", "tenant_id", "started_at", "id"),
        Index("ix_calls_tenant_number", "tenant_id", "customer_number"),
        Index("ix_calls_tenant_status", "tenant_id", "status", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("call_connections.id", ondelete="SET NULL")
    )
    call_ref: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(10), default="call")  # or "callback"
    direction: Mapped[str] = mapped_column(String(3), default="in")
    from_number: Mapped[str] = mapped_column(String(32), default="")  # E.164 when it reads
    to_number: Mapped[str] = mapped_column(String(32), default="")
    # the other party: the caller of an inbound call, the called of an outbound one
    customer_number: Mapped[str] = mapped_column(String(32), default="")
    agent_ref: Mapped[str] = mapped_column(String(254), default="")  # as the provider named it
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_customers.id", ondelete="SET NULL"), index=True
    )
    visitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_visitors.id", ondelete="SET NULL")
    )
    callback_id: Mapped[int | None] = mapped_column(
        ForeignKey("call_callbacks.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(10), default="ringing")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    duration: Mapped[int | None]  # seconds talked
    cause: Mapped[str] = mapped_column(String(32), default="")
    recording_url: Mapped[str] = mapped_column(String(1000), default="")
    recording_file: Mapped[str] = mapped_column(String(255), default="")  # stored audio
    notes: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CallbackRequest(TenantScoped, Base):
    """A visitor asked the shop to call them back (the widget's 免费电话)."""

    __tablename__ = "call_callbacks"
    __table_args__ = (
        Index("ix_call_callbacks_visitor", "tenant_id", "visitor_id", "created_at"),
        Index("ix_call_callbacks_ip", "tenant_id", "ip", "created_at"),
        Index("ix_call_callbacks_phone", "tenant_id", "phone", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_visitors.id", ondelete="SET NULL")
    )
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    preferred_at: Mapped[datetime | None]  # none: as soon as possible
    consent: Mapped[str] = mapped_column(Text, default="")  # the text the visitor agreed to
    ip: Mapped[str] = mapped_column(String(45), default="")
    page_url: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[str] = mapped_column(String(10), default="queued")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FollowUpRule(TenantScoped, Base):
    """A shop's rule: an order reaching ``order_status`` makes a follow-up task ``days`` later."""

    __tablename__ = "call_follow_up_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_status: Mapped[str] = mapped_column(String(32))
    days: Mapped[int] = mapped_column(default=7)
    title: Mapped[str] = mapped_column(String(200), default="")
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL")
    )
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Task(TenantScoped, Base):
    """A call to make: a callback (a missed call, an unanswered callback request) or a
    follow-up (by hand, or by a rule on an order)."""

    __tablename__ = "call_tasks"
    __table_args__ = (
        # what made the task ("call:12", "callback:5", "rule:3:order:9"): made once
        UniqueConstraint("tenant_id", "source_key", name="uq_call_task_source"),
        Index("ix_call_tasks_due", "tenant_id", "status", "due_at"),
        # the clock's look across shops for tasks that became due and were not yet told
        Index(
            "ix_call_tasks_to_tell",
            "due_at",
            postgresql_where=text("due_notified_at IS NULL AND status <> 'done'"),
            sqlite_where=text("due_notified_at IS NULL AND status <> 'done'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # TASK_KINDS
    title: Mapped[str] = mapped_column(String(200), default="")
    source_key: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_customers.id", ondelete="SET NULL"), index=True
    )
    phone: Mapped[str] = mapped_column(String(32), default="")
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    callback_id: Mapped[int | None] = mapped_column(
        ForeignKey("call_callbacks.id", ondelete="SET NULL")
    )
    order_id: Mapped[int | None] = mapped_column(ForeignKey("crm_orders.id", ondelete="SET NULL"))
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("call_follow_up_rules.id", ondelete="SET NULL")
    )
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default="open")
    outcome: Mapped[str] = mapped_column(String(32), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    due_notified_at: Mapped[datetime | None]  # the clock told the assignee it is due
    # missed calls from this number the open callback task stands for (one task, not a pile)
    attempts: Mapped[int] = mapped_column(default=1, server_default="1")
    # the answered call that closed this callback task by itself (the customer was reached)
    closed_by_call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL")
    )
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CallSettings(TenantScoped, Base):
    """One row per shop: the widget's free callback (免费电话) — whether it is offered, to which
    countries, with what consent text, from which number, and how often one visitor, one
    address or one phone number may ask per day (callback fraud to premium numbers is a known
    abuse: the limits and the country list keep a shop's bill its own)."""

    __tablename__ = "call_settings"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_call_settings_tenant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    callback_enabled: Mapped[bool] = mapped_column(default=False)
    # ISO 3166 codes the widget accepts numbers of; made with the shop's own country
    callback_countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    consent_text: Mapped[str] = mapped_column(Text, default="")  # empty: the translated default
    # the number callbacks ring the agent from (a Twilio number); none: callback tasks only
    callback_number_id: Mapped[int | None] = mapped_column(
        ForeignKey("call_numbers.id", ondelete="SET NULL")
    )
    # what the visitor is told to expect in hours ("within N minutes")
    callback_minutes: Mapped[int] = mapped_column(default=15)
    per_visitor_daily: Mapped[int] = mapped_column(default=3)
    per_ip_daily: Mapped[int] = mapped_column(default=10)
    per_phone_daily: Mapped[int] = mapped_column(default=3)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
