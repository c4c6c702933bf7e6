"""The audit trail: one function every staff action and billing state change goes through."""

from __future__ import annotations

from billing.models import AuditEntry
from tenants.db import cross_tenant, db


def record(
    action: str,
    tenant_id: int | None,
    before: dict,
    after: dict,
    actor: str,
    reason: str = "",
    staff_id: int | None = None,
) -> AuditEntry:
    """Add an audit row in the caller's transaction: it commits with the change or not at all."""
    entry = AuditEntry(
        staff_id=staff_id,
        actor=actor,
        tenant_id=tenant_id,
        action=action,
        reason=reason,
        before=_jsonable(before),
        after=_jsonable(after),
    )
    with cross_tenant():
        db.add(entry)
        db.flush()
    return entry


def _jsonable(values: dict) -> dict:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}
