"""Push tables: the devices an agent opted in, and what each agent was last told per topic."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenants.db import Base, TenantScoped, utcnow
from tenants.models import Membership

# What a device can be told. While the agent is online every kind is sent; while away or
# offline only the kinds chosen for the device.
KINDS = ("chat", "message", "left_message", "call", "task")


class PushSubscription(TenantScoped, Base):
    """One browser's push subscription (one per device and browser), for one agent. An
    endpoint is one browser's: it belongs to one agent of one shop at a time."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    device: Mapped[str] = mapped_column(String(120), default="")  # "Chrome on Android"
    away_kinds: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(KINDS))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sent_at: Mapped[datetime | None]

    member: Mapped[Membership] = relationship(lazy="joined")


class PushTopic(TenantScoped, Base):
    """What an agent was last told about one topic (a conversation, the left messages…):
    notices within ``PUSH_COLLAPSE_SECONDS`` of the last are held and folded into one."""

    __tablename__ = "push_topics"
    __table_args__ = (UniqueConstraint("membership_id", "topic", name="uq_push_topic"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(40))
    sent_at: Mapped[datetime | None]
    sent_words: Mapped[str] = mapped_column(String(300), default="")  # the same again: dropped
    held: Mapped[int] = mapped_column(default=0)  # notices folded since sent_at
    pending: Mapped[dict | None] = mapped_column(JSON)  # the latest held notice
