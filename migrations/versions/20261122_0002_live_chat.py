"""live chat: visitors, page views, conversations, messages, settings, inbox; row security

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 18:49:16.409632
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenants.db
from tenants import rls

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHAT_TABLES = (
    "chat_groups",
    "chat_invitation_rules",
    "chat_settings",
    "chat_visitors",
    "chat_agent_states",
    "chat_attachments",
    "chat_conversations",
    "chat_group_members",
    "chat_left_messages",
    "chat_page_views",
    "chat_quick_replies",
    "chat_messages",
)


def upgrade() -> None:
    op.create_table(
        "chat_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("url_pattern", sa.String(length=300), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_groups_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_groups")),
    )
    with op.batch_alter_table("chat_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_groups_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "chat_invitation_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url_pattern", sa.String(length=300), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_invitation_rules_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_invitation_rules")),
    )
    with op.batch_alter_table("chat_invitation_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_invitation_rules_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "chat_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("color", sa.String(length=16), nullable=False),
        sa.Column("greeting", sa.String(length=200), nullable=False),
        sa.Column("offline_text", sa.String(length=300), nullable=False),
        sa.Column("allowed_domains", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("max_chats_per_agent", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_settings")),
        sa.UniqueConstraint("tenant_id", name="uq_chat_settings_tenant"),
    )
    with op.batch_alter_table("chat_settings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_settings_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "chat_visitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("lang", sa.String(length=10), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("visit_count", sa.Integer(), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("visit_started_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("current_url", sa.String(length=1000), nullable=False),
        sa.Column("current_title", sa.String(length=300), nullable=False),
        sa.Column("referrer", sa.String(length=1000), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("keyword", sa.String(length=200), nullable=False),
        sa.Column("utm", sa.JSON(), nullable=False),
        sa.Column("invite", sa.JSON(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_visitors_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_visitors")),
        sa.UniqueConstraint("tenant_id", "key", name="uq_visitor_key"),
    )
    with op.batch_alter_table("chat_visitors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_visitors_last_seen_at"), ["last_seen_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_chat_visitors_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "chat_agent_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("connections", sa.Integer(), nullable=False),
        sa.Column("seen_at", tenants.db.UTCDateTime(), nullable=True),
        sa.Column("last_assigned_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_chat_agent_states_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_agent_states_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_agent_states")),
        sa.UniqueConstraint("membership_id", name="uq_agent_state_member"),
    )
    with op.batch_alter_table("chat_agent_states", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_agent_states_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "chat_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=100), nullable=False),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_attachments_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["chat_visitors.id"],
            name=op.f("fk_chat_attachments_visitor_id_chat_visitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_attachments")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_chat_attachments_storage_key")),
    )
    with op.batch_alter_table("chat_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_attachments_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "chat_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_sender", sa.String(length=10), nullable=False),
        sa.Column("last_text", sa.String(length=200), nullable=False),
        sa.Column("visitor_read_seq", sa.Integer(), nullable=False),
        sa.Column("agent_read_seq", sa.Integer(), nullable=False),
        sa.Column("page_url", sa.String(length=1000), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.String(length=1000), nullable=False),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_message_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["memberships.id"],
            name=op.f("fk_chat_conversations_assignee_id_memberships"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["chat_groups.id"],
            name=op.f("fk_chat_conversations_group_id_chat_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_conversations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["chat_visitors.id"],
            name=op.f("fk_chat_conversations_visitor_id_chat_visitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_conversations")),
    )
    with op.batch_alter_table("chat_conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_conversations_assignee_id"), ["assignee_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_chat_conversations_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_chat_conversations_visitor_id"), ["visitor_id"], unique=False
        )
        batch_op.create_index(
            "ix_conversations_tenant_status", ["tenant_id", "status"], unique=False
        )

    op.create_table(
        "chat_group_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["chat_groups.id"],
            name=op.f("fk_chat_group_members_group_id_chat_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_chat_group_members_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_group_members_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_group_members")),
        sa.UniqueConstraint("group_id", "membership_id", name="uq_group_member"),
    )
    with op.batch_alter_table("chat_group_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_group_members_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "chat_left_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("page_url", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("handled_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["handled_by_id"],
            ["memberships.id"],
            name=op.f("fk_chat_left_messages_handled_by_id_memberships"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_left_messages_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["chat_visitors.id"],
            name=op.f("fk_chat_left_messages_visitor_id_chat_visitors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_left_messages")),
    )
    with op.batch_alter_table("chat_left_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_left_messages_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_chat_left_messages_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "chat_page_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("referrer", sa.String(length=1000), nullable=False),
        sa.Column("utm", sa.JSON(), nullable=False),
        sa.Column("viewed_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_page_views_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["chat_visitors.id"],
            name=op.f("fk_chat_page_views_visitor_id_chat_visitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_page_views")),
    )
    with op.batch_alter_table("chat_page_views", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_page_views_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_chat_page_views_visitor_id"), ["visitor_id"], unique=False
        )
        batch_op.create_index("ix_page_views_tenant_at", ["tenant_id", "viewed_at"], unique=False)

    op.create_table(
        "chat_quick_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("shortcut", sa.String(length=30), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["memberships.id"],
            name=op.f("fk_chat_quick_replies_owner_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_quick_replies_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_quick_replies")),
    )
    with op.batch_alter_table("chat_quick_replies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_quick_replies_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=10), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["memberships.id"],
            name=op.f("fk_chat_messages_agent_id_memberships"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["chat_attachments.id"],
            name=op.f("fk_chat_messages_attachment_id_chat_attachments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["chat_conversations.id"],
            name=op.f("fk_chat_messages_conversation_id_chat_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_messages_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
        sa.UniqueConstraint("conversation_id", "sender", "client_id", name="uq_message_client_id"),
        sa.UniqueConstraint("conversation_id", "seq", name="uq_message_seq"),
    )
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_messages_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_chat_messages_tenant_id"), ["tenant_id"], unique=False)

    for table in CHAT_TABLES:
        rls.enable(table)


def downgrade() -> None:
    for table in CHAT_TABLES:
        rls.disable(table)
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_messages_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_chat_messages_conversation_id"))

    op.drop_table("chat_messages")
    with op.batch_alter_table("chat_quick_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_quick_replies_tenant_id"))

    op.drop_table("chat_quick_replies")
    with op.batch_alter_table("chat_page_views", schema=None) as batch_op:
        batch_op.drop_index("ix_page_views_tenant_at")
        batch_op.drop_index(batch_op.f("ix_chat_page_views_visitor_id"))
        batch_op.drop_index(batch_op.f("ix_chat_page_views_tenant_id"))

    op.drop_table("chat_page_views")
    with op.batch_alter_table("chat_left_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_left_messages_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_chat_left_messages_created_at"))

    op.drop_table("chat_left_messages")
    with op.batch_alter_table("chat_group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_group_members_tenant_id"))

    op.drop_table("chat_group_members")
    with op.batch_alter_table("chat_conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_tenant_status")
        batch_op.drop_index(batch_op.f("ix_chat_conversations_visitor_id"))
        batch_op.drop_index(batch_op.f("ix_chat_conversations_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_chat_conversations_assignee_id"))

    op.drop_table("chat_conversations")
    with op.batch_alter_table("chat_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_attachments_tenant_id"))

    op.drop_table("chat_attachments")
    with op.batch_alter_table("chat_agent_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_agent_states_tenant_id"))

    op.drop_table("chat_agent_states")
    with op.batch_alter_table("chat_visitors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_visitors_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_chat_visitors_last_seen_at"))

    op.drop_table("chat_visitors")
    with op.batch_alter_table("chat_settings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_settings_tenant_id"))

    op.drop_table("chat_settings")
    with op.batch_alter_table("chat_invitation_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_invitation_rules_tenant_id"))

    op.drop_table("chat_invitation_rules")
    with op.batch_alter_table("chat_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_groups_tenant_id"))

    op.drop_table("chat_groups")
