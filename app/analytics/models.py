"""Analytics tables. Raw rows written by the listeners as things happen — visits with their
first touch, reporting events (Chatwoot's ``reporting_events``), order facts — and the rollups
the pages read: per shop and local day (hour for volume), recomputed from the raw rows for the
days a change touched (``AnalyticsDirty``) and nightly for the recent past."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenants.db import Base, TenantScoped, utcnow

# Tables that grow with traffic: 64-bit ids (SQLite's rowid is one already).
BIG_ID = BigInteger().with_variant(Integer, "sqlite")
# The dimensions a funnel is cut by: each is a column of AnalyticsVisit.
DIMENSIONS = ("channel", "source", "keyword", "campaign", "landing_page")
MODELS = ("first", "last")  # first or last touch before the order
CHANNELS = ("paid", "search", "social", "email", "referral", "direct")
# A search visit whose keyword the engine withheld: a real value, shown as such.
NOT_PROVIDED = "(not provided)"
# An order or a consultation no visit of the customer explains (a phone order, a caller
# never seen on the site): shown in its own row so the totals add up to the shop's.
UNATTRIBUTED = "(unattributed)"


def rollup_tenant_id() -> Mapped[int]:
    """A rollup's shop, without the index of its own every other table has: the rollup's
    unique key leads with it, and the planner preferred the narrow index and filtered out the
    other dimensions' rows instead (docs/BENCHMARKS.md "Analytics")."""
    return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))


class AnalyticsVisit(TenantScoped, Base):
    """A visitor's session (ended by 30 minutes without a page view) and where it came from."""

    __tablename__ = "analytics_visits"
    __table_args__ = (
        Index("ix_analytics_visits_tenant_started", "tenant_id", "started_at"),
        Index("ix_analytics_visits_customer", "tenant_id", "customer_id", "started_at"),
        Index("ix_analytics_visits_visitor", "visitor_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    visitor_id: Mapped[int]  # the chat's visitor (no foreign key: visits outlive pruning)
    customer_id: Mapped[int | None]  # the CRM customer the visitor is known to be
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(60), default="")
    keyword: Mapped[str] = mapped_column(String(200), default="")
    campaign: Mapped[str] = mapped_column(String(200), default="")
    medium: Mapped[str] = mapped_column(String(60), default="")
    click_id: Mapped[str] = mapped_column(String(200), default="")  # "gclid:…", "bd_vid:…"
    landing_page: Mapped[str] = mapped_column(String(300), default="")  # the path
    referrer_domain: Mapped[str] = mapped_column(String(253), default="")


class AnalyticsEvent(TenantScoped, Base):
    """A reporting event: something that happened, when, and the figure it carries.

    ``name``: ``consultation`` (``kind`` chat/message/call/callback, ``visit_id`` the visit it
    came from), ``conversation``, ``message``, ``left_message``, ``call``, and the team's
    events (first response, reply, resolution, rating, missed …) with ``agent_id`` and
    ``value`` (seconds, or the rating)."""

    __tablename__ = "analytics_events"
    __table_args__ = (
        Index("ix_analytics_events_tenant_name_at", "tenant_id", "name", "at"),
        Index("ix_analytics_events_visit", "visit_id"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(20), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    visit_id: Mapped[int | None] = mapped_column(BigInteger)
    conversation_id: Mapped[int | None]
    agent_id: Mapped[int | None]  # the member (membership id)
    ref_id: Mapped[int | None]  # the row it is about: a left message, a call, a question
    value: Mapped[float | None] = mapped_column(Double)


class AnalyticsOrder(TenantScoped, Base):
    """What analytics knows of an order (kept from the CRM's events): whose, when, how much."""

    __tablename__ = "analytics_orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "order_id", name="uq_analytics_order"),
        Index("ix_analytics_orders_tenant_placed", "tenant_id", "placed_at"),
        Index("ix_analytics_orders_customer", "tenant_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int]  # the CRM's order
    customer_id: Mapped[int]
    placed_at: Mapped[datetime]
    total: Mapped[int] = mapped_column(BigInteger)  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    counted: Mapped[bool] = mapped_column(default=True)  # not cancelled or refunded


class AnalyticsDirty(TenantScoped, Base):
    """A moment whose local day's rollups are out of date. Rows are only ever inserted by the
    listeners and deleted by the job that recomputed their days, so nothing races."""

    __tablename__ = "analytics_dirty"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    at: Mapped[datetime]


class AnalyticsState(TenantScoped, Base):
    """One row per shop, locked while its rollups are rewritten (one writer per shop)."""

    __tablename__ = "analytics_state"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_analytics_state_tenant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rolled_at: Mapped[datetime | None]


class TrafficDaily(TenantScoped, Base):
    """Visits and consultations of a local day, by one dimension's value."""

    __tablename__ = "analytics_traffic_daily"
    __table_args__ = (
        # The report reads a dimension's days from this index alone (PostgreSQL: its counts
        # included, an index-only scan; docs/BENCHMARKS.md "Analytics").
        UniqueConstraint(
            "tenant_id",
            "dimension",
            "day",
            "value",
            name="uq_traffic_daily",
            postgresql_include=["visits", "consultations"],
        ),
    )

    tenant_id: Mapped[int] = rollup_tenant_id()
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    dimension: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(300))
    visits: Mapped[int] = mapped_column(default=0)
    consultations: Mapped[int] = mapped_column(default=0)


class OrdersDaily(TenantScoped, Base):
    """Orders of a local day and their revenue in one currency, attributed by one model to
    one dimension's value."""

    __tablename__ = "analytics_orders_daily"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "model",
            "dimension",
            "day",
            "value",
            "currency",
            name="uq_orders_daily",
            postgresql_include=["orders", "revenue"],
        ),
    )

    tenant_id: Mapped[int] = rollup_tenant_id()
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    model: Mapped[str] = mapped_column(String(5))
    dimension: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(300))
    currency: Mapped[str] = mapped_column(String(3))
    orders: Mapped[int] = mapped_column(default=0)
    revenue: Mapped[int] = mapped_column(BigInteger, default=0)  # minor units


class VolumeHourly(TenantScoped, Base):
    """How much happened in one local hour of one local day."""

    __tablename__ = "analytics_volume_hourly"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "day",
            "hour",
            name="uq_volume_hourly",
            postgresql_include=["conversations", "messages", "left_messages", "calls"],
        ),
    )

    tenant_id: Mapped[int] = rollup_tenant_id()
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    hour: Mapped[int]
    conversations: Mapped[int] = mapped_column(default=0)
    messages: Mapped[int] = mapped_column(default=0)
    left_messages: Mapped[int] = mapped_column(default=0)
    calls: Mapped[int] = mapped_column(default=0)
