"""calls: a callback task counts the missed calls it stands for, and names the answered call
that closed it; an index for the clock's look for tasks that became due

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TO_TELL = "due_notified_at IS NULL AND status <> 'done'"


def upgrade() -> None:
    with op.batch_alter_table("call_tasks") as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("closed_by_call_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_call_tasks_closed_by_call_id_calls"),
            "calls",
            ["closed_by_call_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            "ix_call_tasks_to_tell",
            ["due_at"],
            unique=False,
            postgresql_where=sa.text(TO_TELL),
            sqlite_where=sa.text(TO_TELL),
        )


def downgrade() -> None:
    with op.batch_alter_table("call_tasks") as batch_op:
        batch_op.drop_index("ix_call_tasks_to_tell")
        batch_op.drop_constraint(
            batch_op.f("fk_call_tasks_closed_by_call_id_calls"), type_="foreignkey"
        )
        batch_op.drop_column("closed_by_call_id")
        batch_op.drop_column("attempts")
