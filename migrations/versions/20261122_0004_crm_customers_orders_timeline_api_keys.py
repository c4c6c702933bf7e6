"""crm: customers, orders, timeline, api keys

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 21:25:31.386718
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenants.db
from tenants import rls

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CRM_TABLES = (
    "crm_customers",
    "crm_customer_phones",
    "crm_customer_emails",
    "crm_customer_tags",
    "crm_custom_fields",
    "crm_orders",
    "crm_timeline",
    "crm_saved_filters",
    "crm_imports",
    "api_keys",
)


def upgrade() -> None:
    op.create_table(
        "crm_custom_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_crm_custom_fields_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_custom_fields")),
        sa.UniqueConstraint("tenant_id", "key", name="uq_custom_field_key"),
    )
    with op.batch_alter_table("crm_custom_fields", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_custom_fields_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["memberships.id"],
            name=op.f("fk_api_keys_created_by_id_memberships"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_api_keys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "crm_customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_key", sa.String(length=120), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("order_count", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Integer(), nullable=False),
        sa.Column("last_order_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["crm_customers.id"],
            name=op.f("fk_crm_customers_merged_into_id_crm_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["memberships.id"],
            name=op.f("fk_crm_customers_owner_id_memberships"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_crm_customers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_customers")),
        sa.UniqueConstraint("tenant_id", "external_id", name="uq_customer_external_id"),
    )
    with op.batch_alter_table("crm_customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_customers_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_crm_customers_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "ix_customers_tenant_last_order", ["tenant_id", "last_order_at"], unique=False
        )
        batch_op.create_index(
            "ix_customers_tenant_name",
            ["tenant_id", "name_key"],
            unique=False,
            postgresql_ops={"name_key": "varchar_pattern_ops"},
            postgresql_include=["id"],
        )
        batch_op.create_index(
            "ix_customers_tenant_updated", ["tenant_id", "updated_at", "id"], unique=False
        )

    op.create_table(
        "crm_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("updated_count", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", tenants.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["memberships.id"],
            name=op.f("fk_crm_imports_created_by_id_memberships"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_crm_imports_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_imports")),
    )
    with op.batch_alter_table("crm_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_imports_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "crm_saved_filters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["memberships.id"],
            name=op.f("fk_crm_saved_filters_created_by_id_memberships"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_crm_saved_filters_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_saved_filters")),
    )
    with op.batch_alter_table("crm_saved_filters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_saved_filters_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "crm_customer_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["crm_customers.id"],
            name=op.f("fk_crm_customer_emails_customer_id_crm_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_crm_customer_emails_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_customer_emails")),
        sa.UniqueConstraint("tenant_id", "email", name="uq_customer_email"),
    )
    with op.batch_alter_table("crm_customer_emails", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_customer_emails_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_crm_customer_emails_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            "ix_customer_emails_tenant_prefix",
            ["tenant_id", "email"],
            unique=False,
            postgresql_ops={"email": "varchar_pattern_ops"},
            postgresql_include=["customer_id"],
        )

    op.create_table(
        "crm_customer_phones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["crm_customers.id"],
            name=op.f("fk_crm_customer_phones_customer_id_crm_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_crm_customer_phones_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_customer_phones")),
        sa.UniqueConstraint("tenant_id", "e164", name="uq_customer_phone"),
    )
    with op.batch_alter_table("crm_customer_phones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_customer_phones_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_crm_customer_phones_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            "ix_customer_phones_tenant_prefix",
            ["tenant_id", "e164"],
            unique=False,
            postgresql_ops={"e164": "varchar_pattern_ops"},
            postgresql_include=["customer_id"],
        )

    op.create_table(
        "crm_customer_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["crm_customers.id"],
            name=op.f("fk_crm_customer_tags_customer_id_crm_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_crm_customer_tags_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_customer_tags")),
        sa.UniqueConstraint("customer_id", "tag", name="uq_customer_tag"),
    )
    with op.batch_alter_table("crm_customer_tags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_customer_tags_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index("ix_customer_tags_tenant_tag", ["tenant_id", "tag"], unique=False)

    op.create_table(
        "crm_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("placed_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["crm_customers.id"],
            name=op.f("fk_crm_orders_customer_id_crm_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_crm_orders_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_orders")),
        sa.UniqueConstraint("tenant_id", "external_id", name="uq_order_external_id"),
    )
    with op.batch_alter_table("crm_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_orders_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_crm_orders_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "crm_timeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("occurred_at", tenants.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["memberships.id"],
            name=op.f("fk_crm_timeline_author_id_memberships"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["crm_customers.id"],
            name=op.f("fk_crm_timeline_customer_id_crm_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_crm_timeline_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_timeline")),
        sa.UniqueConstraint("customer_id", "kind", "ref_id", name="uq_timeline_ref"),
    )
    with op.batch_alter_table("crm_timeline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_timeline_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "ix_timeline_customer_at", ["customer_id", "occurred_at", "id"], unique=False
        )

    with op.batch_alter_table("chat_visitors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_chat_visitors_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_chat_visitors_customer_id_crm_customers"),
            "crm_customers",
            ["customer_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("country", sa.String(length=2), nullable=False, server_default="CN")
        )

    for table in CRM_TABLES:
        rls.enable(table)


def downgrade() -> None:
    for table in CRM_TABLES:
        rls.disable(table)
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("country")

    with op.batch_alter_table("chat_visitors", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_chat_visitors_customer_id_crm_customers"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_chat_visitors_customer_id"))
        batch_op.drop_column("customer_id")

    with op.batch_alter_table("crm_timeline", schema=None) as batch_op:
        batch_op.drop_index("ix_timeline_customer_at")
        batch_op.drop_index(batch_op.f("ix_crm_timeline_tenant_id"))

    op.drop_table("crm_timeline")
    with op.batch_alter_table("crm_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_orders_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_crm_orders_customer_id"))

    op.drop_table("crm_orders")
    with op.batch_alter_table("crm_customer_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_tags_tenant_tag")
        batch_op.drop_index(batch_op.f("ix_crm_customer_tags_tenant_id"))

    op.drop_table("crm_customer_tags")
    with op.batch_alter_table("crm_customer_phones", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_phones_tenant_prefix")
        batch_op.drop_index(batch_op.f("ix_crm_customer_phones_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_crm_customer_phones_customer_id"))

    op.drop_table("crm_customer_phones")
    with op.batch_alter_table("crm_customer_emails", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_emails_tenant_prefix")
        batch_op.drop_index(batch_op.f("ix_crm_customer_emails_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_crm_customer_emails_customer_id"))

    op.drop_table("crm_customer_emails")
    with op.batch_alter_table("crm_saved_filters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_saved_filters_tenant_id"))

    op.drop_table("crm_saved_filters")
    with op.batch_alter_table("crm_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_imports_tenant_id"))

    op.drop_table("crm_imports")
    with op.batch_alter_table("crm_customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_tenant_updated")
        batch_op.drop_index("ix_customers_tenant_name")
        batch_op.drop_index("ix_customers_tenant_last_order")
        batch_op.drop_index(batch_op.f("ix_crm_customers_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_crm_customers_owner_id"))

    op.drop_table("crm_customers")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_tenant_id"))

    op.drop_table("api_keys")
    with op.batch_alter_table("crm_custom_fields", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_custom_fields_tenant_id"))

    op.drop_table("crm_custom_fields")
