"""Seats, roles and invitations through the console, as a shop admin would use them."""

import re
from datetime import timedelta

from sqlalchemy import func, select

from tenants import service
from tenants.db import bind_tenant, cross_tenant, db, utcnow
from tenants.models import Invitation, Membership, User

from ..conftest import PASSWORD, login, set_tenant


def members_of(shop) -> dict[str, tuple[str, str]]:
    bind_tenant(shop.tenant.id)
    found = {m.user.email: (m.role, m.status) for m in db.scalars(select(Membership))}
    bind_tenant(None)
    return found


def end_trial(shop) -> None:
    """The shop is on Free: 2 seats (owner + agent in the fixture); a pending invite too."""
    set_tenant(shop, trial_ends_at=utcnow() - timedelta(days=1))


def test_members_page_lists_roles_statuses_and_seats(client, two_tenants):
    login(client, two_tenants.a.owner)
    page = client.get("/console/members", headers={"Accept-Language": "en"}).get_data(True)
    for email in ("owner-a@example.com", "agent-a@example.com", "pending-a@example.com"):
        assert email in page
    assert "owner-b@example.com" not in page
    assert "3 of 5 seats in use" in page  # trial: 5 seats; 2 active + 1 open invitation


def test_invitation_mail_link_lets_a_new_agent_join(client, app, two_tenants, outbox):
    login(client, two_tenants.a.owner)
    response = client.post("/console/members/invite", data={"email": "new@example.com"})
    assert response.status_code == 302
    link = re.search(r"https?://\S+/invite/\S+", outbox.last_body()).group(0)
    assert outbox.messages()[-1]["To"] == "new@example.com"
    newcomer = app.test_client()
    page = newcomer.get(link.split("huike.test", 1)[1])
    assert page.status_code == 200 and "Shop a" in page.get_data(True)
    accepted = newcomer.post(
        link.split("huike.test", 1)[1], data={"name": "Mei", "password": PASSWORD}
    )
    assert accepted.status_code == 302
    assert newcomer.get("/console/").status_code == 200
    assert members_of(two_tenants.a)["new@example.com"] == ("agent", "active")

    reused = app.test_client().get(link.split("huike.test", 1)[1])
    assert reused.status_code == 404
    assert "already been used" in reused.get_data(True)


def test_expired_invitation_is_refused_and_changes_nothing(client, two_tenants):
    bind_tenant(two_tenants.a.tenant.id)
    for invitation in db.scalars(select(Invitation).where(Invitation.accepted_at.is_(None))):
        invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()
    path = f"/invite/{two_tenants.a.invitation_token}"
    response = client.post(path, data={"password": PASSWORD})
    assert response.status_code == 404
    assert "has expired" in response.get_data(True)
    assert members_of(two_tenants.a)["pending-a@example.com"] == ("agent", "invited")


def test_unknown_invitation_token(client, dbsession):
    response = client.get("/invite/not-a-real-token")
    assert response.status_code == 404 and "not valid" in response.get_data(True)


def test_seat_limit_names_the_limit_and_changes_nothing(client, two_tenants):
    end_trial(two_tenants.a)  # Free: 2 seats, both taken by owner and agent
    login(client, two_tenants.a.owner)
    before = members_of(two_tenants.a)
    response = client.post(
        "/console/members/invite", data={"email": "third@example.com"}, follow_redirects=True
    )
    page = response.get_data(True)
    assert "All 2 seats of your plan are taken" in page and "upgrade to Pro" in page
    assert members_of(two_tenants.a) == before
    with cross_tenant():
        assert db.scalar(select(User).where(User.email == "third@example.com")) is None


def test_accepting_over_the_limit_is_refused(client, two_tenants):
    end_trial(two_tenants.a)  # the pending invitation was sent during the trial
    response = client.post(f"/invite/{two_tenants.a.invitation_token}", data={"password": PASSWORD})
    assert response.status_code == 400
    assert "All 2 seats of your plan are taken" in response.get_data(True)
    assert members_of(two_tenants.a)["pending-a@example.com"] == ("agent", "invited")


