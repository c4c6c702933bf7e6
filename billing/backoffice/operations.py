"""What staff can do to a shop. Each action checks the staff member's role, validates every
input before it changes anything, and writes exactly one audit row (who, what, before ->
after, why) in the caller's transaction: the caller commits once, or rolls back on an error.

No Flask here: callers pass what they know. Every function works across shops and says so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from billing import audit
from billing.backoffice.staff import can
from billing.models import AuditEntry, BillingAccount, Invoice, StaffUser, TenantNote
from tenants.db import cross_tenant, db, utcnow
from tenants.errors import ServiceError
from tenants.models import Plan, Tenant
from tenants.plans import PAID_FEATURES, trial_plan
from tenants.service import seats_by_shop
from tenants.signals import access_revoked

REASON_MAX = 500
NOTE_MAX = 2000
TRIAL_DAYS = (1, 90)
PAID_UNTIL_MAX_YEARS = 5
OVERRIDE_MODES = ("on", "off", "default")
# A Stripe subscription that still charges the shop: staff must not sell the same seats twice.
STRIPE_LIVE = ("trialing", "active", "past_due", "incomplete")


# --- checks shared by the actions ------------------------------------------------------


def require(staff: StaffUser, permission: str) -> None:
    if not can(staff, permission):
        raise ServiceError("staff_forbidden")


def _tenant(tenant_id: int) -> Tenant:
    tenant = db.scalar(select(Tenant).where(Tenant.id == tenant_id))
    if tenant is None:
        raise ServiceError("not_found")
    return tenant


def _reason(raw: str | None) -> str:
    reason = " ".join((raw or "").split())
    if not reason:
        raise ServiceError("reason_required", field="reason")
    if len(reason) > REASON_MAX:
        raise ServiceError("too_long", field="reason", max=REASON_MAX)
    return reason


def _whole_number(raw: object, field: str) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    text = str(raw if raw is not None else "").strip()
    if not text.isdigit():
        raise ServiceError("number_invalid", field=field)
    return int(text)


def _day(raw: date | str | None, field: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        raise ServiceError("date_invalid", field=field) from None


def _record(staff: StaffUser, action: str, tenant: Tenant | None, before, after, reason: str):
    return audit.record(
        action,
        tenant.id if tenant is not None else None,
        before,
        after,
        actor=staff.email,
        reason=reason,
        staff_id=staff.id,
    )


# --- the actions -----------------------------------------------------------------------


def extend_trial(
    staff: StaffUser, tenant_id: int, days: int | str, reason: str, now: datetime | None = None
) -> AuditEntry:
    """Give a shop ``days`` more of its trial, counted from today or from its end if later."""
    now = now or utcnow()
    with cross_tenant():
        require(staff, "extend_trial")
        tenant = _tenant(tenant_id)
        days = _whole_number(days, "days")
        if not TRIAL_DAYS[0] <= days <= TRIAL_DAYS[1]:
            raise ServiceError("days_range", field="days", min=TRIAL_DAYS[0], max=TRIAL_DAYS[1])
        reason = _reason(reason)
        plan_code = tenant.trial_plan_code
        if plan_code is None:  # never had one: the catalog's trial plan
            offered = trial_plan()
            if offered is None:
                raise ServiceError("no_trial_plan")
            plan_code = offered.code
        before = {"trial_ends_at": tenant.trial_ends_at, "trial_plan_code": tenant.trial_plan_code}
        start = max(now, tenant.trial_ends_at) if tenant.trial_ends_at else now
        tenant.trial_ends_at = start + timedelta(days=days)
        tenant.trial_plan_code = plan_code
        after = {"trial_ends_at": tenant.trial_ends_at, "trial_plan_code": plan_code}
        return _record(staff, "extend_trial", tenant, before, after, reason)


def set_plan_offline(
    staff: StaffUser,
    tenant_id: int,
    plan_code: str,
    seats: int | str,
    paid_until: date | str,
    reason: str,
    now: datetime | None = None,
) -> Invoice:
    """A bank transfer received: the plan and seats until a date, and an invoice for it."""
    now = now or utcnow()
    with cross_tenant():
        require(staff, "set_plan")
        tenant = _tenant(tenant_id)
        plan = db.get(Plan, (plan_code or "").strip())
        if plan is None or plan.price_per_seat_year <= 0:
            raise ServiceError("plan_invalid", field="plan_code")
        seats = _whole_number(seats, "seats")
        in_use = seats_by_shop(now, tenant.id).get(tenant.id, 0)
        if seats < max(1, in_use):
            raise ServiceError("seats_too_few", field="seats", min=max(1, in_use))
        day = _day(paid_until, "paid_until")
        today = now.astimezone(UTC).date()
        if day <= today:
            raise ServiceError("paid_until_past", field="paid_until")
        if day > today + timedelta(days=366 * PAID_UNTIL_MAX_YEARS):
            raise ServiceError("paid_until_far", field="paid_until", years=PAID_UNTIL_MAX_YEARS)
        reason = _reason(reason)
        account = db.scalar(select(BillingAccount).where(BillingAccount.tenant_id == tenant.id))
        if account is not None and account.stripe_subscription_id and account.status in STRIPE_LIVE:
            raise ServiceError("stripe_live")

        before = _plan_state(tenant, account)
        if account is None:
            account = BillingAccount(tenant_id=tenant.id)
            db.add(account)
        until = datetime.combine(day, time(23, 59, 59), UTC)  # the whole of that day
        tenant.plan_code, tenant.seats, tenant.paid_until = plan.code, seats, until
        if tenant.trial_ends_at and tenant.trial_ends_at > now:
            tenant.trial_ends_at = now  # paying ends the trial, as it does through Stripe
        account.status, account.plan_code, account.seats = "offline", plan.code, seats
        account.current_period_end = until
        account.pending_seats = None
        account.cancel_at_period_end = False
        account.past_due_since = None
        invoice = Invoice(
            tenant_id=tenant.id,
            number=_next_offline_number(tenant.id),
            status="offline",
            amount_due=seats * plan.price_per_seat_year,
            amount_paid=seats * plan.price_per_seat_year,
            currency=plan.currency,
            period_start=now,
            period_end=until,
        )
        db.add(invoice)
        db.flush()
        after = _plan_state(tenant, account) | {
            "invoice": invoice.number,
            "amount": invoice.amount_paid,
            "currency": invoice.currency,
        }
        _record(staff, "set_plan_offline", tenant, before, after, reason)
        return invoice


def _plan_state(tenant: Tenant, account: BillingAccount | None) -> dict:
    return {
        "plan_code": tenant.plan_code,
        "seats": tenant.seats,
        "paid_until": tenant.paid_until,
        "trial_ends_at": tenant.trial_ends_at,
        "billing_status": account.status if account else None,
    }


def _next_offline_number(tenant_id: int) -> str:
    prefix = f"OFF-{tenant_id}-"
    taken = db.scalar(
        select(func.count())
        .select_from(Invoice)
        .where(Invoice.tenant_id == tenant_id, Invoice.number.startswith(prefix, autoescape=True))
    )
    return f"{prefix}{taken + 1}"


def override_feature(
    staff: StaffUser, tenant_id: int, feature: str, mode: str, reason: str
) -> AuditEntry:
    """Switch a paid module on or off for one shop, or hand it back to the plan's default."""
    with cross_tenant():
        require(staff, "override")
        tenant = _tenant(tenant_id)
        if feature not in PAID_FEATURES:
            raise ServiceError("feature_invalid", field="feature")
        if mode not in OVERRIDE_MODES:
            raise ServiceError("override_invalid", field="mode")
        reason = _reason(reason)
        overrides = dict(tenant.feature_overrides or {})
        current = override_mode(overrides, feature)
        if current == mode:
            raise ServiceError("unchanged")
        if mode == "default":
            overrides.pop(feature)
        else:
            overrides[feature] = mode == "on"
        tenant.feature_overrides = overrides  # a new dict: JSON columns see assignment only
        before = {"feature": feature, "override": current}
        after = {"feature": feature, "override": mode}
        return _record(staff, "override_feature", tenant, before, after, reason)


