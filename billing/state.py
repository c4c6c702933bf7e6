"""The subscription state machine: Stripe events in, a shop's plan, seats and paid-until out.

Every event id is recorded in the same transaction as its effect, so a duplicate is a no-op;
an event older than the state we hold changes nothing, so out-of-order delivery never moves
a shop backwards. A downgrade never deletes data: it only changes what the shop may use.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from billing import audit
from billing.models import BillingAccount, BillingEvent, Invoice
from tenants.db import bind_tenant, cross_tenant, db, platform_transaction, utcnow
from tenants.models import Membership, Tenant, User
from tenants.plans import Entitlements, catalog, default_plan
from tenants.timezones import local

log = logging.getLogger("huike.billing")

PAID_STATUSES = ("trialing", "active", "past_due")  # Stripe's; the plan holds in these
ENDED_STATUSES = ("canceled", "unpaid", "incomplete_expired")
WEBHOOK_SLACK = timedelta(days=1)  # a renewal's events may arrive a little after the period
HANDLED = (
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.finalized",
)


def _ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


def account_for(tenant_id: int) -> BillingAccount:
    """The shop's billing account (made on first need); the session is bound to the shop."""
    bind_tenant(tenant_id)
    account = db.scalar(select(BillingAccount))
    if account is None:
        account = BillingAccount(tenant_id=tenant_id)
        db.add(account)
        db.flush()
    return account


def offer(account: BillingAccount, rights: Entitlements) -> str:
    """What the billing page offers: "manage" a live Stripe subscription, "offline" a paid plan
    staff recorded (a bank transfer: staff renew it or change its seats), else "upgrade"."""
    if account.stripe_subscription_id and account.status in PAID_STATUSES:
        return "manage"
    if account.status == "offline" and rights.plan.price_per_seat_year > 0:
        return "offline"  # and while it holds: once lapsed, the shop is on the free plan
    return "upgrade"


def last_paid_day(account: BillingAccount, zone: str) -> date | None:
    """The day the paid period ends on, a date to show as it is. An offline payment holds to
    the end (UTC) of the day staff entered; a Stripe period ends at an instant, on the shop's
    calendar."""
    end = account.current_period_end
    if end is None:
        return None
    return (end.astimezone(UTC) if account.status == "offline" else local(end, zone)).date()


def _account_by_customer(customer_id: str | None) -> BillingAccount | None:
    if not customer_id:
        return None
    with cross_tenant():
        account = db.scalar(
            select(BillingAccount).where(BillingAccount.stripe_customer_id == customer_id)
        )
    if account is not None:
        bind_tenant(account.tenant_id)
    return account


def _snapshot(account: BillingAccount, tenant: Tenant) -> dict:
    return {
        "status": account.status,
        "plan_code": tenant.plan_code,
        "seats": tenant.seats,
        "paid_until": tenant.paid_until,
        "cancel_at_period_end": account.cancel_at_period_end,
    }


def apply_to_tenant(account: BillingAccount, tenant: Tenant, grace: timedelta) -> None:
    """Make the shop's plan, seats and paid-until follow its subscription."""
    if account.status in ("active", "past_due") and tenant.trial_ends_at:
        # Paying ends the free trial: from now on the seats are the ones paid for.
        tenant.trial_ends_at = min(tenant.trial_ends_at, utcnow())
    if account.status in ("active", "trialing"):
        tenant.plan_code, tenant.seats = account.plan_code, account.seats
        end = account.current_period_end
        tenant.paid_until = end + WEBHOOK_SLACK if end else None
    elif account.status == "past_due":
        tenant.plan_code, tenant.seats = account.plan_code, account.seats
        since = account.past_due_since or utcnow()
        tenant.paid_until = since + grace  # modules stay on through the grace period
    elif account.status in ENDED_STATUSES:
        tenant.plan_code, tenant.seats, tenant.paid_until = default_plan().code, None, None


def _plan_for_price(price_id: str | None) -> str | None:
    for plan in catalog():
        if plan.stripe_price_id and plan.stripe_price_id == price_id:
            return plan.code
    paid = [p for p in catalog() if p.price_per_seat_year > 0]
    return paid[0].code if len(paid) == 1 else None  # one paid plan: no doubt which


