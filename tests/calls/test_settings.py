"""The calls settings page as a shop's admin uses it: a PBX connection whose secret is stored
encrypted, shown once and masked after; rotation; token mode; Twilio's account; numbers; the
agents' lines; turning off and deleting. Agents are refused, another shop's ids are 404, bad
input is said and changes nothing, and no secret reaches a log."""

from __future__ import annotations

import json
import logging
import re
from html import unescape

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import func, select

from app.calls import hooks, secrets
from app.calls.models import AgentLine, Call, CallConnection, CallEvent, CallNumber
from tenants.db import bind_tenant, cross_tenant, db

from ..conftest import login

SETTINGS = "/console/calls/settings"
SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fedcba9876543210" * 2


def page(answer) -> str:
    return unescape(answer.get_data(True))


def shown_secret(answer) -> str:
    found = re.search(r'<code id="new-secret"[^>]*>([^<]+)</code>', answer.get_data(True))
    assert found, "no secret on the page"
    return found.group(1)


def rows(model, shop) -> list:
    bind_tenant(shop.tenant.id)
    found = db.scalars(select(model).order_by(model.id)).all()
    bind_tenant(None)
    return found


def connection_named(shop, name: str) -> CallConnection:
    bind_tenant(shop.tenant.id)
    found = db.scalar(select(CallConnection).where(CallConnection.name == name))
    db.refresh(found)
    bind_tenant(None)
    return found


def snapshot(shop) -> dict:
    """Every calls-settings row of the shop, as stored."""
    bind_tenant(shop.tenant.id)
    state = {
        model.__tablename__: {
            repr(tuple(row))
            for row in db.execute(
                select(model.__table__).where(model.__table__.c.tenant_id == shop.tenant.id)
            )
        }
        for model in (CallConnection, CallNumber, AgentLine)
    }
    bind_tenant(None)
    return state


def hook(client, connection: CallConnection, secret: str | None, call_id: str):
    body = json.dumps({"event": "ringing", "call_id": call_id, "from": "13900000009"}).encode()
    headers = {hooks.SIGNATURE_HEADER: hooks.sign(secret, body)} if secret else {}
    return client.post(
        f"/calls/hook/{connection.token}",
        data=body,
        headers=headers,
        content_type="application/json",
    )


@pytest.fixture
def admin(client, two_tenants):
    login(client, two_tenants.a.owner)
    return two_tenants.a


def test_a_new_connection_shows_its_secret_once_then_masked(app, client, admin):
    answer = client.post(f"{SETTINGS}/generic", data={"name": "Office PBX", "signing": "signature"})
    assert answer.status_code == 200
    assert "no-store" in answer.headers["Cache-Control"]
    secret = shown_secret(answer)
    assert len(secret) >= 40
    connection = connection_named(admin, "Office PBX")
    url = f"http://huike.test/calls/hook/{connection.token}"
    assert url in page(answer) and len(connection.token) >= 32
    # stored encrypted: the column is not the secret, and decrypts to it
    assert secret not in connection.secret_enc
    assert secrets.decrypt(connection.secret_enc, app.config) == secret
    # the page from now on: the URL, the secret's last characters, never the secret
    later = page(client.get(SETTINGS))
    assert url in later and secret not in later
    assert f"••••{secret[-4:]}" in later
    # the PBX signs with the secret it was shown
    assert hook(client, connection, secret, "first").status_code == 200


def test_rotation_shows_the_new_secret_once_and_retires_the_old(app, client, admin):
    old = admin.call_secret
    base = f"{SETTINGS}/connections/{admin.call_connection.id}"
    answer = client.post(f"{base}/rotate")
    new = shown_secret(answer)
    assert new != old and "no-store" in answer.headers["Cache-Control"]
    assert "The previous secret stays accepted" in page(answer)
    later = page(client.get(SETTINGS))
    assert f"••••{new[-4:]}" in later and f"••••{old[-4:]}" in later and new not in later
    connection = connection_named(admin, admin.call_connection.name)
    assert hook(client, connection, old, "old").status_code == 200
    assert hook(client, connection, new, "new").status_code == 200
    # a third secret would drop one still live: refused until the previous is retired
    before = snapshot(admin)
    again = client.post(f"{base}/rotate", follow_redirects=True)
    assert "retire the previous one first" in page(again)
    assert snapshot(admin) == before
    retired = client.post(f"{base}/retire", follow_redirects=True)
    assert "The previous secret is retired" in page(retired)
    assert f"••••{old[-4:]}" not in page(retired)
    assert hook(client, connection, old, "old-2").status_code == 403
    assert hook(client, connection, new, "new-2").status_code == 200
    assert "no previous secret" in page(client.post(f"{base}/retire", follow_redirects=True))


