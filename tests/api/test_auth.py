"""Keys: none, wrong or revoked is a 401; a Free shop gets the upgrade answer; a suspended
shop is refused; a key is the shop's, whatever cookie comes with it."""

from datetime import timedelta

from app.api import keys
from app.api.models import ApiKey
from tenants.db import bind_tenant, cross_tenant, db, utcnow

from ..conftest import login, set_tenant
from .conftest import error_of


def test_no_key_wrong_key_and_a_malformed_header_are_401_with_a_challenge(api, two_tenants):
    for token, headers, code in (
        (None, {}, "api_key_missing"),
        (None, {"Authorization": "Basic dXNlcjpwdw=="}, "api_key_missing"),
        (None, {"Authorization": "Bearer "}, "api_key_missing"),
        ("hk_live_not-a-real-key", {}, "api_key_invalid"),
        ("sk_something_else", {}, "api_key_invalid"),
    ):
        response = api.get("/customers", token=token, headers=headers)
        assert error_of(response) == (401, code, None)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_the_scheme_name_is_case_insensitive(api, two_tenants):
    response = api.get("/customers", headers={"Authorization": f"bearer {two_tenants.a.api_token}"})
    assert response.status_code == 200


def test_a_revoked_key_is_refused_from_the_very_next_request(api, two_tenants):
    a = two_tenants.a
    assert api.get("/customers").status_code == 200
    bind_tenant(a.tenant.id)
    keys.revoke(a.api_key.id)
    db.commit()
    bind_tenant(None)
    response = api.get(f"/customers/{a.customer.id}")
    assert error_of(response) == (401, "api_key_invalid", None)
    # The shop's other keys keep working.
    bind_tenant(a.tenant.id)
    _, other = keys.create_key("second", a.owner.id)
    db.commit()
    bind_tenant(None)
    assert api.get(f"/customers/{a.customer.id}", token=other).status_code == 200


def test_a_free_shop_gets_the_upgrade_answer_and_its_data_stays(api, two_tenants):
    a = two_tenants.a
    set_tenant(a, trial_ends_at=utcnow() - timedelta(seconds=1))
    for method, path in (("GET", "/customers"), ("POST", "/orders"), ("GET", "/orders/SO-a")):
        response = api.open(method, path, json={})
        assert response.status_code == 402
        assert response.get_json() == {
            "error": "feature_locked",
            "feature": "crm",
            "upgrade_url": "http://huike.test/console/upgrade",
        }
    set_tenant(a, feature_overrides={"crm": True})  # e.g. staff turn CRM on again
    assert api.get("/orders/SO-a").get_json()["total"] == "99.50"


def test_a_suspended_shop_is_refused(api, two_tenants):
    set_tenant(two_tenants.a, status="suspended")
    assert error_of(api.get("/customers")) == (403, "suspended", None)
    assert api.as_shop(two_tenants.b).get("/customers").status_code == 200


def test_last_used_is_recorded_at_most_once_a_minute(api, two_tenants):
    a = two_tenants.a

    def last_used():
        with cross_tenant():
            db.expire_all()
            return db.get(ApiKey, a.api_key.id).last_used_at

    assert last_used() is None
    api.get("/customers")
    first = last_used()
    assert first is not None and utcnow() - first < timedelta(seconds=30)
    api.get("/customers")
    assert last_used() == first  # within the minute: no write
    with cross_tenant():
        db.get(ApiKey, a.api_key.id).last_used_at = first - timedelta(minutes=2)
        db.commit()
    api.get("/customers")
    assert last_used() > first


def test_the_key_decides_the_shop_not_the_session_cookie(client, api, two_tenants):
    login(client, two_tenants.b.owner)  # the same client is signed in to shop B's console
    names = [c["name"] for c in api.get("/customers").get_json()["data"]]
    assert names == ["Buyer a"]
    assert api.get("/customers", token=None).status_code == 401  # a cookie is no key


def test_the_openapi_document_needs_no_key(api):
    response = api.get("/openapi.json", token=None)
    assert response.status_code == 200
    assert response.get_json()["openapi"].startswith("3.1")
