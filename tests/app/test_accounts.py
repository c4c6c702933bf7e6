"""Signup, login, logout, password reset: the clear message, and nothing changed on a refusal."""

import re
from datetime import timedelta

from sqlalchemy import func, select

from tenants.db import bind_tenant, cross_tenant, db, utcnow
from tenants.models import Membership, Tenant, User

from ..conftest import PASSWORD, make_test_app


def count(model) -> int:
    with cross_tenant():
        return db.scalar(select(func.count()).select_from(model))


def signup(client, **fields):
    data = {
        "shop_name": "Tea House",
        "name": "Lin",
        "email": "lin@example.com",
        "password": PASSWORD,
    }
    data.update(fields)
    return client.post("/signup", data=data)


def test_signup_creates_shop_owner_and_trial_and_opens_console(client):
    response = signup(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/?welcome=1")
    with cross_tenant():
        tenant = db.scalar(select(Tenant).where(Tenant.name == "Tea House"))
        owner = db.scalar(select(Membership).where(Membership.tenant_id == tenant.id))
    assert owner.role == "owner" and owner.status == "active"
    assert owner.user.password_hash.startswith("$argon2id$")
    assert tenant.plan_code == "free" and tenant.trial_plan_code == "pro"
    assert abs(tenant.trial_ends_at - (utcnow() + timedelta(days=14))) < timedelta(minutes=1)

    page = client.get("/console/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"&lt;script async src=&#34;http://huike.test/w/{tenant.site_key}.js&#34;&gt;" in page
    assert "14 days left" in page


def test_duplicate_signup_is_refused_and_creates_nothing(client):
    assert signup(client).status_code == 302
    client.post("/logout")
    before = (count(Tenant), count(User), count(Membership))
    response = signup(client, shop_name="Another", email="LIN@example.com")
    assert response.status_code == 400
    assert "An account with this e-mail already exists" in response.get_data(as_text=True)
    assert (count(Tenant), count(User), count(Membership)) == before


def test_bad_signup_input_gets_clear_messages_and_creates_nothing(client):
    before = (count(Tenant), count(User))
    cases = [
        ({"shop_name": ""}, "This field is required."),
        ({"shop_name": "x" * 121}, "120"),
        ({"email": "not-an-email"}, "Enter a valid e-mail address."),
        ({"password": "short"}, "at least 8 characters"),
        ({"password": "p" * 300}, "at most 256 characters"),
    ]
    for fields, message in cases:
        response = signup(client, **fields)
        assert response.status_code == 400, fields
        assert message in response.get_data(as_text=True), fields
    assert (count(Tenant), count(User)) == before


def test_wrong_password_is_refused_without_signing_in(client, two_tenants):
    response = client.post(
        "/login", data={"email": "owner-a@example.com", "password": "wrong-password"}
    )
    assert response.status_code == 400
    assert "Wrong e-mail or password." in response.get_data(as_text=True)
    assert client.get("/console/").status_code == 302  # still signed out
    unknown = client.post("/login", data={"email": "nobody@example.com", "password": PASSWORD})
    assert "Wrong e-mail or password." in unknown.get_data(as_text=True)


def test_login_and_logout(client, two_tenants):
    response = client.post("/login", data={"email": "Agent-A@example.com", "password": PASSWORD})
    assert response.status_code == 302
    page = client.get("/console/").get_data(as_text=True)
    assert "Shop a" in page
    client.post("/logout")
    assert client.get("/console/").status_code == 302


def test_disabled_member_cannot_log_in(client, two_tenants):
    bind_tenant(two_tenants.a.tenant.id)
    two_tenants.a.agent.status = "disabled"
    db.commit()
    response = client.post("/login", data={"email": "agent-a@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert "no active shop" in response.get_data(as_text=True)


def test_login_is_rate_limited_with_a_clear_page(client, two_tenants):
    for _ in range(10):
        client.post("/login", data={"email": "owner-a@example.com", "password": "nope-nope"})
    response = client.post("/login", data={"email": "owner-a@example.com", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    assert client.get("/console/").status_code == 302


def test_open_redirect_after_login_is_ignored(client, two_tenants):
    response = client.post(
        "/login?next=https://evil.example/",
        data={"email": "owner-a@example.com", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/console/"


def test_password_reset_by_mail_is_single_use_and_ends_other_sessions(
    app, client, two_tenants, outbox
):
    other = app.test_client()
    other.post("/login", data={"email": "owner-a@example.com", "password": PASSWORD})
    assert other.get("/console/").status_code == 200

    client.post("/password/forgot", data={"email": "owner-a@example.com"})
    client.post("/password/forgot", data={"email": "nobody@example.com"})  # no mail, same answer
    assert len(outbox.messages()) == 1
    link = re.search(r"https?://\S+/password/reset/\S+", outbox.last_body()).group(0)
    path = link.split("huike.test", 1)[1]

    mismatch = client.post(path, data={"password": "new-password-1", "confirm": "other-one-1"})
    assert mismatch.status_code == 400 and "The two passwords differ." in mismatch.get_data(True)

    done = client.post(path, data={"password": "new-password-1", "confirm": "new-password-1"})
    assert done.status_code == 302
    again = client.post(path, data={"password": "new-password-2", "confirm": "new-password-2"})
    assert "not valid or has already been used" in again.get_data(as_text=True)

    assert other.get("/console/").status_code == 302  # the old session ended
    ok = client.post("/login", data={"email": "owner-a@example.com", "password": "new-password-1"})
    assert ok.status_code == 302


def test_missing_csrf_token_is_refused_with_a_clear_message(dbsession):
    strict = make_test_app(WTF_CSRF_ENABLED=True)
    with strict.app_context():
        client = strict.test_client()
        before = count(Tenant)
        response = signup(client)
        assert response.status_code == 400
        assert "Your form expired or came from elsewhere" in response.get_data(as_text=True)
        assert count(Tenant) == before

        page = client.get("/signup").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert signup(client, csrf_token=token).status_code == 302
        assert count(Tenant) == before + 1


def test_session_cookie_is_httponly_and_samesite(client, two_tenants):
    response = client.post("/login", data={"email": "owner-a@example.com", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
