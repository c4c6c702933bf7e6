"""chat: the launcher's position per shop; quick reply shortcuts unique per owner, texts as long
as a chat message

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHARED = sa.text("owner_id IS NULL")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("chat_settings") as batch_op:
        batch_op.add_column(
            sa.Column("launcher_side", sa.String(5), nullable=False, server_default="right")
        )
        batch_op.add_column(
            sa.Column("launcher_bottom", sa.Integer(), nullable=False, server_default="20")
        )
        batch_op.add_column(
            sa.Column("launcher_offset", sa.Integer(), nullable=False, server_default="20")
        )

    if postgresql:
        # Row-level security binds the tables' owner too (FORCE): the backfill is every shop's.
        op.execute("SELECT set_config('app.cross_tenant', 'on', true)")
    # A shortcut stored twice by one owner: the first keeps it, the later ones stay (nothing is
    # deleted) under a shortcut of their own that the agent can see and rename.
    for owner, group in (("owner_id IS NOT NULL", "owner_id"), ("owner_id IS NULL", "tenant_id")):
        op.execute(
            f"""
            UPDATE chat_quick_replies
               SET shortcut = substr(shortcut, 1, 20) || '-' || CAST(id AS VARCHAR(20))
             WHERE {owner}
               AND id NOT IN (SELECT min(id) FROM chat_quick_replies WHERE {owner}
                               GROUP BY {group}, shortcut)
            """
        )
    if postgresql:
        op.execute("SELECT set_config('app.cross_tenant', 'off', true)")

    with op.batch_alter_table("chat_quick_replies") as batch_op:
        batch_op.alter_column(
            "text", existing_type=sa.String(2000), type_=sa.String(5000), existing_nullable=False
        )
        batch_op.create_unique_constraint("uq_quick_reply_owner_shortcut", ["owner_id", "shortcut"])
        batch_op.create_index(
            "uq_quick_reply_shared_shortcut",
            ["tenant_id", "shortcut"],
            unique=True,
            postgresql_where=SHARED,
            sqlite_where=SHARED,
        )


def downgrade() -> None:
    with op.batch_alter_table("chat_quick_replies") as batch_op:
        batch_op.drop_index(
            "uq_quick_reply_shared_shortcut", postgresql_where=SHARED, sqlite_where=SHARED
        )
        batch_op.drop_constraint("uq_quick_reply_owner_shortcut", type_="unique")
        # texts longer than the old limit are cut to it
        batch_op.alter_column(
            "text",
            existing_type=sa.String(5000),
            type_=sa.String(2000),
            existing_nullable=False,
            postgresql_using="substr(text, 1, 2000)",
        )

    with op.batch_alter_table("chat_settings") as batch_op:
        batch_op.drop_column("launcher_offset")
        batch_op.drop_column("launcher_bottom")
        batch_op.drop_column("launcher_side")
