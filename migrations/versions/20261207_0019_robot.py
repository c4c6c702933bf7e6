"""robot answers: knowledge base, settings and the questions asked

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 12:02:13.032901
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenants.db
from tenants import rls

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "robot_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("question", sa.String(length=500), nullable=False),
        sa.Column("alternatives", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_robot_entries_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_robot_entries")),
        sa.UniqueConstraint("tenant_id", "external_id", name="uq_robot_entry_external_id"),
    )
    with op.batch_alter_table("robot_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_robot_entries_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "robot_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=15), nullable=False),
        sa.Column("answer_threshold", sa.Double(), nullable=True),
        sa.Column("suggest_threshold", sa.Double(), nullable=True),
        sa.Column("margin", sa.Double(), nullable=True),
        sa.Column("synonyms", sa.Text(), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_robot_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_robot_settings")),
        sa.UniqueConstraint("tenant_id", name="uq_robot_settings_tenant"),
    )
    with op.batch_alter_table("robot_settings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_robot_settings_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "robot_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("question", sa.String(length=1000), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("rating", sa.String(length=10), nullable=True),
        sa.Column("settled_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["chat_conversations.id"],
            name=op.f("fk_robot_questions_conversation_id_chat_conversations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["robot_entries.id"],
            name=op.f("fk_robot_questions_entry_id_robot_entries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["chat_messages.id"],
            name=op.f("fk_robot_questions_message_id_chat_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_robot_questions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_robot_questions")),
    )
    with op.batch_alter_table("robot_questions", schema=None) as batch_op:
        batch_op.create_index("ix_robot_questions_conversation", ["conversation_id"], unique=False)
        batch_op.create_index(
            "ix_robot_questions_tenant_created", ["tenant_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_robot_questions_tenant_id"), ["tenant_id"], unique=False
        )

    rls.enable("robot_entries")
    rls.enable("robot_settings")
    rls.enable("robot_questions")


def downgrade() -> None:
    rls.disable("robot_questions")
    rls.disable("robot_settings")
    rls.disable("robot_entries")
    with op.batch_alter_table("robot_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_robot_questions_tenant_id"))
        batch_op.drop_index("ix_robot_questions_tenant_created")
        batch_op.drop_index("ix_robot_questions_conversation")

    op.drop_table("robot_questions")
    with op.batch_alter_table("robot_settings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_robot_settings_tenant_id"))

    op.drop_table("robot_settings")
    with op.batch_alter_table("robot_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_robot_entries_tenant_id"))

    op.drop_table("robot_entries")
