"""The shop's own settings and small promises: its time zone, the favicon, a readable slug, a
dead reset link said dead on opening, a replaced invitation, no stranger's name shown."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.chat.models import Conversation
from app.config import from_env
from tenants import service
from tenants.db import bind_tenant, cross_tenant, db, utcnow
from tenants.models import Tenant, User

from ..conftest import PASSWORD, login, set_tenant

EN = {"Accept-Language": "en"}
SENT = datetime(2026, 12, 6, 22, 17, tzinfo=UTC)  # 06:17 on the 7th in Shanghai


def zone_of(shop) -> str:
    with cross_tenant():
        return db.scalar(select(Tenant.timezone).where(Tenant.id == shop.tenant.id))


def history_row(client) -> str:
    page = client.get("/console/history", headers=EN).get_data(True)
    return page.split("<tbody>", 1)[1].split("</tr>", 1)[0].replace("\u202f", " ")


# --- the time zone ---------------------------------------------------------------------------


def test_admin_sets_the_time_zone_and_every_page_follows(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    bind_tenant(a.tenant.id)
    db.get(Conversation, a.conversation.id).last_message_at = SENT
    db.commit()
    bind_tenant(None)
    login(client, a.owner)
    assert "6:17 AM" in history_row(client)  # Asia/Shanghai, the default
    page = client.get("/console/shop", headers=EN).get_data(True)
    assert 'value="Asia/Shanghai"' in page and '<option value="Europe/London">' in page

    response = client.post("/console/shop", data={"timezone": " America/New_York "}, headers=EN)
    assert response.status_code == 302
    assert zone_of(a) == "America/New_York"
    assert zone_of(b) == "Asia/Shanghai"  # another shop's setting is its own
    row = history_row(client)
    assert "12/6/26, 5:17 PM" in row and "6:17 AM" not in row
    transcript = client.get(f"/console/history/{a.conversation.id}", headers=EN).get_data(True)
    assert "Times in America/New_York" in transcript
    page = client.get("/console/conversations", headers=EN).get_data(True)
    assert 'data-timezone="America/New_York"' in page  # the console's scripts format with it


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "posixrules", "../../etc/passwd", "x" * 300])
def test_a_bad_time_zone_is_refused_and_changes_nothing(client, two_tenants, zone):
    login(client, two_tenants.a.owner)
    response = client.post("/console/shop", data={"timezone": zone}, follow_redirects=True)
    assert "Choose a time zone from the list" in response.get_data(True)
    assert zone_of(two_tenants.a) == "Asia/Shanghai"


def test_agents_cannot_change_the_time_zone(client, two_tenants):
    login(client, two_tenants.a.agent)
    assert client.get("/console/shop").status_code == 403
    assert client.post("/console/shop", data={"timezone": "UTC"}).status_code == 403
    assert zone_of(two_tenants.a) == "Asia/Shanghai"


# --- small things ----------------------------------------------------------------------------


def test_favicon_is_served_and_linked(client, dbsession):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.content_type.startswith("image/") and b"<svg" in response.data
    page = client.get("/login").get_data(True)
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page).group(1)
    assert client.get(icon).status_code == 200


def test_a_chinese_shop_name_gets_a_pinyin_slug(dbsession):
    first = service.signup("林茶", "lin@example.com", PASSWORD)
    second = service.signup("林茶", "lin2@example.com", PASSWORD)
    mixed = service.signup("林茶 Tea 2号店", "lin3@example.com", PASSWORD)
    assert first.tenant.slug == "lincha"
    assert re.fullmatch(r"lincha-[0-9a-f]{6}", second.tenant.slug)
    assert mixed.tenant.slug == "lincha-tea-2haodian"


def test_a_bogus_or_expired_reset_link_is_refused_on_opening(app, client, two_tenants):
    for token in ("not-a-real-token", "x" * 500):
        response = client.get(f"/password/reset/{token}", headers=EN)
        page = response.get_data(True)
        assert response.status_code == 404
        assert "This link is invalid or expired" in page and 'type="password"' not in page
        assert 'href="/password/forgot"' in page
    secret = app.config["SECRET_KEY"]
    _, token = service.reset_token("owner-a@example.com", secret)
    assert client.get(f"/password/reset/{token}").status_code == 200  # a good link: the form
    app.config["PASSWORD_RESET_MAX_AGE"] = -1  # and the same link once it is old
    try:
        page = client.get(f"/password/reset/{token}", headers=EN).get_data(True)
    finally:
        app.config["PASSWORD_RESET_MAX_AGE"] = from_env()["PASSWORD_RESET_MAX_AGE"]
    assert "This reset link has expired" in page and 'type="password"' not in page


def test_a_used_reset_link_is_refused_on_opening(app, client, two_tenants):
    _, token = service.reset_token("owner-a@example.com", app.config["SECRET_KEY"])
    db.commit()
    used = client.post(
        f"/password/reset/{token}", data={"password": "new-pass-123", "confirm": "new-pass-123"}
    )
    assert used.status_code == 302  # the password is changed: the link dies with the old one
    response = client.get(f"/password/reset/{token}", headers=EN)
    assert response.status_code == 404 and "already been used" in response.get_data(True)


def test_a_superseded_invitation_says_it_was_replaced(client, two_tenants, outbox):
    a = two_tenants.a
    login(client, a.owner)
    pending = next(m for m in service_members(a) if m.user.email == "pending-a@example.com")
    client.post(f"/console/members/{pending.id}/resend")
    newer = re.search(r"/invite/(\S+)", outbox.last_body()).group(1)
    client.post("/logout")
    old = client.get(f"/invite/{a.invitation_token}", headers=EN)
    assert old.status_code == 404
    page = old.get_data(True)
    assert "replaced by a newer one" in page and "expired" not in page
    assert client.get(f"/invite/{newer}").status_code == 200


def service_members(shop):
    bind_tenant(shop.tenant.id)
    found = service.members()
    bind_tenant(None)
    return found


def test_inviting_someone_from_another_shop_does_not_show_their_name(client, two_tenants, outbox):
    a = two_tenants.a
    login(client, a.owner)
    client.post("/console/members/invite", data={"email": "agent-b@example.com"})
    mail = outbox.messages()[-1]
    assert mail["To"] == "agent-b@example.com"
    assert "Agent b" not in mail.get_payload(decode=True).decode() + str(mail["Subject"])
    page = client.get("/console/members", headers=EN).get_data(True)
    assert "agent-b@example.com" in page and "Agent b" not in page
    assert "Agent a" in page  # a member who joined: their name is the shop's to see


def test_a_full_paying_shop_is_told_to_add_seats_not_to_upgrade(client, two_tenants):
    set_tenant(
        two_tenants.a,
        plan_code="pro",
        seats=3,  # owner + agent + the open invitation
        trial_ends_at=utcnow() - timedelta(days=1),
        paid_until=utcnow() + timedelta(days=200),
    )
    login(client, two_tenants.a.owner)
    response = client.post(
        "/console/members/invite", data={"email": "fourth@example.com"}, follow_redirects=True
    )
    page = response.get_data(True)
    assert "All 3 seats you pay for are taken" in page and "add seats on the billing page" in page
    assert "upgrade to Pro" not in page
    with cross_tenant():
        assert db.scalar(select(User).where(User.email == "fourth@example.com")) is None


def test_support_email_is_configurable_and_on_the_suspension_page(app, client, two_tenants):
    assert from_env({"SUPPORT_EMAIL": "help@example.org"})["SUPPORT_EMAIL"] == "help@example.org"
    set_tenant(two_tenants.a, status="suspended")
    login(client, two_tenants.a.owner)
    response = client.get("/console/", headers=EN)
    address = app.config["SUPPORT_EMAIL"]
    assert response.status_code == 403
    assert f'href="mailto:{address}"' in response.get_data(True)