def test_token_mode_warns_and_a_secret_comes_when_signing_starts(app, client, admin):
    answer = client.post(f"{SETTINGS}/generic", data={"name": "Old PBX", "signing": "token"})
    assert answer.status_code == 302  # no secret to show
    connection = connection_named(admin, "Old PBX")
    assert connection.signing == "token" and connection.secret_enc is None
    settings = page(client.get(SETTINGS))
    assert "Token mode is weaker" in settings
    assert hook(client, connection, None, "t-1").status_code == 200
    base = f"{SETTINGS}/connections/{connection.id}"
    refused = client.post(f"{base}/rotate", follow_redirects=True)
    assert "which has no secret to rotate" in page(refused)
    # to signing: a secret is made, and shown once
    signing = client.post(f"{base}/signing", data={"signing": "signature"})
    secret = shown_secret(signing)
    assert hook(client, connection, None, "t-2").status_code == 403
    assert hook(client, connection, secret, "t-3").status_code == 200
    # back to token mode and to signing again: the same secret, nothing new to show
    client.post(f"{base}/signing", data={"signing": "token"})
    again = client.post(f"{base}/signing", data={"signing": "signature"})
    assert again.status_code == 302
    assert secrets.decrypt(connection_named(admin, "Old PBX").secret_enc, app.config) == secret


def test_twilio_account_stored_encrypted_and_never_shown(app, client, admin):
    before = snapshot(admin)
    for fields, error in (
        ({"account_sid": "AC123", "auth_token": AUTH_TOKEN}, "An Account SID is AC followed by"),
        ({"account_sid": "XX" + SID[2:], "auth_token": AUTH_TOKEN}, "An Account SID is AC"),
        ({"account_sid": SID, "auth_token": ""}, "This field is required"),
        ({"account_sid": SID, "auth_token": "not-a-token"}, "An auth token is 32 characters"),
    ):
        answer = client.post(f"{SETTINGS}/twilio", data={"name": "Twilio", **fields})
        assert answer.status_code == 422
        text = page(answer)
        assert error in text and "Nothing was saved" in text
        assert AUTH_TOKEN not in text  # what was typed comes back, but never the token
        assert snapshot(admin) == before
    answer = client.post(
        f"{SETTINGS}/twilio",
        data={"name": "Twilio", "account_sid": SID, "auth_token": AUTH_TOKEN},
        follow_redirects=True,
    )
    text = page(answer)
    assert "Twilio connected" in text and SID in text
    assert AUTH_TOKEN not in text and f"••••{AUTH_TOKEN[-4:]}" in text
    twilio = connection_named(admin, "Twilio")
    assert twilio.kind == "twilio" and AUTH_TOKEN not in twilio.auth_token_enc
    assert secrets.decrypt(twilio.auth_token_enc, app.config) == AUTH_TOKEN
    # one Twilio account per shop: a second is refused, said on top of the page
    second = client.post(
        f"{SETTINGS}/twilio", data={"name": "T2", "account_sid": SID, "auth_token": AUTH_TOKEN}
    )
    assert second.status_code == 422 and "connected to Twilio already" in page(second)
    # replacing: an empty token keeps the stored one for the same account ...
    replace = f"{SETTINGS}/connections/{twilio.id}/twilio"
    client.post(replace, data={"name": "Twilio main", "account_sid": SID, "auth_token": ""})
    kept = connection_named(admin, "Twilio main")
    assert secrets.decrypt(kept.auth_token_enc, app.config) == AUTH_TOKEN
    # ... but another account needs its own token
    other_sid = "AC" + "f" * 32
    refused = client.post(replace, data={"name": "Twilio main", "account_sid": other_sid})
    assert refused.status_code == 422 and "This field is required" in page(refused)
    assert connection_named(admin, "Twilio main").account_sid == SID
    client.post(
        replace, data={"name": "Twilio main", "account_sid": other_sid, "auth_token": "a" * 32}
    )
    replaced = connection_named(admin, "Twilio main")
    assert replaced.account_sid == other_sid
    assert secrets.decrypt(replaced.auth_token_enc, app.config) == "a" * 32
    # a PBX connection has no Twilio account to replace
    generic = f"{SETTINGS}/connections/{admin.call_connection.id}/twilio"
    wrong = client.post(generic, data={"name": "X", "account_sid": SID, "auth_token": AUTH_TOKEN})
    assert wrong.status_code == 422 and "not a Twilio one" in page(wrong)


