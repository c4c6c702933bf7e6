"""The calls module's clock work: ringing calls whose end the provider never sent."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.calls import records
from app.calls.models import Call
from tenants.clock import periodic
from tenants.db import cross_tenant, db, utcnow
from tenants.jobs import enqueue, job


def _ringing_since():
    return utcnow() - timedelta(seconds=current_app.config["CALL_RINGING_TIMEOUT_SECONDS"])


@periodic("calls.sweep_ringing", every="CALL_SWEEP_SECONDS")
def sweep_everywhere() -> None:
    """Each shop with a call ringing past the timeout gets its own job (its own unit)."""
    with cross_tenant():
        shops = db.scalars(
            select(Call.tenant_id)
            .where(Call.status == "ringing", Call.started_at < _ringing_since())
            .distinct()
        ).all()
    for tenant_id in shops:
        enqueue("calls.sweep_ringing_shop", tenant_id)


@job("calls.sweep_ringing_shop")
def sweep_shop() -> None:
    records.sweep_ringing(_ringing_since())
