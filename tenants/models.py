"""Tenants, people and their memberships; the plan catalog rows."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenants.db import Base, TenantRoot, TenantScoped, utcnow

ROLES = ("owner", "admin", "agent")
MEMBER_STATUSES = ("invited", "active", "disabled")
TENANT_STATUSES = ("active", "suspended")


def new_site_key() -> str:
    return secrets.token_urlsafe(12)


def new_identity_secret() -> str:
    return secrets.token_hex(32)


class Plan(Base):
    """One entry of the plan catalog (loaded from ``catalog.toml``; prices are data)."""

    __tablename__ = "plans"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    included_seats: Mapped[int]
    price_per_seat_year: Mapped[int] = mapped_column(default=0)  # minor units (fen, cents)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    stripe_price_id: Mapped[str | None] = mapped_column(String(128))
    trial_days: Mapped[int] = mapped_column(default=0)
    trial_seats: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)


class Tenant(TenantRoot, Base):
    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    site_key: Mapped[str] = mapped_column(String(32), unique=True, default=new_site_key)
    identity_secret: Mapped[str] = mapped_column(String(64), default=new_identity_secret)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # where customers' answers to the shop's e-mails go (Reply-To); empty: the agent who wrote.
    # Filled by the database, so inserts written for older schemas (migration tests) still fit.
    reply_email: Mapped[str] = mapped_column(String(254), server_default="")
    # the default region for phone numbers written without a country code
    country: Mapped[str] = mapped_column(String(2), default="CN", server_default="CN")
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    status: Mapped[str] = mapped_column(String(16), default="active")
    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.code"), default="free")
    seats: Mapped[int | None]  # seats paid for; None = the plan's included seats
    # The plan holds until then (a paid period plus any grace); after it the shop is on the
    # default plan. None: no end (the free plan, or staff granted it open-ended).
    paid_until: Mapped[datetime | None]
    trial_plan_code: Mapped[str | None] = mapped_column(ForeignKey("plans.code"))
    trial_ends_at: Mapped[datetime | None]
    feature_overrides: Mapped[dict] = mapped_column(default=dict)  # staff: feature -> on/off
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A person; one person may belong to several shops through memberships."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(10))
    # Bumped on password change so every other session of this person ends.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class Membership(TenantScoped, Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", name="uq_memberships_tenant_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="agent")
    status: Mapped[str] = mapped_column(String(16), default="invited")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the e-mails this person gets from this shop (their profile page turns each off)
    notify_left_messages: Mapped[bool] = mapped_column(default=True, server_default=true())
    notify_missed_chats: Mapped[bool] = mapped_column(default=True, server_default=true())

    user: Mapped[User] = relationship(lazy="joined")
    tenant: Mapped[Tenant] = relationship(lazy="joined")

    @property
    def is_admin(self) -> bool:
        return self.role in ("owner", "admin")


class Invitation(TenantScoped, Base):
    """A single-use invitation; only a hash of its token is stored."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    membership: Mapped[Membership] = relationship(lazy="joined")
