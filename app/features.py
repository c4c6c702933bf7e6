"""Feature gating, declared once per module (anchor: Indico's ``EVENT_FEATURE``).

A paid module's blueprint is a ``GatedBlueprint`` naming its feature, and a paid module's set
of socket events is registered through ``gated_events``: every route and every event of it is
behind the one gate, so a route or event added later is gated without anyone remembering to.
Locked, the gate answers the one shape ``{"error": "feature_locked", "feature", "upgrade_url"}``
to API and JSON clients and to sockets, and the upgrade page to browsers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps

from babel.lists import format_list
from flask import (
    Blueprint,
    Flask,
    Request,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.extensions import socketio
from tenants.db import bind_tenant, scoped_get
from tenants.models import Tenant
from tenants.plans import (
    PAID_FEATURES,
    Entitlements,
    entitlements,
)

SOCKET_FEATURES: dict[tuple[str, str], str] = {}  # (namespace, event) -> feature
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
    """What the shop this request acts for may use: the signed-in member's shop, or the shop
    of the API key (``g.tenant``, bound by the API's own check)."""
    if "entitlements" not in g:
        tenant = g.get("tenant") or (current_user.tenant if current_user.is_authenticated else None)
        if tenant is None:
            return None
        g.entitlements = entitlements(tenant)
    return g.entitlements


def locked_payload(feature: str, environ: dict | None = None) -> dict:
    """The one answer to a locked feature. ``environ``: a socket's handshake, the request the
    upgrade link is built for where no HTTP request is under way."""
    if environ is None:
        upgrade_url = url_for("console.upgrade", _external=True)
    else:
        adapter = current_app.create_url_adapter(Request(environ))
        upgrade_url = adapter.build("console.upgrade", force_external=True)
    return {"error": "feature_locked", "feature": feature, "upgrade_url": upgrade_url}


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
    )


def _known(feature: str) -> str:
    if feature not in PAID_FEATURES:
        raise ValueError(f"unknown feature {feature!r}")
    return feature


class GatedBlueprint(Blueprint):
    """A paid module's blueprint: every route of it needs ``feature``.

    The gate is the blueprint's last ``before_request`` hook, so its own hooks (the sign-in,
    the API key) have named the shop when it asks. ``open_endpoints``: views that need no shop
    at all (the API's public contract). ``locked_page``: the blueprint's own answer to a browser
    where the upgrade page does not fit (a fragment shown inside a free page)."""

    def __init__(
        self,
        name: str,
        import_name: str,
        *,
        feature: str,
        open_endpoints: Iterable[str] = (),
        locked_page: Callable[[], object] | None = None,
        **options,
    ) -> None:
        super().__init__(name, import_name, **options)
        self.feature = _known(feature)
        self.open_endpoints = frozenset(open_endpoints)
        self.locked_page = locked_page
        # Flask runs record callbacks after it merged the blueprint's own hooks: this one is last.
        self.record(self._add_gate)

    def _add_gate(self, state: BlueprintSetupState) -> None:
        name = f"{state.name_prefix}.{state.name}".lstrip(".")
        opened = {f"{name}.{endpoint}" for endpoint in self.open_endpoints}

        def gate():
            if request.endpoint in opened:
                return None
            rights = current_entitlements()
            if rights is not None and rights.has(self.feature):
                return None
            if wants_json():
                return jsonify(locked_payload(self.feature)), 402
            if self.locked_page is not None:
                return self.locked_page()
            return render_template("console/upgrade.html", feature=self.feature), 402

        state.app.before_request_funcs.setdefault(name, []).append(gate)


def gated_events(feature: str, register: Callable) -> Callable:
    """``register`` (``app.chat.sockets.handler``) for a paid module's set of socket events, all
    needing ``feature``; declared once where the set is registered::

        crm_event = gated_events("crm", handler)

        @crm_event(AGENT, "note")
        def note(peer, data): ...

    A locked event acknowledges with the locked payload before its handler (or its fast path,
    which then costs one query for the shop's plan) runs."""
    _known(feature)

    def register_gated(namespace: str, event: str, **options) -> Callable:
        SOCKET_FEATURES[(namespace, event)] = feature
        if options.get("fast") is not None:
            options["fast"] = _gated_event(feature, namespace, options["fast"])

        def decorate(fn: Callable) -> Callable:
            register(namespace, event, **options)(_gated_event(feature, namespace, fn))
            return fn

        return decorate

    return register_gated


def _gated_event(feature: str, namespace: str, fn: Callable) -> Callable:
    @wraps(fn)
    def gated(peer, data):
        bind_tenant(peer.tenant_id)
        if entitlements(scoped_get(Tenant, peer.tenant_id)).has(feature):
            return fn(peer, data)
        return locked_payload(feature, socketio.server.get_environ(peer.sid, namespace=namespace))

    return gated


def feature_list(features: Iterable[str]) -> str:
    """Modules by name as the page's language lists them ("Calls, Robot answers and …")."""
    ordered = sorted(features, key=PAID_FEATURES.index)  # the navigation's order
    return format_list([str(FEATURE_NAMES[f]) for f in ordered], locale=get_locale())


def register_template_helpers(app: Flask) -> None:
    @app.context_processor
    def _features():
        rights = current_entitlements()
        return {
            "entitlements": rights,
            "feature_on": lambda name: bool(rights and rights.has(name)),
            "feature_names": FEATURE_NAMES,
            "paid_features": PAID_FEATURES,
            "feature_list": feature_list,
            "plan_name": lambda plan: PLAN_NAMES.get(plan.code, plan.name),
            "role_names": ROLE_NAMES,
            "status_names": STATUS_NAMES,
            "subscription_names": SUBSCRIPTION_NAMES,
            "invoice_names": INVOICE_NAMES,
        }
