"""crm imports: what the admin chose for each row whose name differs from the customer its
phone or e-mail matches (a conflict), and what was done with them

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crm_imports") as batch_op:
        batch_op.add_column(
            sa.Column("conflict_choices", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.add_column(
            sa.Column("conflict_counts", sa.JSON(), nullable=False, server_default="{}")
        )


def downgrade() -> None:
    with op.batch_alter_table("crm_imports") as batch_op:
        batch_op.drop_column("conflict_counts")
        batch_op.drop_column("conflict_choices")
