"""The console's API keys page: admins create (the key shown once), list and revoke keys."""

import re
from datetime import timedelta

from tenants.db import utcnow

from ..conftest import login, set_tenant
from .conftest import Api

PAGE = "/console/settings/api-keys/"


def create(client, name: str):
    return client.post(PAGE, data={"name": name})


def test_an_admin_creates_a_key_that_is_shown_once_and_works(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    listed = client.get(PAGE)
    assert listed.status_code == 200
    assert "Shop a server" in listed.get_data(True) and a.api_key.prefix in listed.get_data(True)
    created = create(client, "Order system")
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="api-key">(hk_live_[\w-]+)<', created.get_data(True)).group(1)
    assert Api(client, token).get("/customers").status_code == 200
    after = client.get(PAGE).get_data(True)
    assert "Order system" in after and token[:14] in after and token not in after


def test_a_key_needs_a_name(client, two_tenants):
    login(client, two_tenants.a.owner)
    refused = create(client, "   ")
    assert refused.status_code == 422
    assert "This field is required." in refused.get_data(True)
    too_long = create(client, "x" * 81)
    assert too_long.status_code == 422 and "at most 80" in too_long.get_data(True)
    assert client.get(PAGE).get_data(True).count('data-key="') == 1


def test_revoking_asks_first_then_the_key_stops_at_once(client, two_tenants):
    a = two_tenants.a
    key_id, api = a.api_key.id, Api(client, a.api_token)
    login(client, a.owner)
    confirm = client.get(f"{PAGE}{key_id}/revoke")
    assert confirm.status_code == 200 and "Revoke the key" in confirm.get_data(True)
    assert api.get("/customers").status_code == 200  # asking changed nothing
    done = client.post(f"{PAGE}{key_id}/revoke", follow_redirects=True)
    assert "is revoked" in done.get_data(True)
    assert api.get("/customers").status_code == 401
    assert "Revoked" in client.get(PAGE).get_data(True)
    assert client.post(f"{PAGE}{key_id}/revoke").status_code == 302  # twice is harmless
    assert client.post(f"{PAGE}999999/revoke").status_code == 404


def test_agents_are_refused_and_a_free_shop_sees_the_upgrade(client, two_tenants):
    a = two_tenants.a
    key_id = a.api_key.id
    login(client, a.agent)
    for method, path in (("GET", PAGE), ("POST", PAGE), ("POST", f"{PAGE}{key_id}/revoke")):
        assert client.open(path, method=method, data={"name": "x"}).status_code == 403
    login(client, a.owner)
    set_tenant(a, trial_ends_at=utcnow() - timedelta(seconds=1))
    locked = client.get(PAGE)
    assert locked.status_code == 402 and "is a Pro feature" in locked.get_data(True)


def test_a_suspended_shop_and_a_signed_out_visitor(client, two_tenants):
    assert client.get(PAGE).status_code == 302  # to the login page
    login(client, two_tenants.a.owner)
    set_tenant(two_tenants.a, status="suspended")
    assert client.get(PAGE).status_code == 403


def test_the_console_home_links_to_the_keys_page(client, two_tenants):
    login(client, two_tenants.a.owner)
    assert PAGE in client.get("/console/").get_data(True)
    login(client, two_tenants.a.agent)
    assert PAGE not in client.get("/console/").get_data(True)
