"""CRM tables: customers with their phones, e-mails and tags, the admin's custom fields,
orders, the timeline, saved filters and imports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenants.db import Base, TenantScoped, utcnow

FIELD_KINDS = ("text", "number", "date", "choice")
# How a customer first reached the shop.
SOURCES = ("chat", "left_message", "identify", "api", "import", "manual", "order", "callback")


class Customer(TenantScoped, Base):
    __tablename__ = "crm_customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id", name="uq_customer_external_id"),
        # Name search is a prefix range with the byte-wise pattern operators (service.
        # _starts_with): PostgreSQL needs the pattern opclass for them under any collation
        # but C; the id included answers it from the index alone. SQLite ignores both.
        Index(
            "ix_customers_tenant_name",
            "tenant_id",
            "name_key",
            postgresql_ops={"name_key": "varchar_pattern_ops"},
            postgresql_include=["id"],
        ),
        Index("ix_customers_tenant_last_order", "tenant_id", "last_order_at"),
        # the customer list's order (newest change first): its first page without a sort
        Index("ix_customers_tenant_updated", "tenant_id", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(128))  # the shop's own user id
    name: Mapped[str] = mapped_column(String(120), default="")
    # lower-cased name, for prefix search through an ordinary index on every database
    name_key: Mapped[str] = mapped_column(String(120), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(20), default="manual")
    fields: Mapped[dict] = mapped_column(default=dict)  # custom field key -> value
    # totals kept with the row so lists and filters need no aggregate per customer
    order_count: Mapped[int] = mapped_column(default=0)
    revenue: Mapped[int] = mapped_column(default=0)  # minor units of the shop's currency
    last_order_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    # set on the customer merged away; it keeps answering its id with where it went
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_customers.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    phones: Mapped[list[CustomerPhone]] = relationship(
        order_by="CustomerPhone.id", cascade="all, delete-orphan"
    )
    emails: Mapped[list[CustomerEmail]] = relationship(
        order_by="CustomerEmail.id", cascade="all, delete-orphan"
    )
    tags: Mapped[list[CustomerTag]] = relationship(
        order_by="CustomerTag.tag", cascade="all, delete-orphan"
    )


class CustomerPhone(TenantScoped, Base):
    __tablename__ = "crm_customer_phones"
    __table_args__ = (
        UniqueConstraint("tenant_id", "e164", name="uq_customer_phone"),
        # a number typed in part: prefix search (see Customer's name index)
        Index(
            "ix_customer_phones_tenant_prefix",
            "tenant_id",
            "e164",
            postgresql_ops={"e164": "varchar_pattern_ops"},
            postgresql_include=["customer_id"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("crm_customers.id", ondelete="CASCADE"), index=True
    )
    e164: Mapped[str] = mapped_column(String(20))


class CustomerEmail(TenantScoped, Base):
    __tablename__ = "crm_customer_emails"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email", name="uq_customer_email"),
        Index(
            "ix_customer_emails_tenant_prefix",
            "tenant_id",
            "email",
            postgresql_ops={"email": "varchar_pattern_ops"},
            postgresql_include=["customer_id"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("crm_customers.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))  # lower-cased


class CustomerTag(TenantScoped, Base):
    __tablename__ = "crm_customer_tags"
    __table_args__ = (
        UniqueConstraint("customer_id", "tag", name="uq_customer_tag"),
        Index("ix_customer_tags_tenant_tag", "tenant_id", "tag"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("crm_customers.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(40))


class CustomField(TenantScoped, Base):
    """A field the shop's admin adds to every customer."""

    __tablename__ = "crm_custom_fields"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_custom_field_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40))  # stable, used in the API and in CSV headers
    label: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10), default="text")  # FIELD_KINDS
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(default=0)


class Order(TenantScoped, Base):
    __tablename__ = "crm_orders"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id", name="uq_order_external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128))  # the shop's order number
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("crm_customers.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(32), default="placed")
    total: Mapped[int] = mapped_column(default=0)  # minor units
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    items: Mapped[list] = mapped_column(JSON, default=list)  # [{"name", "quantity", "price"}]
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TimelineEntry(TenantScoped, Base):
    """One interaction with a customer. ``kind`` names it (app/crm/timeline.py lists the kinds);
    ``ref_id`` points at the row it is about (a conversation, a left message, an order)."""

    __tablename__ = "crm_timeline"
    __table_args__ = (
        Index("ix_timeline_customer_at", "customer_id", "occurred_at", "id"),
        UniqueConstraint("customer_id", "kind", "ref_id", name="uq_timeline_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("crm_customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    ref_id: Mapped[int | None]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("memberships.id", ondelete="SET NULL"))
    summary: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(default=dict)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)


class SavedFilter(TenantScoped, Base):
    __tablename__ = "crm_saved_filters"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[dict] = mapped_column(default=dict)  # the customer list's query arguments
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Import(TenantScoped, Base):
    """A CSV import: the uploaded file waits here for its column mapping, then its report."""

    __tablename__ = "crm_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default="customers")  # customers/orders
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    mapping: Mapped[dict] = mapped_column(default=dict)  # CSV column -> customer field
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending/queued/done
    row_count: Mapped[int] = mapped_column(default=0)
    processed_count: Mapped[int] = mapped_column(default=0)  # rows done (a queued import)
    created_count: Mapped[int] = mapped_column(default=0)
    updated_count: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list] = mapped_column(JSON, default=list)  # [{"row", "column", "code", …}]
    # a row matched by phone or e-mail whose name differs: row number -> update/create/skip,
    # chosen at the preview; and how many conflicts each choice (or "failed") took
    conflict_choices: Mapped[dict] = mapped_column(default=dict)
    conflict_counts: Mapped[dict] = mapped_column(default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
