"""robot answers: a knowledge-base CSV kept between its preview and its confirmation

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenants.db
from tenants import rls

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "robot_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("updated_count", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["memberships.id"],
            name=op.f("fk_robot_imports_created_by_id_memberships"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_robot_imports_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_robot_imports")),
    )
    with op.batch_alter_table("robot_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_robot_imports_tenant_id"), ["tenant_id"], unique=False)

    rls.enable("robot_imports")


def downgrade() -> None:
    rls.disable("robot_imports")
    with op.batch_alter_table("robot_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_robot_imports_tenant_id"))

    op.drop_table("robot_imports")
