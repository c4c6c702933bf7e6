"""Health, metrics, error pages, languages."""

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