def override_mode(overrides: dict | None, feature: str) -> str:
    value = (overrides or {}).get(feature)
    return "default" if value is None else ("on" if value else "off")


def suspend(staff: StaffUser, tenant_id: int, reason: str) -> AuditEntry:
    """Stop a shop (its widget hides, its console says why); nothing of its data is touched."""
    return _set_status(staff, tenant_id, reason, "suspend", "suspended")


def reactivate(staff: StaffUser, tenant_id: int, reason: str) -> AuditEntry:
    return _set_status(staff, tenant_id, reason, "reactivate", "active")


def _set_status(staff: StaffUser, tenant_id: int, reason: str, action: str, status: str):
    with cross_tenant():
        require(staff, action)
        tenant = _tenant(tenant_id)
        reason = _reason(reason)
        if tenant.status == status:
            raise ServiceError("already_" + status)
        before = {"status": tenant.status}
        tenant.status = status
        if status == "suspended":
            access_revoked.send(None, tenant_id=tenant.id)
        return _record(staff, action, tenant, before, {"status": status}, reason)


def add_note(staff: StaffUser, tenant_id: int, text: str) -> TenantNote:
    """A note for the staff's eyes only; its text is its own reason in the audit trail."""
    with cross_tenant():
        require(staff, "note")
        tenant = _tenant(tenant_id)
        text = (text or "").strip()
        if not text:
            raise ServiceError("note_required", field="text")
        if len(text) > NOTE_MAX:
            raise ServiceError("too_long", field="text", max=NOTE_MAX)
        note = TenantNote(tenant_id=tenant.id, staff_id=staff.id, text=text)
        db.add(note)
        db.flush()
        _record(staff, "add_note", tenant, {}, {"note_id": note.id}, text)
        return note


def record_export(staff: StaffUser, what: str, rows: int) -> AuditEntry:
    """A download of every shop's data is an action too."""
    require(staff, "export")
    return _record(staff, "export", None, {}, {"file": what, "rows": rows}, "")
