"""The generic call webhook (``POST /calls/hook/<token>``) as a PBX meets it: a good signature
records the call; every bad request is refused with its status and error code and records
NOTHING, in the shop or in any other; two live secrets while a shop rotates; token mode; a
Zammad-style form body; a locked (Free) shop's calls still recorded."""

from __future__ import annotations

import json
import os
import subprocess
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from app.calls import connections, hooks, secrets
from app.calls.models import AgentLine, Call, CallConnection, CallEvent
from tenants.db import bind_tenant, cross_tenant, db, utcnow

from ..conftest import set_tenant

RINGING = {
    "event": "ringing",
    "call_id": "g-1",
    "from": "13900000002",
    "to": "+862160000000",
    "direction": "in",
}


def counts() -> tuple[int, int]:
    """Every shop's stored events and calls: a refused request adds to none of them."""
    with cross_tenant():
        return (
            db.scalar(select(func.count()).select_from(CallEvent)),
            db.scalar(select(func.count()).select_from(Call)),
        )


def send(client, token: str, body: bytes, headers: dict | None = None, content_type=None):
    return client.post(
        f"/calls/hook/{token}",
        data=body,
        headers=headers or {},
        content_type=content_type or "application/json",
    )


def signed(secret: str, body: bytes, at: int | None = None) -> dict:
    return {hooks.SIGNATURE_HEADER: hooks.sign(secret, body, at)}


def post_event(client, shop, event: dict, secret: str | None = None):
    body = json.dumps(event).encode()
    return send(client, shop.call_connection.token, body, signed(secret or shop.call_secret, body))


@contextmanager
def as_shop(app, shop):
    """The shop's own code at work (the settings page's rules), committed at the end."""
    with app.app_context():
        bind_tenant(shop.tenant.id)
        yield db.get(CallConnection, shop.call_connection.id)
        db.commit()


def call_of(shop, ref: str) -> Call | None:
    bind_tenant(shop.tenant.id)
    return db.scalar(select(Call).where(Call.call_ref == ref))


def test_a_good_signature_records_the_call(client, two_tenants):
    a = two_tenants.a
    events, calls = counts()
    answer = post_event(client, a, RINGING)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] == "ringing"
    assert counts() == (events + 1, calls + 1)
    call = call_of(a, "g-1")
    assert (call.from_number, call.to_number, call.direction) == (
        "+8613900000002",
        "+862160000000",
        "in",
    )
    # the same event again (a provider's retry): accepted, nothing new
    again = post_event(client, a, RINGING)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert counts() == (events + 1, calls + 1)