def _apply_subscription(
    account: BillingAccount, subscription: dict, at: datetime, deleted: bool = False
) -> bool:
    """Take the subscription object's state if it is not older than what we hold."""
    if account.state_at is not None and at < account.state_at:
        return False
    items = (subscription.get("items") or {}).get("data") or [{}]
    item = items[0]
    status = "canceled" if deleted else subscription.get("status", account.status)
    quantity = int(item.get("quantity") or account.seats or 1)
    period_end = _ts(item.get("current_period_end") or subscription.get("current_period_end"))
    renewed = period_end is not None and (
        account.current_period_end is None or period_end > account.current_period_end
    )
    if quantity < account.seats and not renewed and status in PAID_STATUSES:
        account.pending_seats = quantity  # fewer seats: from the renewal on
    else:
        account.seats, account.pending_seats = quantity, None
    account.stripe_subscription_id = subscription.get("id") or account.stripe_subscription_id
    account.plan_code = _plan_for_price((item.get("price") or {}).get("id")) or account.plan_code
    account.current_period_end = period_end or account.current_period_end
    account.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    if status == "past_due" and account.status != "past_due":
        account.past_due_since = at
    elif status != "past_due":
        account.past_due_since = None
    account.status = status
    account.state_at = at
    return True


def _apply_invoice(account: BillingAccount, invoice: dict) -> None:
    row = db.scalar(select(Invoice).where(Invoice.stripe_invoice_id == invoice.get("id")))
    if row is None:
        row = Invoice(stripe_invoice_id=invoice.get("id"), status=invoice.get("status") or "open")
        db.add(row)
    lines = ((invoice.get("lines") or {}).get("data") or [{}])[0].get("period") or {}
    row.number = invoice.get("number") or row.number
    row.status = invoice.get("status") or row.status
    row.amount_due = int(invoice.get("amount_due") or 0)
    row.amount_paid = int(invoice.get("amount_paid") or 0)
    row.currency = (invoice.get("currency") or "cny").upper()
    row.hosted_invoice_url = invoice.get("hosted_invoice_url") or ""
    row.period_start = _ts(lines.get("start") or invoice.get("period_start"))
    row.period_end = _ts(lines.get("end") or invoice.get("period_end"))
    row.created_at = _ts(invoice.get("created")) or utcnow()


def owners_emails(tenant_id: int) -> list[str]:
    bind_tenant(tenant_id)
    return list(
        db.scalars(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.role == "owner", Membership.status == "active")
        )
    )


def handle_event(event: dict, grace: timedelta, notify=None) -> str:
    """Apply one verified Stripe event. Returns the outcome recorded: applied/stale/ignored/
    duplicate. ``notify(tenant_id, kind)`` is called for what the owner must hear about."""
    event_id, kind = event.get("id"), event.get("type", "")
    if not event_id:
        raise ValueError("event without id")
    # Platform code from start to end: the event's record (across shops) commits with the
    # shop's new state, so the whole transaction runs as the platform role (tenants/db.py).
    platform_transaction()
    with cross_tenant():
        if db.scalar(select(BillingEvent.id).where(BillingEvent.stripe_event_id == event_id)):
            return "duplicate"
    at = _ts(event.get("created")) or utcnow()
    obj = (event.get("data") or {}).get("object") or {}
    account, outcome, summary = None, "ignored", ""
    if kind in HANDLED:
        if kind == "checkout.session.completed":
            account = _account_by_customer(obj.get("customer"))
            if account is None and str(obj.get("client_reference_id") or "").isdigit():
                account = account_for(int(obj["client_reference_id"]))
                account.stripe_customer_id = obj.get("customer")
        else:
            account = _account_by_customer(obj.get("customer"))
        if account is not None:
            outcome, summary = _apply(account, kind, obj, at, grace, notify)
        else:
            summary = f"no shop for customer {obj.get('customer')}"
    with cross_tenant():
        db.add(
            BillingEvent(
                stripe_event_id=event_id,
                type=kind[:64],
                tenant_id=account.tenant_id if account else None,
                created_at=at,
                outcome=outcome,
                summary=summary[:300],
            )
        )
        db.flush()
    log.info("stripe event", extra={"event": event_id, "type": kind, "outcome": outcome})
    return outcome


def _apply(account, kind, obj, at, grace, notify) -> tuple[str, str]:
    tenant = db.scalar(select(Tenant))
    before = _snapshot(account, tenant)
    if kind == "checkout.session.completed":
        account.stripe_subscription_id = obj.get("subscription") or account.stripe_subscription_id
        outcome = "applied"
    elif kind.startswith("customer.subscription."):
        changed = _apply_subscription(account, obj, at, deleted=kind.endswith("deleted"))
        outcome = "applied" if changed else "stale"
    else:
        _apply_invoice(account, obj)
        outcome = "applied"
        if kind == "invoice.payment_failed" and account.status != "past_due":
            account.past_due_since = account.past_due_since or at
            if notify:
                notify(account.tenant_id, "payment_failed")
    apply_to_tenant(account, tenant, grace)
    after = _snapshot(account, tenant)
    if after != before:
        audit.record("subscription_state", tenant.id, before, after, actor="stripe", reason=kind)
    return outcome, f"{before['status']} -> {after['status']}, seats {after['seats']}"
