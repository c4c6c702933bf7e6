"""chats close themselves when idle, missed chats and left messages are mailed to the shop

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-07 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenants.db

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_settings") as batch_op:
        batch_op.add_column(
            sa.Column("auto_close_minutes", sa.Integer(), nullable=False, server_default="30")
        )
    with op.batch_alter_table("chat_conversations") as batch_op:
        batch_op.add_column(
            sa.Column("missed_notice_at", tenants.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("memberships") as batch_op:
        batch_op.add_column(
            sa.Column(
                "notify_left_messages", sa.Boolean(), nullable=False, server_default=sa.true()
            )
        )
        batch_op.add_column(
            sa.Column("notify_missed_chats", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("memberships") as batch_op:
        batch_op.drop_column("notify_missed_chats")
        batch_op.drop_column("notify_left_messages")
    with op.batch_alter_table("chat_conversations") as batch_op:
        batch_op.drop_column("missed_notice_at")
    with op.batch_alter_table("chat_settings") as batch_op:
        batch_op.drop_column("auto_close_minutes")
