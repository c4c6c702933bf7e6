"""A person's profile: name, language, password and e-mail switches; and the name visitors
see of a person who has not set one."""

import pytest

from app.chat.service import agent_names, agents_summary
from tenants import service
from tenants.db import bind_tenant, db
from tenants.models import Membership

from ..conftest import PASSWORD, login
from .test_chat_socket import agent_socket, events, hello, visitor_socket

GOOD = {
    "profile-name": "Zhang Wei",
    "profile-locale": "en",
    "profile-notify_left_messages": "y",
}


def _member(shop, which="agent") -> Membership:
    bind_tenant(shop.tenant.id)
    member = db.get(Membership, getattr(shop, which).id)
    db.refresh(member)
    db.refresh(member.user)
    return member


def test_the_console_links_the_profile_and_it_shows_what_is_set(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    console = client.get("/console/").get_data(True)
    assert 'href="/profile"' in console
    page = client.get("/profile").get_data(True)
    assert 'value="Agent a"' in page and "agent-a@example.com" in page
    assert page.count('type="checkbox"') == 2 and page.count("checked") == 2


def test_name_language_and_switches_are_saved(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    response = client.post("/profile", data=GOOD)
    assert response.status_code == 302
    member = _member(a)
    assert (member.user.name, member.user.locale) == ("Zhang Wei", "en")
    assert (member.notify_left_messages, member.notify_missed_chats) == (True, False)
    bind_tenant(None)
    client.post("/profile", data={**GOOD, "profile-locale": "zh_CN"})
    assert "个人资料已保存。" in client.get("/profile").get_data(True)  # the console's language
    assert _member(a).user.locale == "zh_CN"
    bind_tenant(None)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("profile-name", "x" * 121, "120"),
        ("profile-locale", "fr", "Choose a language from the list."),
    ],
)
def test_bad_profile_input_is_refused_clearly_and_changes_nothing(
    client, two_tenants, field, value, message
):
    a = two_tenants.a
    before = _member(a).user.locale
    bind_tenant(None)
    login(client, a.agent)
    response = client.post("/profile", data={**GOOD, field: value})
    assert response.status_code == 400
    assert message in response.get_data(True)
    member = _member(a)
    assert (member.user.name, member.user.locale) == ("Agent a", before)
    assert member.notify_missed_chats is True
    bind_tenant(None)


def test_the_password_changes_with_the_current_one_only(app, client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    for data, message in [
        (
            {"current": "wrong-password-1", "password": "new-horse-77", "confirm": "new-horse-77"},
            "Your current password is not right.",
        ),
        ({"current": PASSWORD, "password": "short", "confirm": "short"}, "at least"),
        (
            {"current": PASSWORD, "password": "new-horse-77", "confirm": "new-horse-78"},
            "The two passwords differ.",
        ),
        (
            {"current": "", "password": "new-horse-77", "confirm": "new-horse-77"},
            "This field is required.",
        ),
    ]:
        response = client.post(
            "/profile/password", data={f"password-{k}": v for k, v in data.items()}
        )
        assert response.status_code == 400 and message in response.get_data(True), message
    bind_tenant(None)
    assert service.authenticate("agent-a@example.com", PASSWORD)  # unchanged
    other = app.test_client()
    login(other, a.agent)  # another session of theirs
    good = {
        "password-current": PASSWORD,
        "password-password": "new-horse-77",
        "password-confirm": "new-horse-77",
    }
    assert client.post("/profile/password", data=good).status_code == 302
    bind_tenant(None)
    assert service.authenticate("agent-a@example.com", "new-horse-77")
    assert client.get("/profile").status_code == 200  # this session goes on
    assert other.get("/profile").status_code == 302  # the other one has ended


def test_the_profile_needs_a_login(client, two_tenants):
    assert client.get("/profile").status_code == 302
    assert client.post("/profile", data=GOOD).status_code == 302


def test_a_profile_change_touches_only_the_signed_in_person(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    login(client, b.agent)
    client.post("/profile", data={**GOOD, "profile-name": "B only"})
    assert _member(a).user.name == "Agent a" and _member(a).notify_missed_chats is True
    assert _member(b).user.name == "B only"
    bind_tenant(None)


def test_a_person_without_a_name_is_the_shops_stand_in_never_their_email(app, client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    owner = db.get(Membership, a.owner.id)
    owner.user.name = ""
    db.commit()
    with app.app_context():
        assert agent_names()[a.owner.id] == "客服1"  # the shop's language (zh_CN)
        assert "owner-a" not in str(agents_summary())
    bind_tenant(None)
    agent = agent_socket(app, client, a.owner)
    taken = events(agent, "/agent", "conversation")[-1]
    assert taken["agent_name"] == "客服1"
    visitor = visitor_socket(app, a, hello(app.test_client(), a)["t"])
    visitor.emit("message", {"client_id": "x", "text": "hi"}, namespace="/visitor", callback=True)
    seen = [e for e in visitor.get_received("/visitor") if e["name"] == "conversation"]
    assert seen and all("owner-a" not in str(e["args"]) for e in seen)
    assert "客服1" in str(seen[-1]["args"])
