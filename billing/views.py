"""The shop's billing page (upgrade, seats, cancel, resume, portal) and Stripe's webhook."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import stripe
from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from billing import state, stripe_gateway
from billing.models import Invoice
from tenants.db import db
from tenants.errors import ServiceError
from tenants.mail import send_mail
from tenants.models import Membership
from tenants.permissions import require_admin
from tenants.plans import catalog, entitlements
from tenants.service import seats_in_use

log = logging.getLogger("huike.billing")
bp = Blueprint("billing", __name__, template_folder="templates")

MESSAGES = {
    "stripe_error": _l(
        "The payment service did not answer as expected: nothing was changed. "
        "Please try again in a moment."
    ),
    "stripe_price_missing": _l("Online payment is not set up for this plan yet."),
    "seats_invalid": _l("Choose a number of seats from %(low)s to 500."),
    "seats_below_use": _l(
        "%(used)s seats are in use: disable members first (%(names)s), then lower the seats."
    ),
    "no_subscription": _l("There is no subscription to change."),
}


def _message(error: ServiceError) -> str:
    template = MESSAGES.get(error.code)
    return str(template) % error.params if template else error.code


def _configured() -> bool:
    return stripe_gateway.configure(
        current_app.config.get("STRIPE_SECRET_KEY"), current_app.config.get("STRIPE_API_BASE")
    )


def _grace() -> timedelta:
    return timedelta(days=current_app.config.get("BILLING_GRACE_DAYS", 7))


@bp.before_request
def _admins_only():
    if request.endpoint == "billing.webhook":
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    require_admin()
    return None


@bp.app_context_processor
def _billing_notice():
    """A banner for the shop's admins while a payment is overdue."""
    if not (current_user and current_user.is_authenticated and current_user.is_admin):
        return {}
    account = db.scalar(select(state.BillingAccount))
    if account is None or account.status != "past_due":
        return {}
    return {"billing_past_due_until": current_user.tenant.paid_until}


# --- the shop's billing page -------------------------------------------------------------


@bp.get("/console/billing")
@login_required
def page():
    tenant = current_user.tenant
    account = state.account_for(tenant.id)
    rights = entitlements(tenant)
    invoices = db.scalars(select(Invoice).order_by(Invoice.created_at.desc()).limit(50))
    return render_template(
        "billing/page.html",
        account=account,
        offer=state.offer(account, rights),
        last_paid_day=state.last_paid_day(account, tenant.timezone),
        rights=rights,
        plans=catalog(),
        paid_plan=next((p for p in catalog() if p.price_per_seat_year > 0), None),
        seats_used=seats_in_use(),
        invoices=list(invoices),
        configured=_configured(),
        op=uuid.uuid4().hex,
    )


def _seats_wanted(low: int) -> int:
    try:
        seats = int(request.form.get("seats", ""))
    except ValueError:
        raise ServiceError("seats_invalid", low=low) from None
    if not low <= seats <= 500:
        raise ServiceError("seats_invalid", low=low)
    return seats


def _act(action):
    """A refusal (Stripe's or ours) goes back to the page with the reason. The request still
    commits: what was done before it at Stripe (a customer made) must stay recorded, and the
    actions check their input before they write."""
    if not _configured():
        flash(_("Online payment is not configured on this server."), "error")
        return redirect(url_for("billing.page"))
    try:
        return action()
    except ServiceError as error:
        flash(_message(error), "error")
        return redirect(url_for("billing.page"))


def _op() -> str:
    return (request.form.get("op") or uuid.uuid4().hex)[:64]