def test_disable_frees_a_seat_and_enable_checks_the_limit(client, two_tenants):
    a = two_tenants.a
    end_trial(a)
    login(client, a.owner)
    client.post(f"/console/members/{a.agent.id}/disable")
    assert members_of(a)["agent-a@example.com"] == ("agent", "disabled")
    assert client.get("/console/members", headers={"Accept-Language": "en"}).status_code == 200
    # the open invitation takes the freed seat; re-enabling is then over the limit
    service.accept_invitation(a.invitation_token, PASSWORD)
    db.commit()
    bind_tenant(None)
    response = client.post(f"/console/members/{a.agent.id}/enable", follow_redirects=True)
    assert "All 2 seats of your plan are taken" in response.get_data(True)
    assert members_of(a)["agent-a@example.com"] == ("agent", "disabled")


def test_admin_cannot_demote_or_disable_the_owner_or_themselves(client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    db.merge(a.agent).role = "admin"
    db.commit()
    bind_tenant(None)
    login(client, a.agent)
    before = members_of(a)
    for action, data in (("role", {"role": "agent"}), ("disable", {})):
        response = client.post(
            f"/console/members/{a.owner.id}/{action}", data=data, follow_redirects=True
        )
        assert "owner cannot be disabled or have their role changed" in response.get_data(True)
        response = client.post(
            f"/console/members/{a.agent.id}/{action}", data=data, follow_redirects=True
        )
        assert "cannot change your own role or disable yourself" in response.get_data(True)
    bad = client.post(
        f"/console/members/{a.owner.id}/role", data={"role": "owner"}, follow_redirects=True
    )
    assert bad.status_code == 200
    assert members_of(a) == before


def test_invalid_role_is_refused(client, two_tenants):
    login(client, two_tenants.a.owner)
    before = members_of(two_tenants.a)
    response = client.post(
        f"/console/members/{two_tenants.a.agent.id}/role",
        data={"role": "superuser"},
        follow_redirects=True,
    )
    assert "Choose the role admin or agent." in response.get_data(True)
    response = client.post(
        "/console/members/invite",
        data={"email": "x@example.com", "role": "owner"},
        follow_redirects=True,
    )
    assert "Choose the role admin or agent." in response.get_data(True)
    response = client.post(
        "/console/members/invite", data={"email": "not an email"}, follow_redirects=True
    )
    assert "Enter a valid e-mail address." in response.get_data(True)
    assert members_of(two_tenants.a) == before


def test_agents_cannot_manage_members(client, two_tenants):
    login(client, two_tenants.a.agent)
    assert client.get("/console/members").status_code == 403
    before = members_of(two_tenants.a)
    assert (
        client.post("/console/members/invite", data={"email": "x@example.com"}).status_code == 403
    )
    assert client.post(f"/console/members/{two_tenants.a.owner.id}/disable").status_code == 403
    assert members_of(two_tenants.a) == before


def test_one_person_in_two_shops_keeps_them_apart(client, two_tenants):
    """A session signed into shop A is not valid in shop B, though the person is in both."""
    a, b = two_tenants.a, two_tenants.b
    bind_tenant(b.tenant.id)
    member, token = service.invite(db.merge(b.owner), "agent-a@example.com")
    db.commit()  # sent, then accepted: two requests
    service.accept_invitation(token, PASSWORD)
    db.commit()
    bind_tenant(None)
    login(client, a.agent)
    page = client.get("/console/").get_data(True)
    assert "Shop a" in page and "Shop b" not in page
    with client.session_transaction() as sess:  # a forged id naming a shop they are not in
        sess["_user_id"] = f"{a.agent.user_id}:{two_tenants.b.tenant.id + 1000}:1"
    assert client.get("/console/").status_code == 302


def test_seats_in_use_counts_active_and_open_invitations(two_tenants):
    bind_tenant(two_tenants.a.tenant.id)
    assert service.seats_in_use() == 3
    assert db.scalar(select(func.count()).select_from(Membership)) == 3
    assert service.seats_in_use(now=utcnow() + timedelta(days=8)) == 2  # the invitation expired
