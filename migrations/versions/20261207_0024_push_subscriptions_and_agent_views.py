"""push: agents' devices (Web Push subscriptions) and what each was last told per topic;
chat: whether each console tab is in sight (an agent looking is not pushed) and the shop's
"visitor's words in notifications" switch

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 18:34:01.584011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenants.db
from tenants import rls

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("chat_agent_views", "push_subscriptions", "push_topics")


def upgrade() -> None:
    op.create_table(
        "chat_agent_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("seen_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_chat_agent_views_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_agent_views_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_agent_views")),
        sa.UniqueConstraint("sid", name=op.f("uq_chat_agent_views_sid")),
    )
    with op.batch_alter_table("chat_agent_views", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_agent_views_membership_id"), ["membership_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_chat_agent_views_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=1000), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=100), nullable=False),
        sa.Column("device", sa.String(length=120), nullable=False),
        sa.Column("away_kinds", sa.JSON(), nullable=False),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_push_subscriptions_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_push_subscriptions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscriptions_endpoint")),
    )
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_push_subscriptions_membership_id"), ["membership_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_push_subscriptions_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "push_topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("sent_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_words", sa.String(length=300), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("pending", sa.JSON(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_push_topics_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_push_topics_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_topics")),
        sa.UniqueConstraint("membership_id", "topic", name="uq_push_topic"),
    )
    with op.batch_alter_table("push_topics", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_topics_tenant_id"), ["tenant_id"], unique=False)

    with op.batch_alter_table("chat_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("push_message_text", sa.Boolean(), server_default=sa.true(), nullable=False)
        )

    for table in TABLES:
        rls.enable(table)


def downgrade() -> None:
    for table in TABLES:
        rls.disable(table)
    with op.batch_alter_table("chat_settings", schema=None) as batch_op:
        batch_op.drop_column("push_message_text")

    with op.batch_alter_table("push_topics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_topics_tenant_id"))

    op.drop_table("push_topics")
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_subscriptions_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_push_subscriptions_membership_id"))

    op.drop_table("push_subscriptions")
    with op.batch_alter_table("chat_agent_views", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_agent_views_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_chat_agent_views_membership_id"))

    op.drop_table("chat_agent_views")
