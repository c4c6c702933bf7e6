"""calls: phone connections and numbers, agents' lines, provider events, call records,
widget callback requests, tasks and follow-up rules

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 08:33:42.266277
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenants.db
from tenants import rls

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "call_connections",
    "call_agent_lines",
    "call_events",
    "call_follow_up_rules",
    "call_numbers",
    "call_callbacks",
    "calls",
    "call_tasks",
)


def upgrade() -> None:
    op.create_table(
        "call_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("signing", sa.String(length=10), nullable=False),
        sa.Column("secret_enc", sa.Text(), nullable=True),
        sa.Column("previous_secret_enc", sa.Text(), nullable=True),
        sa.Column("account_sid", sa.String(length=64), nullable=True),
        sa.Column("auth_token_enc", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_call_connections_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_connections")),
        sa.UniqueConstraint("token", name=op.f("uq_call_connections_token")),
    )
    with op.batch_alter_table("call_connections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_call_connections_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "call_agent_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("extension", sa.String(length=20), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_call_agent_lines_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_call_agent_lines_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_agent_lines")),
        sa.UniqueConstraint("tenant_id", "membership_id", name="uq_agent_line"),
    )
    with op.batch_alter_table("call_agent_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_call_agent_lines_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "call_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("call_ref", sa.String(length=128), nullable=False),
        sa.Column("event", sa.String(length=12), nullable=False),
        sa.Column("occurred_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["call_connections.id"],
            name=op.f("fk_call_events_connection_id_call_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_call_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_events")),
        sa.UniqueConstraint("connection_id", "call_ref", "event", name="uq_call_event"),
    )
    with op.batch_alter_table("call_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_events_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "call_follow_up_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_status", sa.String(length=32), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["memberships.id"],
            name=op.f("fk_call_follow_up_rules_assignee_id_memberships"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_call_follow_up_rules_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_follow_up_rules")),
    )
    with op.batch_alter_table("call_follow_up_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_call_follow_up_rules_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "call_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["call_connections.id"],
            name=op.f("fk_call_numbers_connection_id_call_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_call_numbers_membership_id_memberships"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_call_numbers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_numbers")),
        sa.UniqueConstraint("tenant_id", "e164", name="uq_call_number_e164"),
        sa.UniqueConstraint("token", name=op.f("uq_call_numbers_token")),
    )
    with op.batch_alter_table("call_numbers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_call_numbers_connection_id"), ["connection_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_call_numbers_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "call_callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("preferred_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("consent", sa.Text(), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("page_url", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_call_callbacks_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["chat_visitors.id"],
            name=op.f("fk_call_callbacks_visitor_id_chat_visitors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_callbacks")),
    )
    with op.batch_alter_table("call_callbacks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_call_callbacks_ip", ["tenant_id", "ip", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_call_callbacks_phone", ["tenant_id", "phone", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_call_callbacks_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            "ix_call_callbacks_visitor", ["tenant_id", "visitor_id", "created_at"], unique=False
        )

    op.create_table(
        "calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("call_ref", sa.String(length=128), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("from_number", sa.String(length=32), nullable=False),
        sa.Column("to_number", sa.String(length=32), nullable=False),
        sa.Column("customer_number", sa.String(length=32), nullable=False),
        sa.Column("agent_ref", sa.String(length=254), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("visitor_id", sa.Integer(), nullable=True),
        sa.Column("callback_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("started_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("recording_url", sa.String(length=1000), nullable=False),
        sa.Column("recording_file", sa.String(length=255), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["memberships.id"],
            name=op.f("fk_calls_agent_id_memberships"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["callback_id"],
            ["call_callbacks.id"],
            name=op.f("fk_calls_callback_id_call_callbacks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["call_connections.id"],
            name=op.f("fk_calls_connection_id_call_connections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["crm_customers.id"],
            name=op.f("fk_calls_customer_id_crm_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_calls_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["chat_visitors.id"],
            name=op.f("fk_calls_visitor_id_chat_visitors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
        sa.UniqueConstraint("connection_id", "call_ref", name="uq_call_ref"),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calls_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "ix_calls_tenant_number", ["tenant_id", "customer_number"], unique=False
        )
        batch_op.create_index(
            "ix_calls_tenant_started", ["tenant_id", "started_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_calls_tenant_status", ["tenant_id", "status", "started_at"], unique=False
        )

    op.create_table(
        "call_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("source_key", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("callback_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("due_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("due_notified_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["memberships.id"],
            name=op.f("fk_call_tasks_assignee_id_memberships"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_tasks_call_id_calls"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["callback_id"],
            ["call_callbacks.id"],
            name=op.f("fk_call_tasks_callback_id_call_callbacks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["memberships.id"],
            name=op.f("fk_call_tasks_created_by_id_memberships"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["crm_customers.id"],
            name=op.f("fk_call_tasks_customer_id_crm_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["done_by_id"],
            ["memberships.id"],
            name=op.f("fk_call_tasks_done_by_id_memberships"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["crm_orders.id"],
            name=op.f("fk_call_tasks_order_id_crm_orders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["call_follow_up_rules.id"],
            name=op.f("fk_call_tasks_rule_id_call_follow_up_rules"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_call_tasks_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_tasks")),
        sa.UniqueConstraint("tenant_id", "source_key", name="uq_call_task_source"),
    )
    with op.batch_alter_table("call_tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_call_tasks_assignee_id"), ["assignee_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_call_tasks_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index("ix_call_tasks_due", ["tenant_id", "status", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_tasks_tenant_id"), ["tenant_id"], unique=False)
    for table in TABLES:
        rls.enable(table)


def downgrade() -> None:
    for table in reversed(TABLES):
        rls.disable(table)
    with op.batch_alter_table("call_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_tasks_tenant_id"))
        batch_op.drop_index("ix_call_tasks_due")
        batch_op.drop_index(batch_op.f("ix_call_tasks_customer_id"))
        batch_op.drop_index(batch_op.f("ix_call_tasks_assignee_id"))

    op.drop_table("call_tasks")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_tenant_status")
        batch_op.drop_index("ix_calls_tenant_started")
        batch_op.drop_index("ix_calls_tenant_number")
        batch_op.drop_index(batch_op.f("ix_calls_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_calls_customer_id"))
        batch_op.drop_index(batch_op.f("ix_calls_agent_id"))

    op.drop_table("calls")
    with op.batch_alter_table("call_callbacks", schema=None) as batch_op:
        batch_op.drop_index("ix_call_callbacks_visitor")
        batch_op.drop_index(batch_op.f("ix_call_callbacks_tenant_id"))
        batch_op.drop_index("ix_call_callbacks_phone")
        batch_op.drop_index("ix_call_callbacks_ip")

    op.drop_table("call_callbacks")
    with op.batch_alter_table("call_numbers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_numbers_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_call_numbers_connection_id"))

    op.drop_table("call_numbers")
    with op.batch_alter_table("call_follow_up_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_follow_up_rules_tenant_id"))

    op.drop_table("call_follow_up_rules")
    with op.batch_alter_table("call_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_events_tenant_id"))

    op.drop_table("call_events")
    with op.batch_alter_table("call_agent_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_agent_lines_tenant_id"))

    op.drop_table("call_agent_lines")
    with op.batch_alter_table("call_connections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_connections_tenant_id"))

    op.drop_table("call_connections")
