"""chat: the widget's refusals (page views on a host that is not an allowed website), counted
per shop, host and day for the console home

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_widget_refusals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("dismissed", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_widget_refusals_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_widget_refusals")),
        sa.UniqueConstraint("tenant_id", "host", "day", name="uq_chat_widget_refusals_host_day"),
    )
    with op.batch_alter_table("chat_widget_refusals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_widget_refusals_tenant_id"), ["tenant_id"], unique=False
        )
    rls.enable("chat_widget_refusals")


def downgrade() -> None:
    rls.disable("chat_widget_refusals")
    op.drop_table("chat_widget_refusals")
