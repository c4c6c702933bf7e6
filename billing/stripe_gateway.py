"""Outgoing calls to Stripe, through the real ``stripe`` library.

Every write carries an idempotency key, so a retried click never charges twice. A Stripe
error reaches the caller as ``ServiceError("stripe_error")`` and local state is left as it was.
"""

from __future__ import annotations

import logging

import stripe

from billing.models import BillingAccount
from tenants.errors import ServiceError
from tenants.models import Plan, Tenant

log = logging.getLogger("huike.billing")


def configure(secret_key: str | None, api_base: str | None = None) -> bool:
    """Point the library at Stripe (or, in tests, at a local server). False: not configured."""
    if not secret_key:
        return False
    stripe.api_key = secret_key
    if api_base:
        stripe.api_base = api_base
    stripe.max_network_retries = 2
    return True


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except stripe.StripeError as error:
        log.warning("stripe call failed", extra={"error": type(error).__name__})
        raise ServiceError(
            "stripe_error", detail=getattr(error, "user_message", None) or ""
        ) from None


def ensure_customer(account: BillingAccount, tenant: Tenant, email: str) -> str:
    """The shop's Stripe customer, made once and reused."""
    if account.stripe_customer_id:
        return account.stripe_customer_id
    customer = _call(
        stripe.Customer.create,
        email=email,
        name=tenant.name,
        metadata={"tenant_id": str(tenant.id), "slug": tenant.slug},
        idempotency_key=f"customer-{tenant.id}",
    )
    account.stripe_customer_id = customer.id
    return customer.id


def checkout(
    account: BillingAccount, tenant: Tenant, plan: Plan, seats: int, urls: tuple[str, str], op: str
) -> str:
    """A Checkout Session for ``seats`` seats a year; returns the page to send the admin to."""
    if not plan.stripe_price_id:
        raise ServiceError("stripe_price_missing")
    success_url, cancel_url = urls
    session = _call(
        stripe.checkout.Session.create,
        mode="subscription",
        customer=account.stripe_customer_id,
        client_reference_id=str(tenant.id),
        line_items=[{"price": plan.stripe_price_id, "quantity": seats}],
        success_url=success_url,
        cancel_url=cancel_url,
        subscription_data={"metadata": {"tenant_id": str(tenant.id)}},
        metadata={"tenant_id": str(tenant.id)},
        idempotency_key=f"checkout-{tenant.id}-{op}",
    )
    return session.url


def _subscription_item(account: BillingAccount) -> str:
    subscription = _call(stripe.Subscription.retrieve, account.stripe_subscription_id)
    return subscription["items"]["data"][0]["id"]


def change_seats(account: BillingAccount, seats: int, op: str) -> None:
    """More seats: now, with a prorated charge. Fewer: from the renewal, no refund."""
    more = seats > account.seats
    _call(
        stripe.Subscription.modify,
        account.stripe_subscription_id,
        items=[{"id": _subscription_item(account), "quantity": seats}],
        proration_behavior="always_invoice" if more else "none",
        idempotency_key=f"seats-{account.tenant_id}-{op}",
    )


def set_cancel_at_period_end(account: BillingAccount, cancel: bool, op: str) -> None:
    _call(
        stripe.Subscription.modify,
        account.stripe_subscription_id,
        cancel_at_period_end=cancel,
        idempotency_key=f"cancel-{account.tenant_id}-{op}",
    )


def portal(account: BillingAccount, return_url: str) -> str:
    session = _call(
        stripe.billing_portal.Session.create,
        customer=account.stripe_customer_id,
        return_url=return_url,
    )
    return session.url
