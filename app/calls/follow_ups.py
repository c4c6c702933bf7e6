"""The shop's follow-up rules: "an order reaching <status> → call the customer N days later".
The tasks they make come from app/calls/task_listeners.py."""

from __future__ import annotations

from sqlalchemy import select

from app.calls.models import FollowUpRule
from tenants.db import db, scoped_get
from tenants.errors import ServiceError
from tenants.models import Membership

MAX_DAYS = 365
MAX_STATUS = 32  # an order's status is at most this long (app/crm/orders.py)
# offered in the form; any status the shop's orders use is accepted
COMMON_STATUSES = ("paid", "shipped", "delivered", "completed", "cancelled", "refunded")


def rules() -> list[FollowUpRule]:
    query = select(FollowUpRule).order_by(FollowUpRule.order_status, FollowUpRule.id)
    return list(db.scalars(query))


def save_rule(rule: FollowUpRule | None, data: dict) -> FollowUpRule:
    """Create (``rule`` None) or change a rule from the form's fields; a refusal changes
    nothing."""
    status = str(data.get("order_status") or "").strip().lower()
    if not status:
        raise ServiceError("required", field="order_status")
    if len(status) > MAX_STATUS:
        raise ServiceError("too_long", field="order_status", max=MAX_STATUS)
    try:
        days = int(str(data.get("days") or "").strip())
    except ValueError:
        days = -1
    if not 0 <= days <= MAX_DAYS:
        raise ServiceError("follow_up_days_invalid", field="days", max=MAX_DAYS)
    title = str(data.get("title") or "").strip()
    if len(title) > 200:
        raise ServiceError("too_long", field="title", max=200)
    assignee_id = _assignee(data.get("assignee_id"))
    if rule is None:
        rule = FollowUpRule()
        db.add(rule)
    rule.order_status, rule.days, rule.title = status, days, title
    rule.assignee_id = assignee_id
    rule.enabled = str(data.get("enabled", "1")) in ("1", "on", "true")
    db.flush()
    return rule


def delete_rule(rule: FollowUpRule) -> None:
    """Its tasks stay (they name no rule any more)."""
    db.delete(rule)
    db.flush()


def _assignee(raw) -> int | None:
    raw = str(raw or "").strip()
    if not raw:
        return None
    member = scoped_get(Membership, int(raw)) if raw.isdigit() else None
    if member is None or member.status != "active":
        raise ServiceError("assignee_invalid", field="assignee_id")
    return member.id
