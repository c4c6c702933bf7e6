"""Feature gating: one decorator for routes and socket handlers, one answer when locked.

Every gated endpoint is recorded in ``GATED`` so a test can walk them all.
"""

from __future__ import annotations

from functools import wraps

from flask import Flask, g, jsonify, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from tenants.plans import PAID_FEATURES, Entitlements, entitlements

GATED: dict[str, str] = {}  # view function qualname -> feature
FEATURE_NAMES = {
    "calls": _l("Calls"),
    "crm": _l("Customers (CRM)"),
    "robot": _l("Robot answers"),
    "analytics": _l("Analytics"),
}
PLAN_NAMES = {"free": _l("Free"), "pro": _l("Pro")}
ROLE_NAMES = {"owner": _l("Owner"), "admin": _l("Admin"), "agent": _l("Agent")}
SUBSCRIPTION_NAMES = {
    "none": _l("None"),
    "trialing": _l("Trial"),
    "active": _l("Active"),
    "past_due": _l("Payment overdue"),
    "canceled": _l("Canceled"),
    "unpaid": _l("Unpaid"),
    "incomplete": _l("Awaiting payment"),
    "offline": _l("Paid offline"),
}
INVOICE_NAMES = {
    "draft": _l("Draft"),
    "open": _l("Awaiting payment"),
    "paid": _l("Paid"),
    "void": _l("Void"),
    "uncollectible": _l("Uncollectible"),
    "offline": _l("Paid offline"),
}
STATUS_NAMES = {"invited": _l("Invited"), "active": _l("Active"), "disabled": _l("Disabled")}


def current_entitlements() -> Entitlements | None:
    if not current_user.is_authenticated:
        return None
    if "entitlements" not in g:
        g.entitlements = entitlements(current_user.tenant)
    return g.entitlements


def locked_payload(feature: str) -> dict:
    return {
        "error": "feature_locked",
        "feature": feature,
        "upgrade_url": url_for("console.upgrade", _external=True),
    }


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
    )


def requires_feature(feature: str):
    """Refuse with the one 'upgrade' answer when the tenant's plan lacks ``feature``."""
    if feature not in PAID_FEATURES:
        raise ValueError(f"unknown feature {feature!r}")

    def decorate(fn):
        GATED[f"{fn.__module__}.{fn.__qualname__}"] = feature

        @wraps(fn)
        def gated(*args, **kwargs):
            rights = current_entitlements()
            if rights is not None and rights.has(feature):
                return fn(*args, **kwargs)
            if getattr(request, "sid", None):  # a Socket.IO event: the ack carries the refusal
                return locked_payload(feature)
            if wants_json():
                return jsonify(locked_payload(feature)), 402
            return render_template("console/upgrade.html", feature=feature), 402

        return gated

    return decorate


def register_template_helpers(app: Flask) -> None:
    @app.context_processor
    def _features():
        rights = current_entitlements()
        return {
            "entitlements": rights,
            "feature_on": lambda name: bool(rights and rights.has(name)),
            "feature_names": FEATURE_NAMES,
            "plan_name": lambda plan: PLAN_NAMES.get(plan.code, plan.name),
            "role_names": ROLE_NAMES,
            "status_names": STATUS_NAMES,
            "subscription_names": SUBSCRIPTION_NAMES,
            "invoice_names": INVOICE_NAMES,
        }
