"""platform role: only it may switch row-level security across tenants

The app's role used to share one policy with everyone: its tenant's rows, or every row once the
transaction said ``app.cross_tenant = 'on'`` — which its own SQL could say. Now every role gets
the tenant-only policy, and only the platform role (``DB_PLATFORM_ROLE``, which
``cross_tenant()`` connects as) and the tables' owner get the cross-tenant switch.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

from alembic import op

from tenants import rls

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in rls.guarded_tables():
        rls.drop_policies(table)
        rls.create_policies(table, column)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in rls.guarded_tables():
        rls.drop_policies(table)
        rls.create_shared_switch_policy(table, column)
