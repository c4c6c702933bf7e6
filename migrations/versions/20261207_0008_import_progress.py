"""crm imports: a big file runs as a job, and its progress is kept (rows, rows done)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 04:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crm_imports") as batch_op:
        batch_op.add_column(
            sa.Column("row_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("processed_count", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("crm_imports") as batch_op:
        batch_op.drop_column("processed_count")
        batch_op.drop_column("row_count")