def test_numbers_are_e164_unique_and_carry_their_own_urls(app, client, admin, monkeypatch):
    client.post(
        f"{SETTINGS}/twilio", data={"name": "Twilio", "account_sid": SID, "auth_token": AUTH_TOKEN}
    )
    twilio = connection_named(admin, "Twilio")
    add = f"{SETTINGS}/connections/{twilio.id}/numbers"
    answer = client.post(
        add, data={"number": "400 800 1234", "label": "Sales", "membership_id": admin.agent.id}
    )
    assert answer.status_code == 302
    (number,) = [n for n in rows(CallNumber, admin) if n.connection_id == twilio.id]
    assert (number.e164, number.label, number.membership_id) == (
        "+864008001234",
        "Sales",
        admin.agent.id,
    )
    assert len(number.token) >= 32 and number.token != twilio.token
    text = page(client.get(SETTINGS))
    for hook_name in ("voice", "status", "recording"):
        assert f"http://huike.test/calls/twilio/{number.token}/{hook_name}" in text
    assert "Set BASE_URL" in text
    # with BASE_URL, the URLs Twilio will sign are the public ones
    monkeypatch.setitem(app.config, "BASE_URL", "https://calls.example.com")
    text = page(client.get(SETTINGS))
    assert f"https://calls.example.com/calls/twilio/{number.token}/voice" in text
    assert f"https://calls.example.com/calls/hook/{admin.call_connection.token}" in text
    assert "Set BASE_URL" not in text and "http://huike.test/calls/" not in text
    before = snapshot(admin)
    for fields, error in (
        ({"number": "+86 400-800-1234"}, "+864008001234 is one of the shop's numbers already"),
        ({"number": "12345"}, "Enter a valid phone number"),
        ({"number": ""}, "Enter a valid phone number"),
        ({"number": "+8621" + "6" * 40}, "Enter a valid phone number"),
        ({"number": "02160000001", "membership_id": "999999"}, "Choose an active member"),
        ({"number": "02160000001", "label": "x" * 81}, "Use at most 80 characters"),
    ):
        answer = client.post(add, data=fields)
        assert answer.status_code == 422, fields
        assert error in page(answer), fields
        assert snapshot(admin) == before
    # the label and the agent change; the agent must be a member of this shop
    edit = f"{SETTINGS}/numbers/{number.id}"
    client.post(edit, data={"label": "Main line", "membership_id": ""})
    assert (rows(CallNumber, admin)[-1].label, rows(CallNumber, admin)[-1].membership_id) == (
        "Main line",
        None,
    )
    foreign = client.post(edit, data={"label": "x", "membership_id": str(two_tenant_agent(admin))})
    assert foreign.status_code == 422 and "Choose an active member" in page(foreign)
    # removing asks first
    remove = f"{SETTINGS}/numbers/{number.id}/delete"
    assert "Remove the number +864008001234?" in page(client.get(remove))
    assert client.post(remove).status_code == 200  # not confirmed: asked again
    assert any(n.id == number.id for n in rows(CallNumber, admin))
    client.post(remove, data={"confirm": "yes"})
    assert not any(n.id == number.id for n in rows(CallNumber, admin))


