"""Row-level security for tenant-owned tables on PostgreSQL, used by the migrations.

A row is visible and writable only when its tenant is the transaction's ``app.tenant_id``,
or when platform code said ``cross_tenant()`` (``app.cross_tenant = 'on'``). FORCE makes the
policy apply to the table's owner too; superusers and BYPASSRLS roles still skip it, so the app
must connect as a plain role (see docs/deploy.md).
"""

from __future__ import annotations

from alembic import op

POLICY = "tenant_isolation"


def _condition(column: str) -> str:
    return (
        "current_setting('app.cross_tenant', true) = 'on' OR "
        f"{column} = NULLIF(current_setting('app.tenant_id', true), '')::integer"
    )


def enable(table: str, column: str = "tenant_id") -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    condition = _condition(column)
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({condition}) WITH CHECK ({condition})")


def disable(table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
