"""Analytics' clock work: roll the marked days up every few seconds, and recompute the recent
past every night (late orders, customers merged, an order's status changed)."""

from __future__ import annotations

from sqlalchemy import select

from app.analytics import rollups
from app.analytics.models import AnalyticsDirty, AnalyticsState
from tenants.clock import periodic
from tenants.db import cross_tenant, db
from tenants.jobs import enqueue, job


@periodic("analytics.roll", every="ANALYTICS_ROLL_SECONDS")
def roll_everywhere() -> None:
    """Each shop with marked days gets its own job (its own unit, its own lock)."""
    with cross_tenant():
        shops = db.scalars(select(AnalyticsDirty.tenant_id).distinct()).all()
    for tenant_id in shops:
        enqueue("analytics.roll_shop", tenant_id)


@job("analytics.roll_shop")
def roll_shop() -> None:
    rollups.roll()


@periodic("analytics.nightly", every=24 * 3600)
def recompute_everywhere() -> None:
    with cross_tenant():
        shops = db.scalars(select(AnalyticsState.tenant_id)).all()
    for tenant_id in shops:
        enqueue("analytics.recompute_shop", tenant_id)


@job("analytics.recompute_shop")
def recompute_shop() -> None:
    rollups.recompute_recent()