def two_tenant_agent(shop) -> int:
    """An agent of another shop (a crafted form: the page offers only the shop's own)."""
    with cross_tenant():
        from tenants.models import Membership

        return db.scalar(
            select(Membership.id).where(
                Membership.tenant_id != shop.tenant.id, Membership.status == "active"
            )
        )


def test_agents_lines(client, admin):
    lines = f"{SETTINGS}/lines"
    answer = client.post(
        lines, data={"membership_id": admin.agent.id, "extension": "801", "phone": "139 0000 0801"}
    )
    assert answer.status_code == 302
    line = next(x for x in rows(AgentLine, admin) if x.membership_id == admin.agent.id)
    assert (line.extension, line.phone) == ("801", "+8613900000801")
    before = snapshot(admin)
    owner = admin.owner.id
    for fields, error in (
        ({"membership_id": owner, "extension": "801"}, "Another agent has the extension 801"),
        ({"membership_id": owner, "phone": "+8613900000801"}, "Another agent's line has the phone"),
        ({"membership_id": owner, "extension": "80 1"}, "An extension is up to 20"),
        ({"membership_id": owner, "phone": "555"}, "Enter a valid phone number"),
        ({"membership_id": owner, "extension": "", "phone": ""}, "Give an extension, a phone"),
        ({"membership_id": two_tenant_agent(admin), "extension": "9"}, "Choose an active member"),
        ({"membership_id": "x", "extension": "9"}, "Choose an active member"),
    ):
        answer = client.post(lines, data=fields)
        assert answer.status_code == 422, fields
        assert error in page(answer), fields
        assert snapshot(admin) == before
    # the same member saves again: its own extension is no clash
    client.post(lines, data={"membership_id": admin.agent.id, "extension": "801", "phone": ""})
    line = next(x for x in rows(AgentLine, admin) if x.membership_id == admin.agent.id)
    assert (line.extension, line.phone) == ("801", "")
    client.post(f"{SETTINGS}/lines/{line.id}/delete")
    assert not any(x.membership_id == admin.agent.id for x in rows(AgentLine, admin))


def count_of(model, shop) -> int:
    bind_tenant(shop.tenant.id)
    found = db.scalar(select(func.count()).select_from(model))
    bind_tenant(None)
    return found


def test_turning_off_and_deleting_keep_the_calls(client, admin):
    connection = admin.call_connection
    base = f"{SETTINGS}/connections/{connection.id}"
    client.post(f"{base}/disable")
    assert "Off: requests are refused" in page(client.get(SETTINGS))
    events = count_of(CallEvent, admin)
    assert hook(client, connection, admin.call_secret, "off-1").status_code == 404
    assert count_of(CallEvent, admin) == events
    client.post(f"{base}/enable")
    assert hook(client, connection, admin.call_secret, "on-1").status_code == 200
    # deleting asks first, and names the numbers that go with it
    ask = page(client.get(f"{base}/delete"))
    assert f"Delete the connection “{connection.name}”?" in ask and "+862160000000" in ask
    assert client.post(f"{base}/delete").status_code == 200
    assert count_of(CallConnection, admin) == 1
    calls = count_of(Call, admin)
    done = client.post(f"{base}/delete", data={"confirm": "yes"}, follow_redirects=True)
    assert "Its calls stay in the call log" in page(done)
    assert count_of(CallConnection, admin) == count_of(CallNumber, admin) == 0
    assert count_of(CallEvent, admin) == 0
    assert count_of(Call, admin) == calls  # the call log keeps them, with no connection
    bind_tenant(admin.tenant.id)
    assert db.scalar(select(Call.connection_id).where(Call.id == admin.call.id)) is None
    assert hook(client, connection, admin.call_secret, "gone").status_code == 404


def settings_routes(app):
    """Every rule of the settings page, from the url_map."""
    return [r for r in app.url_map.iter_rules() if r.rule.startswith(SETTINGS)]


