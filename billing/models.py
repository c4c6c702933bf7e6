"""Billing tables: each shop's subscription and invoices, the Stripe events received, and the
platform staff's own accounts, notes and audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenants.db import Base, TenantScoped, utcnow

SUBSCRIPTION_STATUSES = (
    "none",
    "trialing",
    "active",
    "past_due",
    "canceled",
    "unpaid",
    "incomplete",
    "offline",
)
STAFF_ROLES = ("admin", "billing", "support")


class BillingAccount(TenantScoped, Base):
    """A shop's subscription as Stripe (or staff, for an offline payment) last told us."""

    __tablename__ = "billing_accounts"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_billing_accounts_tenant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="none")
    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.code"), default="free")
    seats: Mapped[int] = mapped_column(default=0)
    # fewer seats asked for: they take effect at renewal
    pending_seats: Mapped[int | None]
    current_period_end: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    past_due_since: Mapped[datetime | None]
    # The Stripe subscription object's own time of the state we hold: older news is ignored.
    state_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Invoice(TenantScoped, Base):
    __tablename__ = "billing_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_invoice_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    number: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16))  # draft/open/paid/void/uncollectible/offline
    amount_due: Mapped[int] = mapped_column(default=0)  # minor units
    amount_paid: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    hosted_invoice_url: Mapped[str] = mapped_column(String(500), default="")
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BillingEvent(Base):
    """Every Stripe event received, recorded in the same transaction as its effect."""

    __tablename__ = "billing_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime]  # Stripe's time of the event
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))  # applied / stale / ignored
    summary: Mapped[str] = mapped_column(String(300), default="")


class StaffUser(Base):
    """Platform staff: separate from every shop's people, with TOTP required."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), default="support")
    active: Mapped[bool] = mapped_column(default=True)
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who did what to which shop, when and why: every staff action and billing state change."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(254))  # staff e-mail, or "stripe" / "system"
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict] = mapped_column(JSON, default=dict)
    after: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TenantNote(Base):
    """Staff notes on a shop (never shown to the shop)."""

    __tablename__ = "tenant_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
