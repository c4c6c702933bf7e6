"""calls: the shop's callback settings (widget callback on/off, countries, consent, number,
daily limits)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 10:12:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenants.db
from tenants import rls

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("callback_enabled", sa.Boolean(), nullable=False),
        sa.Column("callback_countries", sa.JSON(), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("callback_number_id", sa.Integer(), nullable=True),
        sa.Column("callback_minutes", sa.Integer(), nullable=False),
        sa.Column("per_visitor_daily", sa.Integer(), nullable=False),
        sa.Column("per_ip_daily", sa.Integer(), nullable=False),
        sa.Column("per_phone_daily", sa.Integer(), nullable=False),
        sa.Column("updated_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["callback_number_id"],
            ["call_numbers.id"],
            name=op.f("fk_call_settings_callback_number_id_call_numbers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_call_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_settings")),
        sa.UniqueConstraint("tenant_id", name="uq_call_settings_tenant"),
    )
    with op.batch_alter_table("call_settings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_settings_tenant_id"), ["tenant_id"], unique=False)
    rls.enable("call_settings")


def downgrade() -> None:
    rls.disable("call_settings")
    with op.batch_alter_table("call_settings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_settings_tenant_id"))
    op.drop_table("call_settings")
