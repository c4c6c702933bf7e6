"""billing and back office: subscriptions, invoices, Stripe events, staff, audit; paid_until

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 19:23:32.171999
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenants.db
from tenants import rls

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the shop's own billing rows; events, staff, notes and audit are the platform's
SHOP_TABLES = ("billing_accounts", "billing_invoices")


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_users_email")),
    )
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
            name=op.f("fk_audit_entries_staff_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_audit_entries_tenant_id_tenants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_entries_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_entries_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "billing_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=64), nullable=True),
        sa.Column("stripe_subscription_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("plan_code", sa.String(length=32), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("pending_seats", sa.Integer(), nullable=True),
        sa.Column("current_period_end", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("past_due_since", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("state_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_code"], ["plans.code"], name=op.f("fk_billing_accounts_plan_code_plans")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_billing_accounts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_accounts")),
        sa.UniqueConstraint(
            "stripe_customer_id", name=op.f("uq_billing_accounts_stripe_customer_id")
        ),
        sa.UniqueConstraint(
            "stripe_subscription_id", name=op.f("uq_billing_accounts_stripe_subscription_id")
        ),
        sa.UniqueConstraint("tenant_id", name="uq_billing_accounts_tenant"),
    )
    with op.batch_alter_table("billing_accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_accounts_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "billing_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stripe_event_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_billing_events_tenant_id_tenants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_events")),
        sa.UniqueConstraint("stripe_event_id", name=op.f("uq_billing_events_stripe_event_id")),
    )
    with op.batch_alter_table("billing_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_events_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "billing_invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stripe_invoice_id", sa.String(length=64), nullable=True),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount_due", sa.Integer(), nullable=False),
        sa.Column("amount_paid", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("hosted_invoice_url", sa.String(length=500), nullable=False),
        sa.Column("period_start", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("period_end", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_billing_invoices_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_invoices")),
        sa.UniqueConstraint(
            "stripe_invoice_id", name=op.f("uq_billing_invoices_stripe_invoice_id")
        ),
    )
    with op.batch_alter_table("billing_invoices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_invoices_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "tenant_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
            name=op.f("fk_tenant_notes_staff_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tenant_notes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_notes")),
    )
    with op.batch_alter_table("tenant_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tenant_notes_tenant_id"), ["tenant_id"], unique=False)

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("paid_until", tenants.db.UTCDateTime(timezone=True), nullable=True)
        )

    for table in SHOP_TABLES:
        rls.enable(table)


def downgrade() -> None:
    for table in SHOP_TABLES:
        rls.disable(table)
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("paid_until")

    with op.batch_alter_table("tenant_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tenant_notes_tenant_id"))

    op.drop_table("tenant_notes")
    with op.batch_alter_table("billing_invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_invoices_tenant_id"))

    op.drop_table("billing_invoices")
    with op.batch_alter_table("billing_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_events_tenant_id"))

    op.drop_table("billing_events")
    with op.batch_alter_table("billing_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_accounts_tenant_id"))

    op.drop_table("billing_accounts")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entries_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_audit_entries_created_at"))

    op.drop_table("audit_entries")
    op.drop_table("staff_users")
