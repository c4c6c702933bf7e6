"""Paid modules: gates declared once per blueprint and per socket event set, one 'upgrade'
answer when locked, the module when entitled. The walks read the app's own url_map and Socket.IO
handlers, so a route or an event added to a paid module is covered without editing a list."""

from __future__ import annotations

import inspect
import re
from datetime import timedelta

import pytest
from flask import url_for

from app.api import keys
from app.chat.peers import AGENT
from app.chat.sockets import handler
from app.extensions import socketio
from app.features import SOCKET_FEATURES, GatedBlueprint, gated_events
from tenants.db import bind_tenant, db, utcnow
from tenants.plans import PAID_FEATURES, entitlements

from ..conftest import login, make_test_app, set_tenant
from .test_chat_socket import agent_socket
from .test_isolation import ID_ARGUMENTS, state_of

UPGRADE_URL = "http://huike.test/console/upgrade"


def on_free(shop):
    set_tenant(shop, trial_ends_at=utcnow() - timedelta(seconds=1))


def locked(feature: str) -> dict:
    return {"error": "feature_locked", "feature": feature, "upgrade_url": UPGRADE_URL}


# --- the walk of every gated route -----------------------------------------------------------


def paid_module_name(module: str) -> str | None:
    """The paid feature of a module path (app.crm.views: crm), if any."""
    parts = module.split(".")
    return parts[1] if parts[0] == "app" and len(parts) > 1 and parts[1] in PAID_FEATURES else None


def gated_routes(app):
    """(rule, its blueprint) for every route of every gated blueprint, from the url_map."""
    for rule in app.url_map.iter_rules():
        name, _dot, view = rule.endpoint.rpartition(".")
        blueprint = app.blueprints.get(name)
        if isinstance(blueprint, GatedBlueprint) and view not in blueprint.open_endpoints:
            yield rule, blueprint


