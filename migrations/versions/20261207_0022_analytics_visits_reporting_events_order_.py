"""analytics: visits, reporting events, order facts, rollups

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 15:11:45.774917
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenants.db
from tenants import rls

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_dirty",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_analytics_dirty_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_dirty")),
    )
    with op.batch_alter_table("analytics_dirty", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_analytics_dirty_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "analytics_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("visit_id", sa.BigInteger(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("ref_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_analytics_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_events")),
    )
    with op.batch_alter_table("analytics_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_analytics_events_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            "ix_analytics_events_tenant_name_at", ["tenant_id", "name", "at"], unique=False
        )
        batch_op.create_index("ix_analytics_events_visit", ["visit_id"], unique=False)

    op.create_table(
        "analytics_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("placed_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_analytics_orders_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_orders")),
        sa.UniqueConstraint("tenant_id", "order_id", name="uq_analytics_order"),
    )
    with op.batch_alter_table("analytics_orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_orders_customer", ["tenant_id", "customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_analytics_orders_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            "ix_analytics_orders_tenant_placed", ["tenant_id", "placed_at"], unique=False
        )

    op.create_table(
        "analytics_orders_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("model", sa.String(length=5), nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_analytics_orders_daily_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_orders_daily")),
        sa.UniqueConstraint(
            "tenant_id", "model", "dimension", "day", "value", "currency", name="uq_orders_daily"
        ),
    )
    with op.batch_alter_table("analytics_orders_daily", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_analytics_orders_daily_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "analytics_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rolled_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_analytics_state_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_state")),
        sa.UniqueConstraint("tenant_id", name="uq_analytics_state_tenant"),
    )
    with op.batch_alter_table("analytics_state", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_analytics_state_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "analytics_traffic_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("consultations", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_analytics_traffic_daily_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_traffic_daily")),
        sa.UniqueConstraint("tenant_id", "dimension", "day", "value", name="uq_traffic_daily"),
    )
    with op.batch_alter_table("analytics_traffic_daily", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_analytics_traffic_daily_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "analytics_visits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("started_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("keyword", sa.String(length=200), nullable=False),
        sa.Column("campaign", sa.String(length=200), nullable=False),
        sa.Column("medium", sa.String(length=60), nullable=False),
        sa.Column("click_id", sa.String(length=200), nullable=False),
        sa.Column("landing_page", sa.String(length=300), nullable=False),
        sa.Column("referrer_domain", sa.String(length=253), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_analytics_visits_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_visits")),
    )
    with op.batch_alter_table("analytics_visits", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_visits_customer", ["tenant_id", "customer_id", "started_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_analytics_visits_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            "ix_analytics_visits_tenant_started", ["tenant_id", "started_at"], unique=False
        )
        batch_op.create_index(
            "ix_analytics_visits_visitor", ["visitor_id", "started_at"], unique=False
        )

    op.create_table(
        "analytics_volume_hourly",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("left_messages", sa.Integer(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_analytics_volume_hourly_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_volume_hourly")),
        sa.UniqueConstraint("tenant_id", "day", "hour", name="uq_volume_hourly"),
    )
    with op.batch_alter_table("analytics_volume_hourly", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_analytics_volume_hourly_tenant_id"), ["tenant_id"], unique=False
        )

    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_tenant_created", ["tenant_id", "created_at"], unique=False
        )

    rls.enable("analytics_visits")
    rls.enable("analytics_events")
    rls.enable("analytics_orders")
    rls.enable("analytics_dirty")
    rls.enable("analytics_state")
    rls.enable("analytics_traffic_daily")
    rls.enable("analytics_orders_daily")
    rls.enable("analytics_volume_hourly")


def downgrade() -> None:
    rls.disable("analytics_volume_hourly")
    rls.disable("analytics_orders_daily")
    rls.disable("analytics_traffic_daily")
    rls.disable("analytics_state")
    rls.disable("analytics_dirty")
    rls.disable("analytics_orders")
    rls.disable("analytics_events")
    rls.disable("analytics_visits")
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_tenant_created")

    with op.batch_alter_table("analytics_volume_hourly", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_volume_hourly_tenant_id"))

    op.drop_table("analytics_volume_hourly")
    with op.batch_alter_table("analytics_visits", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_visits_visitor")
        batch_op.drop_index("ix_analytics_visits_tenant_started")
        batch_op.drop_index(batch_op.f("ix_analytics_visits_tenant_id"))
        batch_op.drop_index("ix_analytics_visits_customer")

    op.drop_table("analytics_visits")
    with op.batch_alter_table("analytics_traffic_daily", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_traffic_daily_tenant_id"))

    op.drop_table("analytics_traffic_daily")
    with op.batch_alter_table("analytics_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_state_tenant_id"))

    op.drop_table("analytics_state")
    with op.batch_alter_table("analytics_orders_daily", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_orders_daily_tenant_id"))

    op.drop_table("analytics_orders_daily")
    with op.batch_alter_table("analytics_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_orders_tenant_placed")
        batch_op.drop_index(batch_op.f("ix_analytics_orders_tenant_id"))
        batch_op.drop_index("ix_analytics_orders_customer")

    op.drop_table("analytics_orders")
    with op.batch_alter_table("analytics_events", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_events_visit")
        batch_op.drop_index("ix_analytics_events_tenant_name_at")
        batch_op.drop_index(batch_op.f("ix_analytics_events_tenant_id"))

    op.drop_table("analytics_events")
    with op.batch_alter_table("analytics_dirty", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_dirty_tenant_id"))

    op.drop_table("analytics_dirty")
