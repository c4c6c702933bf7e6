"""Paid modules: one 'upgrade' answer when locked, the page when entitled."""

from datetime import timedelta

from app.features import GATED
from tenants.db import bind_tenant, utcnow
from tenants.plans import entitlements

from ..conftest import login, set_tenant

GATED_PAGES = {
    "crm": "/console/customers/",
    "calls": "/console/calls",
    "robot": "/console/robot",
    "analytics": "/console/analytics",
}


def on_free(shop):
    set_tenant(shop, trial_ends_at=utcnow() - timedelta(seconds=1))


def test_every_gated_endpoint_is_declared_and_walked(app):
    features = set(GATED.values())
    assert features == set(GATED_PAGES)
    gated_endpoints = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if f"{app.view_functions[rule.endpoint].__module__}."
        f"{app.view_functions[rule.endpoint].__qualname__}" in GATED
    }
    assert len(gated_endpoints) == len(GATED)


def test_locked_module_answers_402_json_and_upgrade_page(client, two_tenants):
    on_free(two_tenants.a)
    login(client, two_tenants.a.agent)
    for feature, path in GATED_PAGES.items():
        api = client.get(path, headers={"Accept": "application/json"})
        assert api.status_code == 402
        assert api.get_json() == {
            "error": "feature_locked",
            "feature": feature,
            "upgrade_url": "http://huike.test/console/upgrade",
        }
        page = client.get(path, headers={"Accept-Language": "en"})
        assert page.status_code == 402
        assert "is a Pro feature" in page.get_data(True)


def test_trial_unlocks_the_paid_modules(client, two_tenants):
    login(client, two_tenants.a.owner)
    for path in GATED_PAGES.values():
        assert client.get(path).status_code == 200


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


def test_paid_pro_unlocks_and_a_lapsed_one_locks_again(client, two_tenants):
    a = two_tenants.a
    set_tenant(
        a, trial_ends_at=None, plan_code="pro", seats=3, paid_until=utcnow() + timedelta(days=30)
    )
    login(client, a.agent)
    for path in GATED_PAGES.values():
        assert client.get(path).status_code == 200, path
    set_tenant(a, paid_until=utcnow() - timedelta(minutes=1))  # lapsed, no webhook needed
    for feature, path in GATED_PAGES.items():
        locked = client.get(path, headers={"Accept": "application/json"})
        assert locked.status_code == 402 and locked.get_json()["feature"] == feature