def _bad_requests(shop, other):
    """(what, token, body, headers, content type, status, error) of each refused request."""
    token, secret = shop.call_connection.token, shop.call_secret
    body = json.dumps(RINGING).encode()
    now = int(time.time())

    def event(**fields) -> bytes:
        return json.dumps({**RINGING, **fields}).encode()

    def sig(raw: bytes, **kwargs) -> dict:
        return signed(secret, raw, **kwargs)

    no_id = {k: v for k, v in RINGING.items() if k != "call_id"}
    return [
        ("missing header", token, body, {}, None, 403, "signature_missing"),
        (
            "header without v1",
            token,
            body,
            {hooks.SIGNATURE_HEADER: f"t={now}"},
            None,
            403,
            "signature_missing",
        ),
        (
            "timestamp not a number",
            token,
            body,
            {hooks.SIGNATURE_HEADER: "t=²,v1=00"},
            None,
            403,
            "signature_missing",
        ),
        (
            "timestamp too long",
            token,
            body,
            {hooks.SIGNATURE_HEADER: f"t={'9' * 5000},v1=00"},
            None,
            403,
            "signature_missing",
        ),
        (
            "wrong secret",
            token,
            body,
            signed("not-the-secret", body),
            None,
            403,
            "signature_invalid",
        ),
        (
            "signature not hex",
            token,
            body,
            {hooks.SIGNATURE_HEADER: f"t={now},v1=é"},
            None,
            403,
            "signature_invalid",
        ),
        (
            "another body than signed",
            token,
            event(call_id="g-2"),
            sig(body),
            None,
            403,
            "signature_invalid",
        ),
        ("stale timestamp", token, body, sig(body, at=now - 301), None, 403, "signature_expired"),
        ("future timestamp", token, body, sig(body, at=now + 301), None, 403, "signature_expired"),
        (
            "malformed JSON",
            token,
            b'{"event": "ringing",',
            sig(b'{"event": "ringing",'),
            None,
            400,
            "invalid_json",
        ),
        ("a JSON list", token, b"[1, 2]", sig(b"[1, 2]"), None, 400, "invalid_json"),
        (
            "unknown event",
            token,
            event(event="transfer"),
            sig(event(event="transfer")),
            None,
            400,
            "unknown_event",
        ),
        ("no event", token, event(event=""), sig(event(event="")), None, 400, "unknown_event"),
        (
            "missing call_id",
            token,
            json.dumps(no_id).encode(),
            sig(json.dumps(no_id).encode()),
            None,
            400,
            "call_id_invalid",
        ),
        (
            "call_id too long",
            token,
            event(call_id="x" * 129),
            sig(event(call_id="x" * 129)),
            None,
            400,
            "call_id_invalid",
        ),
        (
            "bad direction",
            token,
            event(direction="up"),
            sig(event(direction="up")),
            None,
            400,
            "direction_invalid",
        ),
        (
            "bad duration",
            token,
            event(duration="²"),
            sig(event(duration="²")),
            None,
            400,
            "duration_invalid",
        ),
        (
            "huge duration",
            token,
            event(duration="9" * 12),
            sig(event(duration="9" * 12)),
            None,
            400,
            "duration_invalid",
        ),
        (
            "bad timestamp",
            token,
            event(timestamp="soon"),
            sig(event(timestamp="soon")),
            None,
            400,
            "timestamp_invalid",
        ),
        (
            "recording not http",
            token,
            event(recording_url="javascript:alert(1)"),
            sig(event(recording_url="javascript:alert(1)")),
            None,
            400,
            "recording_url_invalid",
        ),
        (
            "NUL in call_id",
            token,
            event(call_id="a\x00b"),
            sig(event(call_id="a\x00b")),
            None,
            400,
            "text_invalid",
        ),
        ("unknown token", "not-a-token", body, sig(body), None, 404, "not_found"),
        # shop B's own URL with shop A's secret, and A's URL with B's secret
        (
            "another shop's secret",
            token,
            body,
            signed(other.call_secret, body),
            None,
            403,
            "signature_invalid",
        ),
        (
            "this shop's secret on another shop's URL",
            other.call_connection.token,
            body,
            sig(body),
            None,
            403,
            "signature_invalid",
        ),
    ]


