"""Row-level security for tenant-owned tables on PostgreSQL, used by the migrations.

Two permissive policies per table (PostgreSQL ORs them):

- ``tenant_isolation``, for every role: a row is visible and writable only when its tenant is
  the transaction's ``app.tenant_id``. This is all the app's role (``DB_APP_ROLE``) gets, so
  ``set_config('app.cross_tenant', 'on', …)`` — from a SQL injection, say — changes nothing.
- ``platform_cross_tenant``, only for the platform role (``DB_PLATFORM_ROLE``) and the tables'
  owner (the migrations): every row while the transaction says ``app.cross_tenant = 'on'``,
  which ``cross_tenant()`` does on the platform role's own connection.

FORCE makes the policies apply to the table's owner too; superusers and BYPASSRLS roles still
skip them, so neither role may be one (see docs/deploy.md).
"""

from __future__ import annotations

import os

from alembic import context, op
from sqlalchemy import text

POLICY = "tenant_isolation"
CROSS_POLICY = "platform_cross_tenant"
CROSS_ON = "current_setting('app.cross_tenant', true) = 'on'"


def tenant_condition(column: str) -> str:
    return f"{column} = NULLIF(current_setting('app.tenant_id', true), '')::integer"


def platform_role() -> str:
    """The platform role's name: given to the migration run, else from the environment."""
    # the environment's default as app/config.py reads it (tenants does not import app)
    return context.config.attributes.get("platform_role") or (
        os.environ.get("DB_PLATFORM_ROLE") or "huike_platform"
    )


def _require_role(role: str) -> str:
    bind = op.get_bind()
    if not bind.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}):
        raise RuntimeError(
            f"the platform role {role!r} does not exist: create it first "
            f"(CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS, docs/deploy.md) or name "
            "another one with DB_PLATFORM_ROLE"
        )
    return bind.dialect.identifier_preparer.quote(role)


def create_policies(table: str, column: str = "tenant_id") -> None:
    """The two policies above (PostgreSQL only; the table's RLS must be enabled)."""
    role = _require_role(platform_role())
    tenant = tenant_condition(column)
    op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({tenant}) WITH CHECK ({tenant})")
    op.execute(
        f"CREATE POLICY {CROSS_POLICY} ON {table} TO {role}, CURRENT_USER "
        f"USING ({CROSS_ON}) WITH CHECK ({CROSS_ON})"
    )


def drop_policies(table: str) -> None:
    op.execute(f"DROP POLICY IF EXISTS {CROSS_POLICY} ON {table}")
    op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")


def create_shared_switch_policy(table: str, column: str = "tenant_id") -> None:
    """Before migration 0006: one policy for every role, the switch included (its downgrade)."""
    condition = f"{CROSS_ON} OR {tenant_condition(column)}"
    op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({condition}) WITH CHECK ({condition})")


def enable(table: str, column: str = "tenant_id") -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    create_policies(table, column)


def disable(table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    drop_policies(table)
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def guarded_tables() -> list[tuple[str, str]]:
    """Every table with row-level security in the current schema, and its tenant column."""
    rows = op.get_bind().execute(
        text(
            "SELECT relname FROM pg_class "
            "WHERE relrowsecurity AND relnamespace = current_schema()::regnamespace "
            "ORDER BY relname"
        )
    )
    return [(name, "id" if name == "tenants" else "tenant_id") for name in rows.scalars()]
