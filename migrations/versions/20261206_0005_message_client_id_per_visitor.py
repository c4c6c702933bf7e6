"""chat: a visitor's client id is unique per visitor; one open conversation per visitor

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status <> 'closed'")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Row-level security binds the tables' owner too (FORCE): the backfill is every shop's.
        op.execute("SELECT set_config('app.cross_tenant', 'on', true)")

    # A visitor with several conversations not closed (first messages that raced in) keeps
    # the newest one open; the older ones are closed as of their last message.
    op.execute(
        """
        UPDATE chat_conversations
           SET status = 'closed', closed_at = last_message_at
         WHERE status <> 'closed'
           AND id < (SELECT max(newer.id) FROM chat_conversations AS newer
                      WHERE newer.visitor_id = chat_conversations.visitor_id
                        AND newer.status <> 'closed')
        """
    )
    with op.batch_alter_table("chat_conversations", schema=None) as batch_op:
        batch_op.create_index(
            "uq_conversations_one_open_per_visitor",
            ["visitor_id"],
            unique=True,
            postgresql_where=OPEN,
            sqlite_where=OPEN,
        )

    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visitor_id", sa.Integer(), nullable=True))
    op.execute(
        """
        UPDATE chat_messages
           SET visitor_id = (SELECT visitor_id FROM chat_conversations
                              WHERE chat_conversations.id = chat_messages.conversation_id)
         WHERE sender = 'visitor'
        """
    )
    # A client id a visitor has stored more than once (resent after a close, or raced in):
    # the first copy keeps it, so a retry answers that one; the later copies stay where they
    # are (agents may have answered them) under a client id of their own.
    op.execute(
        """
        UPDATE chat_messages
           SET client_id = 'dup:' || CAST(id AS VARCHAR(20))
         WHERE visitor_id IS NOT NULL
           AND id NOT IN (SELECT min(id) FROM chat_messages WHERE visitor_id IS NOT NULL
                           GROUP BY visitor_id, client_id)
        """
    )
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_chat_messages_visitor_id_chat_visitors"),
            "chat_visitors",
            ["visitor_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint(
            "uq_message_visitor_client_id", ["visitor_id", "client_id"]
        )
        batch_op.create_check_constraint(
            op.f("ck_chat_messages_visitor_id"), "(sender = 'visitor') = (visitor_id IS NOT NULL)"
        )

    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT set_config('app.cross_tenant', 'off', true)")


def downgrade() -> None:
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_chat_messages_visitor_id"), type_="check")
        batch_op.drop_constraint("uq_message_visitor_client_id", type_="unique")
        batch_op.drop_constraint(
            op.f("fk_chat_messages_visitor_id_chat_visitors"), type_="foreignkey"
        )
        batch_op.drop_column("visitor_id")

    with op.batch_alter_table("chat_conversations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_conversations_one_open_per_visitor",
            postgresql_where=OPEN,
            sqlite_where=OPEN,
        )