def url_of(app, rule, shop) -> str:
    """The rule's URL with the shop's own rows for its ids (a dummy id where it names none)."""
    values = {arg: ID_ARGUMENTS.get(arg, lambda _shop: 1)(shop) for arg in rule.arguments}
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def csrf_token(client) -> str:
    page = client.get("/console/").get_data(True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def requests_of(app, shop, api_token: str):
    """Each (method, url, blueprint, headers) of the walk, for a browser and for a JSON client;
    forms carry the session's CSRF token, /api/v1 the shop's key."""
    for rule, blueprint in gated_routes(app):
        url = url_of(app, rule, shop)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for accept in ("text/html", "application/json"):
                headers = {"Accept": accept}
                if url.startswith("/api/"):
                    headers["Authorization"] = f"Bearer {api_token}"
                yield method, url, blueprint, headers


def walk_token(shop) -> str:
    """A key of the shop's for the walk, used a moment ago: its last use is not written again
    within the minute (keys.USE_RECORDED_EVERY), so a change the walk finds is the routes'."""
    bind_tenant(shop.tenant.id)
    key, token = keys.create_key("walk", shop.owner.id)
    key.last_used_at = utcnow()
    db.commit()
    bind_tenant(None)
    return token


def assert_locked_everywhere(app, client, shop, api_token: str) -> list[str]:
    walked = []
    for method, url, blueprint, headers in requests_of(app, shop, api_token):
        headers["X-CSRFToken"] = csrf_token(client)
        answer = client.open(url, method=method, headers=headers)
        where = f"{method} {url} ({headers['Accept']})"
        if url.startswith("/api/") or headers["Accept"] == "application/json":
            assert answer.status_code == 402, where
            assert answer.get_json() == locked(blueprint.feature), where
        elif blueprint.locked_page is not None:  # the blueprint's own prompt, as it declares
            with app.test_request_context(url, method=method, headers={"Accept-Language": "en"}):
                body, status = blueprint.locked_page()
            assert (answer.get_data(True), answer.status_code) == (body, status), where
            assert "/console/upgrade" in body
        else:
            assert answer.status_code == 402, where
            assert "is a Pro feature" in answer.get_data(True), where
        walked.append(url)
    return walked


def assert_open_everywhere(app, client, shop, api_token: str) -> None:
    for method, url, _blueprint, headers in requests_of(app, shop, api_token):
        headers["X-CSRFToken"] = csrf_token(client)
        answer = client.open(url, method=method, headers=headers)
        answer.get_data()  # a streamed body (the CSV export) runs to its end
        # a 404 (a dummy id) or a 400 (an empty form) is the module's own answer; a 402 is not
        assert answer.status_code not in (402, 500), f"{method} {url} -> {answer.status_code}"


def test_every_route_of_a_paid_module_is_locked_on_free_and_works_on_pro(two_tenants):
    app = make_test_app(WTF_CSRF_ENABLED=True)  # the forms' real check runs before the gate
    a = two_tenants.a
    client = app.test_client()
    features = {blueprint.feature for _rule, blueprint in gated_routes(app)}
    assert features == set(PAID_FEATURES)  # the walk reaches every paid module
    token = walk_token(a)
    before = state_of(a)
    on_free(a)
    for member in (a.agent, a.owner):
        login(client, member)
        walked = assert_locked_everywhere(app, client, a, token)
        assert len(walked) >= 80, "the paid modules' pages and their API at least"
    assert state_of(a) == before
    set_tenant(a, trial_ends_at=utcnow() + timedelta(days=3))
    for member in (a.agent, a.owner):
        login(client, member)
        assert_open_everywhere(app, client, a, token)


def test_a_route_added_to_a_paid_module_is_walked_and_locked(two_tenants):
    """No list to edit: a new route on the crm blueprint, and a new gated blueprint, are in
    the walk and behind the gate as soon as they are registered."""
    ran = []

    def throwaway(thing_id: int):
        ran.append(thing_id)
        return "ran"

    app = make_test_app()
    app.add_url_rule("/console/customers/throwaway/<int:thing_id>", "crm.throwaway", throwaway)
    extra = GatedBlueprint("throwaway", __name__, feature="robot", url_prefix="/console/extra")
    extra.add_url_rule("/", "page", lambda: throwaway(0), methods=["GET", "POST"])
    app.register_blueprint(extra)
    walked_rules = {rule.endpoint for rule, _blueprint in gated_routes(app)}
    assert {"crm.throwaway", "throwaway.page"} <= walked_rules
    a = two_tenants.a
    client = app.test_client()
    on_free(a)
    login(client, a.agent)
    walked = assert_locked_everywhere(app, client, a, walk_token(a))
    assert {"/console/customers/throwaway/1", "/console/extra/"} <= set(walked)
    assert ran == []
    set_tenant(a, trial_ends_at=utcnow() + timedelta(days=3))
    assert client.get("/console/customers/throwaway/7").get_data(True) == "ran"
    assert client.post("/console/extra/").get_data(True) == "ran" and ran == [7, 0]


# Blueprints of a paid module that serve every plan by design: the identity secret's page and
# the widget's Huike.identify (recognition runs for every shop, so what a trial collects is
# there after an upgrade).
FREE_BY_DESIGN = {
    "crm_identity",
    "crm_widget",
    # providers' webhooks: recorded on every plan (providers retry what fails), popped on Pro
    "calls_hooks",
    "calls_twilio",  # Twilio's: the same, and a locked shop's phones still ring
    # a callback Twilio is already placing is bridged whatever the plan became meanwhile
    "calls_bridge",
    # the widget's callback: the site key names the shop inside the view, which answers the
    # locked shape itself (tests/calls/test_callback.py)
    "calls_widget",
}
# Views of a gated blueprint that need no shop: the API's public contract.
OPEN_BY_DESIGN = {"api.openapi_document"}


def test_every_blueprint_of_a_paid_module_is_gated_and_open_views_are_few(app):
    for name, blueprint in app.blueprints.items():
        if paid_module_name(blueprint.import_name) and name not in FREE_BY_DESIGN:
            assert isinstance(blueprint, GatedBlueprint), f"{name}: declare its feature"
    opened = {
        f"{name}.{view}"
        for name, blueprint in app.blueprints.items()
        if isinstance(blueprint, GatedBlueprint)
        for view in blueprint.open_endpoints
    }
    assert opened == OPEN_BY_DESIGN and opened <= app.view_functions.keys()


def test_a_gate_names_a_paid_feature():
    with pytest.raises(ValueError):
        GatedBlueprint("typo", __name__, feature="cmr")
    with pytest.raises(ValueError):
        gated_events("chat", handler)


# --- sockets ---------------------------------------------------------------------------------


def paid_module(fn) -> str | None:
    """The paid feature whose module (app.<feature>…) defines ``fn``, if any."""
    return paid_module_name(inspect.unwrap(fn).__module__)


def ungated_paid_events() -> list[tuple[str, str]]:
    """Socket events a paid module handles that are not behind its feature's gate."""
    return [
        (namespace, event)
        for namespace, events in socketio.server.handlers.items()
        for event, fn in events.items()
        if (feature := paid_module(fn)) and SOCKET_FEATURES.get((namespace, event)) != feature
    ]


@pytest.fixture
def throwaway_events():
    """Socket events registered by a test, taken away again at its end."""
    added = []

    def register(event: str, fn, feature: str | None = None, **options):
        fn.__module__ = "app.crm.throwaway"  # as if the CRM module defined it
        register_in = gated_events(feature, handler) if feature else handler
        register_in(AGENT, event, **options)(fn)
        added.append(event)

    yield register
    for event in added:
        socketio.server.handlers[AGENT].pop(event, None)
        SOCKET_FEATURES.pop((AGENT, event), None)


def test_no_paid_module_answers_a_socket_event_on_free(app, client, two_tenants, throwaway_events):
    assert ungated_paid_events() == []
    # the check finds a paid module's event registered without its gate …
    throwaway_events("crm_ungated", lambda peer, data: {"ran": True})
    assert ungated_paid_events() == [(AGENT, "crm_ungated")]
    socketio.server.handlers[AGENT].pop("crm_ungated")
    # … and a gated one answers the locked payload on Free, its fast path included
    throwaway_events("crm_note", lambda peer, data: {"ran": True}, feature="crm")
    throwaway_events(
        "crm_fast", lambda peer, data: {"slow": True}, "crm", fast=lambda peer, data: {"fast": 1}
    )
    assert ungated_paid_events() == []
    a = two_tenants.a
    on_free(a)
    sock = agent_socket(app, client, a.agent)
    for event in ("crm_note", "crm_fast"):
        assert sock.emit(event, {}, namespace=AGENT, callback=True) == locked("crm"), event
    set_tenant(a, trial_ends_at=utcnow() + timedelta(days=3))
    assert sock.emit("crm_note", {}, namespace=AGENT, callback=True) == {"ran": True}
    assert sock.emit("crm_fast", {}, namespace=AGENT, callback=True) == {"fast": 1}
    sock.disconnect(namespace=AGENT)


# --- entitlements ----------------------------------------------------------------------------


def module_pages(app) -> dict[str, str]:
    """A page of each paid module: its first console page without ids, from the url_map."""
    pages: dict[str, str] = {}
    for rule, blueprint in gated_routes(app):
        if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith("/api/"):
            pages.setdefault(blueprint.feature, rule.rule)
    assert set(pages) == set(PAID_FEATURES)
    return pages


def test_trial_unlocks_the_paid_modules(app, client, two_tenants):
    login(client, two_tenants.a.owner)
    for path in module_pages(app).values():
        assert client.get(path).status_code == 200, path


def test_staff_override_turns_one_module_on_or_off(two_tenants):
    tenant = two_tenants.a.tenant
    bind_tenant(tenant.id)
    tenant.trial_ends_at = None
    tenant.feature_overrides = {"crm": True}
    assert entitlements(tenant).features == {"crm"}
    tenant.plan_code = "pro"
    tenant.seats = 3
    tenant.feature_overrides = {"robot": False}
    rights = entitlements(tenant)
    assert rights.features == {"calls", "crm", "analytics"} and rights.seat_limit == 3


def test_entitlements_follow_the_trial_clock(two_tenants):
    tenant = two_tenants.a.tenant
    bind_tenant(tenant.id)
    now = utcnow()
    tenant.trial_ends_at = now + timedelta(days=2, hours=1)
    rights = entitlements(tenant, now)
    assert rights.trialing and rights.trial_days_left == 3 and rights.has("crm")
    assert rights.seat_limit == 5
    after = entitlements(tenant, now + timedelta(days=3))
    assert not after.trialing and after.features == frozenset() and after.seat_limit == 2


def test_paid_pro_unlocks_and_a_lapsed_one_locks_again(app, client, two_tenants):
    a = two_tenants.a
    set_tenant(
        a, trial_ends_at=None, plan_code="pro", seats=3, paid_until=utcnow() + timedelta(days=30)
    )
    login(client, a.owner)
    pages = module_pages(app)
    for path in pages.values():
        assert client.get(path).status_code == 200, path
    set_tenant(a, paid_until=utcnow() - timedelta(minutes=1))  # lapsed, no webhook needed
    for feature, path in pages.items():
        answer = client.get(path, headers={"Accept": "application/json"})
        assert answer.status_code == 402 and answer.get_json() == locked(feature)


# --- what the pages sell ---------------------------------------------------------------------


def test_every_paid_module_is_sold_and_none_is_said_to_be_coming(client, two_tenants):
    login(client, two_tenants.a.owner)
    for lang, names in (
        ("en", ["Calls", "Customers (CRM)", "Robot answers", "Analytics"]),
        ("zh-CN", ["电话", "客户管理（CRM）", "机器人自动回复", "数据统计"]),
    ):
        headers = {"Accept-Language": lang}
        plans = client.get("/console/upgrade", headers=headers).get_data(True)
        assert sorted(re.findall(r'<li data-included="(\w+)">', plans)) == sorted(PAID_FEATURES)
        billing = client.get("/console/billing", headers=headers).get_data(True)
        sold = re.search(r"<p data-sold>([^<]*)</p>", billing)  # what the upgrade offers
        home = client.get("/console/", headers=headers).get_data(True)
        for page in (plans, sold.group(1)):
            assert all(name in page for name in names), lang
        for page in (plans, billing, home):
            assert "data-coming" not in page and "coming" not in page.lower(), lang