def test_every_bad_request_is_refused_and_records_nothing(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    before = counts()
    for what, token, body, headers, content_type, status, error in _bad_requests(a, b):
        answer = send(client, token, body, headers, content_type)
        assert (answer.status_code, (answer.get_json() or {}).get("error")) == (status, error), what
        assert counts() == before, what
    # the control: the same request, well signed, a moment inside the tolerance, is recorded
    body = json.dumps(RINGING).encode()
    at = int(time.time()) - 290
    assert (
        send(client, a.call_connection.token, body, signed(a.call_secret, body, at)).status_code
        == 200
    )
    assert counts() == (before[0] + 1, before[1] + 1)


def test_a_disabled_or_twilio_connection_answers_404(app, client, two_tenants):
    a = two_tenants.a
    with as_shop(app, a) as connection:
        connections.set_enabled(connection, False)
        twilio = connections.save_twilio(None, "Twilio", "AC" + "1" * 32, "2" * 32)
    before = counts()
    body = json.dumps(RINGING).encode()
    for token in (a.call_connection.token, twilio.token):
        answer = send(client, token, body, signed(a.call_secret, body))
        assert (answer.status_code, answer.get_json()["error"]) == (404, "not_found")
    assert counts() == before
    with as_shop(app, a) as connection:
        connections.set_enabled(connection, True)
    answer = send(client, a.call_connection.token, body, signed(a.call_secret, body))
    assert answer.status_code == 200


def test_rotation_keeps_two_secrets_live_until_the_old_is_retired(app, client, two_tenants):
    a = two_tenants.a
    old = a.call_secret
    with as_shop(app, a) as connection:
        new = connections.rotate_secret(connection)
    assert new != old
    for n, secret in enumerate((old, new)):
        answer = post_event(client, a, {**RINGING, "call_id": f"r-{n}"}, secret=secret)
        assert answer.status_code == 200, secret
    with as_shop(app, a) as connection:
        connections.retire_previous(connection)
    before = counts()
    refused = post_event(client, a, {**RINGING, "call_id": "r-old"}, secret=old)
    assert (refused.status_code, refused.get_json()["error"]) == (403, "signature_invalid")
    assert counts() == before
    assert post_event(client, a, {**RINGING, "call_id": "r-new"}, secret=new).status_code == 200
    with as_shop(app, a) as connection:
        assert secrets.decrypt(connection.secret_enc) == new


def test_token_mode_needs_no_header_and_ignores_one(app, client, two_tenants):
    a = two_tenants.a
    with as_shop(app, a) as connection:
        connections.set_signing(connection, "token")
    token = a.call_connection.token
    body = json.dumps(RINGING).encode()
    assert send(client, token, body).status_code == 200
    junk = {hooks.SIGNATURE_HEADER: "t=1,v1=forged"}
    answer = send(client, token, json.dumps({**RINGING, "call_id": "g-2"}).encode(), junk)
    assert answer.status_code == 200
    assert call_of(a, "g-2").status == "ringing"
    # the token is still the whole check: another token is not found
    assert send(client, token[:-1] + "x", body).status_code == 404


def test_a_zammad_style_form_body(client, two_tenants):
    """Zammad's generic CTI and sipgate post forms: event=newCall&callId=…&user=…"""
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    db.add(AgentLine(membership_id=a.agent.id, extension="801"))
    db.commit()
    token, start = a.call_connection.token, int(time.time()) - 60
    steps = [
        {
            "event": "newCall",
            "callId": "z-1",
            "from": "13900000003",
            "to": "02160000000",
            "direction": "in",
            "user": "801",
            "timestamp": str(start),
        },
        {"event": "answer", "callId": "z-1", "user": "801", "timestamp": str(start + 5)},
        {
            "event": "hangup",
            "callId": "z-1",
            "cause": "normalClearing",
            "timestamp": str(start + 50),
        },
    ]
    for fields in steps:
        body = urlencode(fields).encode()
        answer = send(
            client, token, body, signed(a.call_secret, body), "application/x-www-form-urlencoded"
        )
        assert answer.status_code == 200, answer.get_json()
    call = call_of(a, "z-1")
    assert (call.status, call.from_number, call.to_number, call.agent_id, call.duration) == (
        "ended",
        "+8613900000003",
        "+862160000000",
        a.agent.id,
        45,
    )
    assert call.cause == "normalClearing"


def test_json_sent_without_its_content_type_is_read(client, two_tenants):
    """A PBX's HTTP client (Asterisk's CURL(), a shell script) may not set Content-Type."""
    a = two_tenants.a
    body = json.dumps({**RINGING, "call_id": "plain-1"}).encode()
    answer = send(client, a.call_connection.token, body, signed(a.call_secret, body), "text/plain")
    assert answer.status_code == 200, answer.get_json()
    assert call_of(a, "plain-1").status == "ringing"
    nul = json.dumps({**RINGING, "call_id": "plain\x002"}).encode()
    before = counts()
    refused = send(client, a.call_connection.token, nul, signed(a.call_secret, nul), "text/plain")
    assert (refused.status_code, refused.get_json()["error"]) == (400, "text_invalid")
    assert counts() == before


def test_a_free_shops_hook_still_records(client, two_tenants):
    a = two_tenants.a
    set_tenant(a, trial_ends_at=utcnow() - timedelta(seconds=1))
    answer = post_event(client, a, {**RINGING, "call_id": "free-1"})
    assert answer.status_code == 200
    assert call_of(a, "free-1").status == "ringing"


@pytest.mark.parametrize("header", ["", "t=1", "v1=abc"])
def test_the_signature_check_alone(header):
    with pytest.raises(hooks.BadEvent) as refused:
        hooks.verify(header, b"{}", ["secret"])
    assert refused.value.code == "signature_missing"
    now = 1_800_000_000
    good = hooks.sign("secret", b"{}", now)
    hooks.verify(good, b"{}", ["old", "secret"], now=now + 300)  # the edge of the tolerance
    with pytest.raises(hooks.BadEvent):
        hooks.verify(good, b"{}", ["secret"], now=now + 301)


def test_the_documented_openssl_command_makes_the_signature():
    """docs/calls.md's shell recipe, run as written, signs as Huike checks."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "calls.md").read_text()
    (line,) = [x for x in docs.splitlines() if x.startswith("SIG=$(") and "openssl dgst" in x]
    body, at, secret = '{"event":"ringing","call_id":"doc-1"}', 1_800_000_000, "s3cret-é"
    made = subprocess.run(
        ["bash", "-c", f'{line}\nprintf %s "$SIG"'],
        env={"PATH": os.environ["PATH"], "T": str(at), "BODY": body, "SECRET": secret},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"t={at},v1={made}" == hooks.sign(secret, body.encode(), at)