def urls_of(app, shop):
    ids = {
        "connection_id": shop.call_connection.id,
        "number_id": shop.call_number.id,
        "line_id": shop.agent_line.id,
    }
    with app.test_request_context():
        from flask import url_for

        for rule in settings_routes(app):
            url = url_for(rule.endpoint, **{arg: ids[arg] for arg in rule.arguments})
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, url


def test_agents_are_refused_every_settings_route(app, client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    before = snapshot(a)
    walked = list(urls_of(app, a))
    assert len(walked) >= 15
    for method, url in walked:
        answer = client.open(url, method=method, data={"name": "x", "signing": "token"})
        assert answer.status_code == 403, f"{method} {url}"
    assert snapshot(a) == before
    assert "Phone settings" not in page(client.get("/console/"))
    login(client, a.owner)
    assert "Phone settings" in page(client.get("/console/"))


def test_another_shops_ids_are_404_and_change_nothing(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    login(client, b.owner)
    before = snapshot(a)
    for method, url in urls_of(app, a):
        if not re.search(r"/\d+(/|$)", url):
            continue  # no id: B's own page
        answer = client.open(
            url,
            method=method,
            data={"confirm": "yes", "signing": "token", "label": "x", "number": "02160000009"},
        )
        assert answer.status_code == 404, f"{method} {url}"
    assert snapshot(a) == before
    # the page lists B's own connection only
    text = page(client.get(SETTINGS))
    assert b.call_connection.token in text and a.call_connection.token not in text


def test_no_secret_reaches_a_log(app, client, admin, caplog):
    caplog.set_level(logging.DEBUG)
    made = client.post(f"{SETTINGS}/generic", data={"name": "Logged PBX", "signing": "signature"})
    secret = shown_secret(made)
    rotated = shown_secret(client.post(f"{SETTINGS}/connections/{admin.call_connection.id}/rotate"))
    client.post(
        f"{SETTINGS}/twilio", data={"name": "Twilio", "account_sid": SID, "auth_token": AUTH_TOKEN}
    )
    client.post(f"{SETTINGS}/twilio", data={"name": "T", "account_sid": SID, "auth_token": "bad"})
    connection = connection_named(admin, "Logged PBX")
    assert hook(client, connection, secret, "ok").status_code == 200
    assert hook(client, connection, "forged", "bad").status_code == 403
    # the refusal was logged (the capture works), and no secret in any record
    assert "signature_invalid" in caplog.text
    for value in (secret, rotated, AUTH_TOKEN, admin.call_secret):
        assert value not in caplog.text


def test_a_new_encryption_key_and_the_command_that_moves_every_secret_to_it(
    app, client, two_tenants, monkeypatch
):
    """A try-out's secrets (the key derived from SECRET_KEY) still read once ENCRYPTION_KEYS is
    set; ``huike reencrypt-secrets`` moves them to the newest key, so an old key can go."""
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    a = two_tenants.a

    def stored() -> list[str]:
        with cross_tenant():
            found = db.scalars(select(CallConnection.secret_enc)).all()
        db.remove()
        return [value for value in found if value]

    runner = app.test_cli_runner()
    for keys, newest, dropped in (([first], first, None), ([second, first], second, first)):
        monkeypatch.setitem(app.config, "ENCRYPTION_KEYS", keys)
        result = runner.invoke(args=["huike", "reencrypt-secrets"])
        assert result.exit_code == 0, result.output
        assert f"{len(stored())} secrets encrypted with the newest key." in result.output
        for value in stored():
            Fernet(newest).decrypt(value.encode())  # raises unless the newest key made it
            if dropped:
                with pytest.raises(InvalidToken):
                    Fernet(dropped).decrypt(value.encode())
        # the PBX's secret is the same one, and still verifies
        assert (
            hook(client, a.call_connection, a.call_secret, f"key-{newest[:4]}").status_code == 200
        )
    monkeypatch.setitem(app.config, "ENCRYPTION_KEYS", [second])  # the old key dropped
    login(client, a.owner)
    assert f"••••{a.call_secret[-4:]}" in page(client.get(SETTINGS))
