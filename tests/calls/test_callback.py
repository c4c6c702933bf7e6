"""The widget's free callback: the offer, each refusal (nothing stored), the request stored and
acted on by a job — a callback task without Twilio, else the real ``twilio`` client's
``Calls.create`` against a local stand-in — the bridge TwiML, the legs that go unanswered,
another shop's keys and ids, Free, and the settings page."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from app.calls import callbacks, records
from app.calls import secrets as call_secrets
from app.calls.models import (
    AgentLine,
    Call,
    CallbackRequest,
    CallConnection,
    CallNumber,
    Task,
)
from app.chat import service as chat
from app.chat.models import Visitor
from tenants.db import bind_tenant, db, utcnow
from tenants.jobs import wait_for_jobs

from ..app.test_features import locked, on_free
from ..conftest import login
from .twilio_fake import FakeTwilio

ORIGIN = "https://tea-shop.example"
BASE_URL = "https://huike.example"
VISITOR_PHONE = "+8613912345678"
AGENT_PHONE = "+8613700000001"
SHOP_NUMBER = "+862150000000"
ACCOUNT_SID = "AC" + "1" * 32


@pytest.fixture
def fake_twilio(app, monkeypatch):
    fake = FakeTwilio()
    monkeypatch.setitem(app.config, "TWILIO_API_BASE", fake.url)
    monkeypatch.setitem(app.config, "BASE_URL", BASE_URL)
    yield fake
    fake.stop()


def in_shop(shop):
    bind_tenant(shop.tenant.id)
    return shop


def fresh(model, ident):
    """The row as stored now (the app's requests and jobs changed it meanwhile)."""
    return db.get(model, ident, populate_existing=True)


def enable(shop, **fields) -> None:
    in_shop(shop)
    shop_settings = callbacks.settings()
    shop_settings.callback_enabled = True
    for name, value in fields.items():
        setattr(shop_settings, name, value)
    db.commit()
    bind_tenant(None)


def visitor_token(client, shop) -> str:
    answer = client.post(
        "/w/api/hello",
        json={"k": shop.tenant.site_key, "url": f"{ORIGIN}/tea", "lang": "en"},
        headers={"Origin": ORIGIN},
    )
    assert answer.status_code == 200
    return answer.get_json()["t"]


def ask(client, shop, token, ip="198.51.100.7", **fields):
    body = {
        "k": shop.tenant.site_key,
        "t": token,
        "phone": VISITOR_PHONE,
        "consent": True,
        "url": f"{ORIGIN}/tea/longjing",
        "lang": "en",
        **fields,
    }
    return client.post(
        "/w/api/callback",
        json=body,
        headers={"Origin": ORIGIN},
        environ_base={"REMOTE_ADDR": ip},
    )


def requests_of(shop) -> list[CallbackRequest]:
    in_shop(shop)
    query = select(CallbackRequest).order_by(CallbackRequest.id)
    found = db.scalars(query.execution_options(populate_existing=True)).all()
    bind_tenant(None)
    return list(found)


def task_for(shop, callback_id: int) -> Task | None:
    in_shop(shop)
    return db.scalar(select(Task).where(Task.source_key == f"callback:{callback_id}"))


def twilio_number(app, shop, auth_token: str) -> SimpleNamespace:
    """A Twilio connection and number of the shop's, chosen for callbacks."""
    in_shop(shop)
    connection = CallConnection(
        kind="twilio",
        name="Twilio",
        token=uuid.uuid4().hex,
        account_sid=ACCOUNT_SID,
        auth_token_enc=call_secrets.encrypt(auth_token, app.config),
    )
    db.add(connection)
    db.flush()
    number = CallNumber(connection_id=connection.id, e164=SHOP_NUMBER, token=uuid.uuid4().hex)
    db.add(number)
    db.flush()
    callbacks.settings().callback_number_id = number.id
    db.commit()
    # its values: the app's requests end the test's session, and the row with it
    return SimpleNamespace(id=number.id, token=number.token, connection_id=connection.id)


def agent_online_with_phone(shop, member, phone: str = AGENT_PHONE) -> None:
    in_shop(shop)
    state = chat.agent_state(member.id)
    state.status, state.connections, state.seen_at = "online", 1, utcnow()
    line = db.scalar(select(AgentLine).where(AgentLine.membership_id == member.id))
    if line is None:  # the fixture gives the owner a line already
        line = AgentLine(membership_id=member.id)
        db.add(line)
    line.phone = phone
    db.commit()


def twilio_post(client, url: str, auth_token: str, params: dict):
    signature = RequestValidator(auth_token).compute_signature(f"{BASE_URL}{url}", params)
    return client.post(url, data=params, headers={"X-Twilio-Signature": signature})


# --- the offer -----------------------------------------------------------------------------


def test_the_panel_learns_what_the_shop_offers(client, two_tenants):
    a = two_tenants.a
    token = visitor_token(client, a)
    off = client.get(f"/w/api/callback?k={a.tenant.site_key}&t={token}&lang=en")
    assert off.status_code == 200 and off.get_json() == {"enabled": False}
    enable(a, callback_countries=["CN", "HK"])
    offer = client.get(
        f"/w/api/callback?k={a.tenant.site_key}&t={token}&lang=en", headers={"Origin": ORIGIN}
    )
    assert offer.headers["Access-Control-Allow-Origin"] == ORIGIN
    body = offer.get_json()
    assert body["enabled"] is True
    assert body["countries"] == [
        {"code": "CN", "name": "China"},
        {"code": "HK", "name": body["countries"][1]["name"]},
    ]
    assert "Hong Kong" in body["countries"][1]["name"]
    assert body["consent"].startswith("I agree that this shop calls me back")
    assert body["hours"] == ""  # no schedule: always open
    zh = client.get(f"/w/api/callback?k={a.tenant.site_key}&lang=zh-CN").get_json()
    assert zh["countries"][0]["name"] == "中国" and "同意" in zh["consent"]
    local_now = datetime.now(ZoneInfo(a.tenant.timezone)).replace(tzinfo=None)
    assert abs(datetime.fromisoformat(body["min"]) - local_now) < timedelta(minutes=2)
    assert datetime.fromisoformat(body["max"]) - datetime.fromisoformat(body["min"]) == timedelta(
        days=callbacks.MAX_DAYS_AHEAD
    )


def test_free_shops_get_the_locked_answer_and_nothing_is_stored(client, two_tenants):
    a = two_tenants.a
    enable(a)
    token = visitor_token(client, a)
    before = len(requests_of(a))
    on_free(a)
    offer = client.get(f"/w/api/callback?k={a.tenant.site_key}&t={token}")
    asked = ask(client, a, token)
    for answer in (offer, asked):
        assert answer.status_code == 402
        assert answer.get_json() == locked("calls")
    assert len(requests_of(a)) == before


# --- a request without Twilio: a task ------------------------------------------------------


def test_a_request_is_stored_linked_to_the_customer_and_becomes_a_task(client, two_tenants):
    a = two_tenants.a
    enable(a, callback_minutes=20)
    token = visitor_token(client, a)
    answer = ask(client, a, token)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["message"] == "Thank you! We will call you within 20 minutes."
    (callback,) = [r for r in requests_of(a) if r.phone == VISITOR_PHONE]
    assert (callback.ip, callback.page_url) == ("198.51.100.7", f"{ORIGIN}/tea/longjing")
    assert callback.consent.startswith("I agree that this shop calls me back")
    assert callback.preferred_at is None and callback.status == "queued"
    in_shop(a)
    visitor = db.get(Visitor, callback.visitor_id)
    assert visitor.customer_id is not None  # the CRM knows the visitor by this phone now
    wait_for_jobs()
    task = task_for(a, callback.id)
    assert (task.kind, task.phone, task.callback_id) == ("callback", VISITOR_PHONE, callback.id)
    assert task.customer_id == visitor.customer_id
    assert abs(task.due_at - utcnow()) < timedelta(minutes=1)
    assert fresh(CallbackRequest, callback.id).status == "task"


def test_a_later_time_is_a_task_due_then(app, client, two_tenants, fake_twilio):
    a = two_tenants.a
    enable(a)
    twilio_number(app, a, "auth-a")
    agent_online_with_phone(a, a.agent)
    token = visitor_token(client, a)
    zone = ZoneInfo(a.tenant.timezone)
    at = (datetime.now(zone) + timedelta(days=2)).replace(
        hour=10, minute=30, second=0, microsecond=0
    )
    answer = ask(client, a, token, at=at.strftime("%Y-%m-%dT%H:%M"))
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["message"].startswith("Thank you! We will call you at ")
    assert "10:30" in answer.get_json()["message"]
    wait_for_jobs()
    (callback,) = [r for r in requests_of(a) if r.phone == VISITOR_PHONE]
    assert task_for(a, callback.id).due_at == at.astimezone(UTC)
    assert fake_twilio.calls_created() == []  # the agent is not rung for a call in two days


def test_out_of_hours_the_visitor_is_told_when_we_open(client, two_tenants):
    a = two_tenants.a
    enable(a)
    in_shop(a)
    zone = ZoneInfo(a.tenant.timezone)
    tomorrow = datetime.now(zone) + timedelta(days=1)
    day = chat.WEEKDAYS[tomorrow.weekday()]
    chat.settings().schedule = {day: [["09:00", "18:00"]]}  # open tomorrow only
    db.commit()
    token = visitor_token(client, a)
    answer = ask(client, a, token)
    message = answer.get_json()["message"]
    assert message.startswith("Thank you! We are closed now: we will call you when we open, ")
    assert "9:00" in message
    wait_for_jobs()
    (callback,) = [r for r in requests_of(a) if r.phone == VISITOR_PHONE]
    opens = datetime.combine(tomorrow.date(), datetime.min.time(), zone).replace(hour=9)
    assert task_for(a, callback.id).due_at == opens.astimezone(UTC)
    offer = client.get(f"/w/api/callback?k={a.tenant.site_key}&lang=en").get_json()
    assert offer["hours"].endswith(" 09:00–18:00") and ";" not in offer["hours"]


# --- refusals: a clear message, nothing stored ---------------------------------------------


def example(region: str, kind) -> str:
    number = phonenumbers.example_number_for_type(region, kind)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@pytest.mark.parametrize(
    ("fields", "error", "field", "words"),
    [
        ({"phone": "12345"}, "callback_phone_invalid", "phone", "Enter a valid phone number"),
        ({"phone": "not a number"}, "callback_phone_invalid", "phone", "valid phone number"),
        ({"phone": "+14155550123"}, "callback_country", "phone", "only call numbers in China"),
        (
            {"phone": example("CN", phonenumbers.PhoneNumberType.PREMIUM_RATE)},
            "callback_number_type",
            "phone",
            "premium-rate",
        ),
        (
            {"phone": example("CN", phonenumbers.PhoneNumberType.SHARED_COST)},
            "callback_number_type",
            "phone",
            "shared-cost",
        ),
        ({"consent": False}, "callback_consent", "consent", "Tick the box"),
        ({"consent": "yes"}, "callback_consent", "consent", "Tick the box"),
        ({"at": "tomorrow"}, "callback_time_invalid", "at", "from now to 7 days ahead"),
        ({"at": "2020-01-01T10:00"}, "callback_time_invalid", "at", "7 days ahead"),
        ({"at": "2099-01-01T10:00"}, "callback_time_invalid", "at", "7 days ahead"),
    ],
)
def test_each_refusal_says_why_and_stores_nothing(client, two_tenants, fields, error, field, words):
    a = two_tenants.a
    enable(a)
    token = visitor_token(client, a)
    before = len(requests_of(a))
    answer = ask(client, a, token, **fields)
    assert answer.status_code == 400
    body = answer.get_json()
    assert (body["error"], body["field"]) == (error, field)
    assert words in body["message"]
    assert len(requests_of(a)) == before
    wait_for_jobs()
    in_shop(a)
    assert (
        db.scalar(select(func.count()).select_from(Task).where(Task.callback_id.is_not(None))) == 0
    )


def test_refusals_speak_the_visitors_language(client, two_tenants):
    a = two_tenants.a
    enable(a)
    answer = ask(client, a, visitor_token(client, a), consent=False, lang="zh-CN")
    assert answer.get_json()["message"] == "请勾选同意接听回电。"


def test_a_shop_with_callbacks_off_refuses(client, two_tenants):
    a = two_tenants.a
    answer = ask(client, a, visitor_token(client, a))
    assert answer.status_code == 400 and answer.get_json()["error"] == "callback_off"
    assert [r for r in requests_of(a) if r.phone == VISITOR_PHONE] == []


def test_a_number_in_another_allowed_country(client, two_tenants):
    a = two_tenants.a
    enable(a, callback_countries=["CN", "HK"])
    token = visitor_token(client, a)
    answer = ask(client, a, token, phone="9123 4567", country="HK")
    assert answer.status_code == 201, answer.get_json()
    assert requests_of(a)[-1].phone == "+85291234567"


def test_daily_limits_per_visitor_address_and_number(client, two_tenants):
    a = two_tenants.a
    enable(a, per_visitor_daily=2, per_ip_daily=3, per_phone_daily=2)
    first = visitor_token(client, a)
    assert ask(client, a, first).status_code == 201
    assert ask(client, a, first, phone="+8613912345679").status_code == 201
    refused = ask(client, a, first, phone="+8613912345670")
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "callback_visitor_limit"
    assert "You have asked for 2 callbacks today" in refused.get_json()["message"]
    # another visitor of the same address: one more, then the address is refused
    second = visitor_token(client, a)
    assert ask(client, a, second, phone="+8613912345671").status_code == 201
    refused = ask(client, a, second, phone="+8613912345672")
    assert refused.get_json()["error"] == "callback_ip_limit"
    # a third visitor elsewhere: the first number once more, then that number had its two
    third = visitor_token(client, a)
    assert ask(client, a, third, ip="203.0.113.9").status_code == 201
    refused = ask(client, a, third, ip="203.0.113.9")
    assert (refused.get_json()["error"], refused.get_json()["field"]) == (
        "callback_phone_limit",
        "phone",
    )
    assert ask(client, a, third, ip="203.0.113.9", phone="+8613912345673").status_code == 201
    assert len([r for r in requests_of(a) if r.ip != "192.0.2.1"]) == 5


# --- another shop's keys -----------------------------------------------------------------


def test_another_shops_visitor_token_is_refused(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    enable(a)
    enable(b)
    token_b = visitor_token(client, b)
    before_a, before_b = len(requests_of(a)), len(requests_of(b))
    answer = ask(client, a, token_b)  # A's site key, B's visitor
    assert answer.status_code == 401 and answer.get_json()["error"] == "unauthorized"
    unknown = client.post("/w/api/callback", json={"k": "nope", "t": token_b, "phone": "1"})
    assert unknown.status_code == 404
    assert (len(requests_of(a)), len(requests_of(b))) == (before_a, before_b)


# --- with Twilio: the agent is rung, then the visitor bridged -----------------------------


def test_with_twilio_the_agent_is_rung_from_the_shop_number(app, client, two_tenants, fake_twilio):
    a = two_tenants.a
    enable(a)
    number = twilio_number(app, a, "auth-a")
    agent_online_with_phone(a, a.agent)
    token = visitor_token(client, a)
    assert ask(client, a, token).status_code == 201
    assert fake_twilio.calls_created() == []  # not in the request: in a job
    wait_for_jobs()
    (sent,) = fake_twilio.calls_created()
    (callback,) = [r for r in requests_of(a) if r.phone == VISITOR_PHONE]
    assert sent["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    assert sent["auth"] == (ACCOUNT_SID, "auth-a")
    form = sent["form"]
    assert form["To"] == [AGENT_PHONE] and form["From"] == [SHOP_NUMBER]
    assert form["Url"] == [f"{BASE_URL}/calls/twilio/{number.token}/bridge/{callback.id}"]
    assert form["StatusCallback"] == [f"{BASE_URL}/calls/twilio/{number.token}/status"]
    assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    in_shop(a)
    call = db.scalar(select(Call).where(Call.callback_id == callback.id))
    assert call.call_ref.startswith("CA") and call.connection_id == number.connection_id
    assert (call.kind, call.direction, call.status) == ("callback", "out", "ringing")
    assert (call.customer_number, call.agent_id) == (VISITOR_PHONE, a.agent.id)
    assert fresh(CallbackRequest, callback.id).status == "calling"
    assert task_for(a, callback.id) is None

    # the agent answers: the bridge dials the visitor from the shop's number
    twiml = twilio_post(client, f"/calls/twilio/{number.token}/bridge/{callback.id}", "auth-a", {
        "CallSid": call.call_ref, "AccountSid": ACCOUNT_SID, "CallStatus": "in-progress",
    })  # fmt: skip
    assert twiml.status_code == 200 and twiml.mimetype == "text/xml"
    root = ET.fromstring(twiml.get_data())
    dial = root.find("Dial")
    assert root.find("Say").text  # the agent hears what the call is
    assert dial.get("answerOnBridge") == "true" and dial.get("callerId") == SHOP_NUMBER
    visitor_leg = dial.find("Number")
    assert visitor_leg.text == VISITOR_PHONE
    status_url = f"/calls/twilio/{number.token}/bridge/{callback.id}/status"
    assert visitor_leg.get("statusCallback") == BASE_URL + status_url
    assert visitor_leg.get("statusCallbackEvent") == "answered completed"
    answered = twilio_post(
        client, status_url, "auth-a", {"CallSid": "CAchild", "CallStatus": "in-progress"}
    )
    assert answered.status_code == 204
    in_shop(a)
    assert fresh(CallbackRequest, callback.id).status == "bridged"
    assert task_for(a, callback.id) is None


def test_twilio_refusing_the_call_makes_a_task(app, client, two_tenants, fake_twilio):
    a = two_tenants.a
    enable(a)
    twilio_number(app, a, "auth-a")
    agent_online_with_phone(a, a.agent)
    fake_twilio.fail_next = 400
    assert ask(client, a, visitor_token(client, a)).status_code == 201
    wait_for_jobs()
    (callback,) = [r for r in requests_of(a) if r.phone == VISITOR_PHONE]
    assert len(fake_twilio.calls_created()) == 1
    assert task_for(a, callback.id) is not None
    in_shop(a)
    assert db.scalar(select(Call).where(Call.callback_id == callback.id)) is None


def test_nobody_online_with_a_phone_makes_a_task(app, client, two_tenants, fake_twilio):
    a = two_tenants.a
    enable(a)
    twilio_number(app, a, "auth-a")
    agent_online_with_phone(a, a.agent, phone="")  # online, but no phone to ring
    assert ask(client, a, visitor_token(client, a)).status_code == 201
    wait_for_jobs()
    (callback,) = [r for r in requests_of(a) if r.phone == VISITOR_PHONE]
    assert fake_twilio.calls_created() == [] and task_for(a, callback.id) is not None


def placed_callback(app, client, shop, fake) -> tuple[CallbackRequest, Call, SimpleNamespace]:
    enable(shop)
    number = twilio_number(app, shop, "auth-a")
    agent_online_with_phone(shop, shop.agent)
    assert ask(client, shop, visitor_token(client, shop)).status_code == 201
    wait_for_jobs()
    (callback,) = [r for r in requests_of(shop) if r.phone == VISITOR_PHONE]
    in_shop(shop)
    return callback, db.scalar(select(Call).where(Call.callback_id == callback.id)), number


def test_the_agent_not_answering_makes_a_task_for_the_visitor(
    app, client, two_tenants, fake_twilio
):
    a = two_tenants.a
    callback, call, _number = placed_callback(app, client, a, fake_twilio)
    connection = db.get(CallConnection, call.connection_id)
    # Twilio's status callback for the agent's leg, as the Twilio webhook records it
    with app.app_context():
        records.record(
            connection,
            records.ProviderEvent(
                call_ref=call.call_ref, event="ended", occurred_at=utcnow(), cause="no-answer"
            ),
        )
        db.commit()
    task = task_for(a, callback.id)
    assert (task.phone, task.call_id, task.assignee_id) == (VISITOR_PHONE, call.id, a.agent.id)
    assert fresh(CallbackRequest, callback.id).status == "task"


def test_the_visitor_not_answering_makes_a_task(app, client, two_tenants, fake_twilio):
    a = two_tenants.a
    callback, call, number = placed_callback(app, client, a, fake_twilio)
    url = f"/calls/twilio/{number.token}/bridge/{callback.id}/status"
    answer = twilio_post(client, url, "auth-a", {"CallSid": "CAchild", "CallStatus": "no-answer"})
    assert answer.status_code == 204
    task = task_for(a, callback.id)
    assert (task.call_id, task.assignee_id) == (call.id, a.agent.id)
    assert fresh(CallbackRequest, callback.id).status == "task"


def test_bridge_requests_not_signed_by_the_shop_or_for_another_shop(
    app, client, two_tenants, fake_twilio
):
    a, b = two_tenants.a, two_tenants.b
    callback, _call, number_a = placed_callback(app, client, a, fake_twilio)
    callback_id = callback.id
    number_b = twilio_number(app, b, "auth-b")
    url_a = f"/calls/twilio/{number_a.token}/bridge/{callback_id}"
    forged = twilio_post(client, url_a, "not-the-auth-token", {"CallStatus": "in-progress"})
    unsigned = client.post(url_a, data={"CallStatus": "in-progress"})
    assert forged.status_code == unsigned.status_code == 403
    # B's own number, correctly signed by B, naming A's callback: not found, nothing changes
    for path in ("", "/status"):
        url_b = f"/calls/twilio/{number_b.token}/bridge/{callback_id}{path}"
        answer = twilio_post(client, url_b, "auth-b", {"CallStatus": "no-answer"})
        assert answer.status_code == 404
    assert [r.status for r in requests_of(a) if r.id == callback_id] == ["calling"]
    assert task_for(a, callback_id) is None


# --- the settings page ---------------------------------------------------------------------


def settings_form(**fields) -> dict:
    return {
        "callback_enabled": "on",
        "countries": "cn, HK",
        "consent_text": "",
        "number_id": "",
        "callback_minutes": "15",
        "per_visitor_daily": "3",
        "per_ip_daily": "10",
        "per_phone_daily": "3",
        **fields,
    }


def test_admins_set_the_callback_up(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    number = twilio_number(app, a, "auth-a")
    login(client, a.owner)
    page = client.get("/console/calls/callback")
    assert page.status_code == 200 and "Offer a free callback in the chat widget" in page.get_data(
        True
    )
    saved = client.post(
        "/console/calls/callback",
        data=settings_form(number_id=str(number.id), consent_text="Call me, please."),
    )
    assert saved.status_code == 302
    in_shop(a)
    stored = callbacks.settings()
    assert stored.callback_enabled and stored.callback_countries == ["CN", "HK"]
    assert (stored.callback_number_id, stored.consent_text) == (number.id, "Call me, please.")
    token = visitor_token(client, a)
    assert (
        client.get(f"/w/api/callback?k={a.tenant.site_key}&t={token}").get_json()["consent"]
        == "Call me, please."
    )
    # B's number is not one A can call from
    number_b = twilio_number(app, b, "auth-b")
    for bad, field, words in (
        ({"countries": "CN, XX"}, "countries", "two-letter codes"),
        ({"countries": ""}, "countries", "two-letter codes"),
        ({"number_id": str(number_b.id)}, "number_id", "Twilio numbers"),
        ({"per_phone_daily": "0"}, "per_phone_daily", "from 1 to 50"),
        ({"callback_minutes": "soon"}, "callback_minutes", "from 1 to 1440"),
        ({"consent_text": "x" * 501}, "consent_text", "500 characters"),
    ):
        refused = client.post(
            "/console/calls/callback", data=settings_form(**bad, per_ip_daily="99")
        )
        assert refused.status_code == 400, bad
        text = refused.get_data(True)
        assert f'id="error-{field}"' in text and words in text, bad
        in_shop(a)
        assert callbacks.settings().per_ip_daily == 10  # nothing saved
    login(client, a.agent)
    assert client.get("/console/calls/callback").status_code == 403


# --- the rules underneath ------------------------------------------------------------------


def test_preferred_times_and_openings():
    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
    tz = "Asia/Shanghai"
    assert callbacks.read_preferred("", tz, now) is None
    assert callbacks.read_preferred("2026-12-07T10:05", tz, now) is None  # about now
    assert callbacks.read_preferred("2026-12-08T09:30", tz, now) == datetime(
        2026, 12, 8, 1, 30, tzinfo=UTC
    )
    week = {"mon": [["09:00", "12:00"], ["14:00", "18:00"]], "fri": [["09:00", "17:00"]]}
    assert callbacks.next_opening(week, tz, now) == now  # open
    lunch = datetime(2026, 12, 7, 4, 30, tzinfo=UTC)  # 12:30 local
    assert callbacks.next_opening(week, tz, lunch) == datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    evening = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)  # 19:00 Monday: Friday 09:00 next
    assert callbacks.next_opening(week, tz, evening) == datetime(2026, 12, 11, 1, 0, tzinfo=UTC)
    assert callbacks.next_opening({}, tz, evening) == evening
    weekdays = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    assert callbacks.hours_text(weekdays | {"sat": [["10:00", "16:00"]]}, "en") == (
        "Mon–Fri 09:00–18:00; Sat 10:00–16:00"
    )
    assert callbacks.hours_text(weekdays, "zh_CN") == "周一–周五 09:00–18:00"


def test_callbacks_take_turns_among_the_agents_online(app, client, two_tenants, fake_twilio):
    a = two_tenants.a
    enable(a)
    twilio_number(app, a, "auth-a")
    agent_online_with_phone(a, a.agent)
    agent_online_with_phone(a, a.owner, phone="+8613700000002")
    for phone in ("+8613912345678", "+8613912345679", "+8613912345670"):
        assert ask(client, a, visitor_token(client, a), phone=phone).status_code == 201
        wait_for_jobs()
    rung = [sent["form"]["To"][0] for sent in fake_twilio.calls_created()]
    assert len(rung) == 3 and len(set(rung[:2])) == 2  # both agents rung before either again
    assert rung[2] == rung[0]
