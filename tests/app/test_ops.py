"""Health, metrics, error pages, languages, and a worker behind the load balancer."""

import pytest

from app.chat.flood import DEFAULT_LIMITS
from app.extensions import socketio

from ..conftest import login, make_test_app


def test_healthz_checks_the_database(client, dbsession):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_metrics_count_requests(client, dbsession):
    client.get("/healthz")
    body = client.get("/metrics").get_data(True)
    assert 'huike_http_requests_total{endpoint="ops.healthz",method="GET",status="200"}' in body
    assert "huike_http_request_seconds_bucket" in body


def test_request_id_is_echoed(client, dbsession):
    response = client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert response.headers["X-Request-ID"] == "abc123"


def test_error_pages_in_the_product_look_and_as_json(client, dbsession):
    page = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert page.status_code == 404
    assert "Page not found" in page.get_data(True) and 'class="topbar"' in page.get_data(True)
    api = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.get_json()["error"] == "not_found"
    assert client.get("/logout").status_code == 405


def test_unhandled_error_shows_the_500_page(dbsession):
    app = make_test_app()

    @app.get("/__boom")
    def boom():
        raise RuntimeError("internal-detail-xyz")

    response = app.test_client().get("/__boom", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(True)
    assert "internal-detail-xyz" not in response.get_data(True)


def test_language_from_browser_and_from_the_users_choice(client, two_tenants):
    zh = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(True)
    en = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(True)
    assert "登录" in zh and "Log in to your console" in en
    login(client, two_tenants.a.owner)
    client.post("/language", data={"lang": "en"})
    page = client.get("/console/", headers={"Accept-Language": "zh-CN"}).get_data(True)
    assert "Install the chat widget" in page  # the user's setting beats the browser
    assert client.post("/language", data={"lang": "fr"}).status_code == 400


def test_behind_trusted_proxies_each_visitor_has_their_own_allowance(two_tenants):
    """Behind nginx every request comes from the proxy: the address it forwards is the
    visitor's, so one busy visitor does not use up everyone's page views. Without the
    setting a forged X-Forwarded-For buys no fresh allowance."""
    limits = {**DEFAULT_LIMITS, "hello": "2/minute"}

    def hellos(client, *addresses: str) -> list[int]:
        return [
            client.post(
                "/w/api/hello",
                json={"k": two_tenants.a.tenant.site_key, "url": "https://a.example/"},
                headers={"X-Forwarded-For": address},
            ).status_code
            for address in addresses
        ]

    behind = make_test_app(FLOOD_LIMITS=limits, TRUSTED_PROXIES=1).test_client()
    assert hellos(behind, "198.51.100.1", "198.51.100.1", "198.51.100.1") == [200, 200, 429]
    assert hellos(behind, "198.51.100.2") == [200]
    exposed = make_test_app(FLOOD_LIMITS=limits).test_client()
    assert hellos(exposed, "198.51.100.3", "198.51.100.4", "198.51.100.5") == [200, 200, 429]


def test_a_named_worker_starts_its_socket_sessions_with_its_name(dbsession):
    """deploy/nginx.conf routes a Socket.IO session to its worker by this prefix."""
    named = make_test_app(NODE_NAME="w7")
    assert socketio.server.eio.generate_id().startswith("w7.")
    assert named.test_client().get("/healthz").headers["X-Huike-Node"] == "w7"
    assert "X-Huike-Node" not in make_test_app().test_client().get("/healthz").headers
    with pytest.raises(ValueError, match="HUIKE_NODE"):
        make_test_app(NODE_NAME="w1;return")
