"""analytics: the rollups' unique keys carry their counts (index-only report reads)
and the rollups lose their single-column tenant index

The funnel and volume reports read a shop's rollup rows for a dimension and a range of days;
with the counts included in the unique key's index, PostgreSQL answers them from the index
alone (the 90-day funnel by keyword of a shop with 3,000 keywords read 36,000 rows from the
heap: docs/BENCHMARKS.md "Analytics"). SQLite has no INCLUDE: the keys stay as they were
there. The unique keys lead with tenant_id, so the rollups' own ``ix_*_tenant_id`` indexes
go: the planner chose them and filtered out the other dimensions' rows.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 15:58:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = (
    (
        "analytics_traffic_daily",
        "uq_traffic_daily",
        ["tenant_id", "dimension", "day", "value"],
        ["visits", "consultations"],
    ),
    (
        "analytics_orders_daily",
        "uq_orders_daily",
        ["tenant_id", "model", "dimension", "day", "value", "currency"],
        ["orders", "revenue"],
    ),
    (
        "analytics_volume_hourly",
        "uq_volume_hourly",
        ["tenant_id", "day", "hour"],
        ["conversations", "messages", "left_messages", "calls"],
    ),
)


def _replace(include: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, name, columns, counts in KEYS:
        included = f" INCLUDE ({', '.join(counts)})" if include else ""
        op.drop_constraint(name, table, type_="unique")
        # Written out: alembic's stand-in table knows only the key's columns, not the counts.
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE ({', '.join(columns)}){included}"
        )


def upgrade() -> None:
    _replace(include=True)
    for table, *_ in KEYS:
        op.drop_index(f"ix_{table}_tenant_id", table_name=table)


def downgrade() -> None:
    for table, *_ in KEYS:
        op.create_index(f"ix_{table}_tenant_id", table, ["tenant_id"])
    _replace(include=False)