@bp.post("/console/billing/checkout")
@login_required
def checkout():
    def start():
        tenant = current_user.tenant
        account = state.account_for(tenant.id)
        seats = _seats_wanted(max(1, seats_in_use()))
        plan = next(p for p in catalog() if p.price_per_seat_year > 0)
        # kept even if the checkout call fails: the refusal's redirect commits (``_act``)
        stripe_gateway.ensure_customer(account, tenant, current_user.user.email)
        urls = (
            url_for("billing.success", _external=True) + "?session_id={CHECKOUT_SESSION_ID}",
            url_for("billing.cancelled", _external=True),
        )
        return redirect(stripe_gateway.checkout(account, tenant, plan, seats, urls, _op()), 303)

    return _act(start)


@bp.post("/console/billing/seats")
@login_required
def change_seats():
    def change():
        account = state.account_for(current_user.tenant.id)
        if not account.stripe_subscription_id or account.status not in state.PAID_STATUSES:
            raise ServiceError("no_subscription")
        used = seats_in_use()
        seats = _seats_wanted(1)
        if seats < used:
            raise ServiceError("seats_below_use", used=used, names=_member_names())
        stripe_gateway.change_seats(account, seats, _op())
        if seats > account.seats:
            flash(
                _("%(n)s seats from now on; the difference is charged pro rata.", n=seats),
                "success",
            )
        else:
            account.pending_seats = seats
            flash(_("%(n)s seats from the renewal on.", n=seats), "success")
        return redirect(url_for("billing.page"))

    return _act(change)


def _member_names() -> str:
    names = db.scalars(
        select(Membership).where(Membership.status == "active", Membership.role != "owner")
    )
    return ", ".join(m.user.email for m in names) or "—"


@bp.post("/console/billing/cancel")
@login_required
def cancel():
    return _set_cancel(True, _("Your subscription ends at the end of the paid period."))


@bp.post("/console/billing/resume")
@login_required
def resume():
    return _set_cancel(False, _("Your subscription goes on."))


def _set_cancel(cancel_it: bool, done: str):
    def change():
        account = state.account_for(current_user.tenant.id)
        if not account.stripe_subscription_id or account.status not in state.PAID_STATUSES:
            raise ServiceError("no_subscription")
        stripe_gateway.set_cancel_at_period_end(account, cancel_it, _op())
        account.cancel_at_period_end = cancel_it
        flash(done, "success")
        return redirect(url_for("billing.page"))

    return _act(change)


@bp.post("/console/billing/portal")
@login_required
def portal():
    def open_portal():
        account = state.account_for(current_user.tenant.id)
        if not account.stripe_customer_id:
            raise ServiceError("no_subscription")
        return redirect(stripe_gateway.portal(account, url_for("billing.page", _external=True)))

    return _act(open_portal)


@bp.get("/console/billing/success")
@login_required
def success():
    return render_template("billing/result.html", paid=True)


@bp.get("/console/billing/cancelled")
@login_required
def cancelled():
    return render_template("billing/result.html", paid=False)


# --- Stripe's webhook ----------------------------------------------------------------------


def _notify(tenant_id: int, kind: str) -> None:
    if kind != "payment_failed":
        return
    link = url_for("billing.page", _external=True)
    for email in state.owners_emails(tenant_id):
        send_mail(
            email,
            _("Your Huike payment failed"),
            render_template("billing/mail/payment_failed.txt", link=link, days=_grace().days),
        )


@bp.post("/billing/stripe/webhook")
def webhook():
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        return jsonify(error="not_configured"), 400
    payload = request.get_data()  # the raw body: the signature is over these bytes
    try:
        event = stripe.Webhook.construct_event(
            payload, request.headers.get("Stripe-Signature", ""), secret, tolerance=300
        )
    except ValueError:
        return jsonify(error="malformed"), 400
    except stripe.SignatureVerificationError:
        log.warning("stripe webhook: bad signature")
        return jsonify(error="bad_signature"), 400
    try:
        outcome = state.handle_event(event.to_dict(), _grace(), _notify)
    except (KeyError, TypeError, ValueError):  # the error answer rolls the delivery back
        log.exception("stripe webhook: event not understood")
        return jsonify(error="bad_event"), 400
    return jsonify(received=True, outcome=outcome)
