"""Twilio's webhooks, signed with the real library (RequestValidator) over the URL Twilio would
request: an inbound call's TwiML, status callbacks in any order and any number of times, every
way a request can fail to be Twilio's for this number, and the recording fetched by a job from
a local HTTP stand-in for Twilio's API, then played to the shop's members only."""

from __future__ import annotations

import base64
import random
import shutil
import threading
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from app.calls import secrets as call_secrets
from app.calls.models import AgentLine, Call, CallConnection, CallEvent, CallNumber
from app.chat import service as chat
from tenants.db import bind_tenant, cross_tenant, db, utcnow
from tenants.jobs import enqueue, jobs_of
from tenants.work import unit_of_work

from ..conftest import make_test_app, set_tenant

BASE_URL = "https://calls.example.com"
AGENT_PHONE = "+8613911112222"
OWNER_PHONE = "+8613933334444"
CALLER = "+8613800000000"  # the shop's known customer (conftest)


class TwilioApi(BaseHTTPRequestHandler):
    """Twilio's recordings on loopback: checks the basic auth like Twilio, serves the bytes
    set for a path (after ``failures`` 500 answers), and records every request."""

    server: ThreadingHTTPServer

    def do_GET(self):  # noqa: N802 (http.server's name)
        stand_in = self.server.stand_in
        stand_in.requests.append((self.path, self.headers.get("Authorization", "")))
        media = stand_in.media.get(self.path)
        if media is None:
            return self._answer(404, b"not found", "text/plain")
        body, credentials = media
        expected = "Basic " + base64.b64encode(credentials.encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self._answer(401, b"unauthorized", "application/json")
        if stand_in.failures.get(self.path, 0) > 0:
            stand_in.failures[self.path] -= 1
            return self._answer(500, b"try later", "text/plain")
        return self._answer(200, body, "audio/mpeg")

    def _answer(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def twilio_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), TwilioApi)
    server.stand_in = SimpleNamespace(requests=[], media={}, failures={})
    server.stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.stand_in
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def tw_app(engine, twilio_api, tmp_path_factory):
    """Published at BASE_URL (the proxy in front passes another Host), Twilio's API on
    loopback, quick retries, and a small size cap for recordings."""
    return make_test_app(
        INSTANCE_DIR=str(tmp_path_factory.mktemp("twilio-instance")),
        BASE_URL=BASE_URL,
        TWILIO_API_BASE=twilio_api.url,
        JOB_RETRY_MIN_SECONDS=0.1,
        JOB_RETRY_MAX_SECONDS=0.3,
        CALL_RECORDING_MAX_BYTES=256 * 1024,
    )


@pytest.fixture
def twilio_client(tw_app, dbsession):
    # each test's rows are rolled back and their ids made again: so are its files
    shutil.rmtree(Path(tw_app.config["INSTANCE_DIR"]) / "recordings", ignore_errors=True)
    return tw_app.test_client()


def add_twilio(shop, app, e164: str = "+861080000000", agent_phones: bool = True):
    """The shop's Twilio account with one number, and its members' phones."""
    bind_tenant(shop.tenant.id)
    auth_token = uuid.uuid4().hex
    connection = CallConnection(
        kind="twilio",
        name="Twilio",
        token=uuid.uuid4().hex,
        account_sid="AC" + uuid.uuid4().hex,
        auth_token_enc=call_secrets.encrypt(auth_token, app.config),
    )
    db.add(connection)
    db.flush()
    number = CallNumber(connection_id=connection.id, e164=e164, token=uuid.uuid4().hex)
    db.add(number)
    owner_line = db.get(AgentLine, shop.agent_line.id)  # the fixture's: the owner's line
    if agent_phones:
        db.add(AgentLine(membership_id=shop.agent.id, extension="801", phone=AGENT_PHONE))
        owner_line.extension, owner_line.phone = "802", OWNER_PHONE
    else:
        db.delete(owner_line)
    db.commit()
    bind_tenant(None)
    return SimpleNamespace(
        tenant_id=shop.tenant.id,
        connection_id=connection.id,
        account_sid=connection.account_sid,
        number_id=number.id,
        token=number.token,
        e164=number.e164,
        auth_token=auth_token,
    )


def ids_of(shop) -> SimpleNamespace:
    """The shop's ids, read once: a refused request rolls back the session the test shares
    with it (one thread), which expires the objects the test holds."""
    from app.accounts.identity import Principal

    return SimpleNamespace(
        tenant=shop.tenant.id,
        agent=shop.agent.id,
        owner=shop.owner.id,
        customer=shop.customer.id,
        call=shop.call.id,
        generic_token=shop.call_number.token,
        agent_login=Principal(shop.agent).get_id(),
        owner_login=Principal(shop.owner).get_id(),
    )


@pytest.fixture
def shops(two_tenants, tw_app):
    a, b = two_tenants.a, two_tenants.b
    a.ids, b.ids = ids_of(a), ids_of(b)
    a.twilio, b.twilio = add_twilio(a, tw_app), add_twilio(b, tw_app)
    return two_tenants


def sign_in(client, login_id: str) -> None:
    with client.session_transaction() as sess:
        sess["_user_id"], sess["_fresh"] = login_id, True


def online(shop, membership_id: int) -> None:
    bind_tenant(shop.ids.tenant)
    chat.agent_connected(membership_id)
    chat.set_status(membership_id, "online")
    db.commit()
    bind_tenant(None)


def sid(prefix: str = "CA") -> str:
    return prefix + uuid.uuid4().hex


def hook(token: str, kind: str) -> str:
    return f"{BASE_URL}/calls/twilio/{token}/{kind}"


def post(client, twilio, kind: str, params: dict, **how):
    """POST ``params`` to the number's hook, signed as Twilio signs: ``url`` (what was signed,
    default the published URL), ``token`` (where it is posted), ``auth_token``, ``query``."""
    token = how.get("token", twilio.token)
    query = how.get("query", "")
    signed_url = how.get("url", hook(twilio.token, kind) + query)
    signature = RequestValidator(how.get("auth_token", twilio.auth_token)).compute_signature(
        signed_url, params
    )
    headers = {"X-Twilio-Signature": how.get("signature", signature), **how.get("headers", {})}
    return client.post(f"/calls/twilio/{token}/{kind}{query}", data=params, headers=headers)


def inbound(call_sid: str, twilio, **fields) -> dict:
    return {
        "CallSid": call_sid,
        "AccountSid": twilio.account_sid,
        "From": CALLER,
        "To": twilio.e164,
        "Caller": CALLER,
        "Called": twilio.e164,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        **fields,
    }


def twiml(response) -> ET.Element:
    assert response.status_code == 200, response.get_data(True)
    assert response.mimetype == "text/xml"
    return ET.fromstring(response.get_data())


def rows(shop=None) -> tuple[int, int]:
    """(call events, calls) in one shop, or in every shop."""
    with cross_tenant():
        counted = []
        for model in (CallEvent, Call):
            query = select(func.count()).select_from(model)
            if shop is not None:
                query = query.where(model.tenant_id == shop.ids.tenant)
            counted.append(db.scalar(query))
    return tuple(counted)


def call_of(shop, call_sid: str) -> Call | None:
    bind_tenant(shop.ids.tenant)
    query = select(Call).where(Call.call_ref == call_sid)
    return db.scalar(query.execution_options(populate_existing=True))


# --- the inbound call ------------------------------------------------------------------------


def test_an_inbound_call_rings_the_online_agents_phones(twilio_client, shops):
    a = shops.a
    online(a, a.ids.agent)
    call_sid = sid()
    root = twiml(post(twilio_client, a.twilio, "voice", inbound(call_sid, a.twilio)))
    (dial,) = root.findall("Dial")
    assert dial.get("answerOnBridge") == "true" and int(dial.get("timeout")) > 0
    assert dial.get("action") == hook(a.twilio.token, "dialed")
    assert dial.get("record") is None  # the shop did not switch recording on
    numbers = dial.findall("Number")
    assert [n.text for n in numbers] == [AGENT_PHONE]  # online, with a phone; the owner is not
    for number in numbers:
        assert number.get("statusCallback") == hook(a.twilio.token, "status")
        assert number.get("statusCallbackMethod") == "POST"
        assert set(number.get("statusCallbackEvent").split()) >= {"answered", "completed"}
    call = call_of(a, call_sid)
    assert (call.status, call.direction, call.from_number, call.to_number) == (
        "ringing",
        "in",
        CALLER,
        "+861080000000",
    )
    assert call.customer_id == a.ids.customer and call.kind == "call"


def test_the_numbers_own_agent_is_rung_first_and_never_the_callers_phone(twilio_client, shops):
    a = shops.a
    online(a, a.ids.agent)
    online(a, a.ids.owner)
    both = twiml(post(twilio_client, a.twilio, "voice", inbound(sid(), a.twilio)))
    assert sorted(n.text for n in both.iter("Number")) == sorted([AGENT_PHONE, OWNER_PHONE])
    bind_tenant(a.ids.tenant)
    db.get(CallNumber, a.twilio.number_id).membership_id = a.ids.owner
    db.commit()
    own = twiml(post(twilio_client, a.twilio, "voice", inbound(sid(), a.twilio)))
    assert [n.text for n in own.iter("Number")] == [OWNER_PHONE]
    # the owner rings the shop from their own phone: the others are rung, not the owner
    from_owner = inbound(sid(), a.twilio, From=OWNER_PHONE, Caller=OWNER_PHONE)
    bind_tenant(a.ids.tenant)
    db.get(CallNumber, a.twilio.number_id).membership_id = None
    db.commit()
    others = twiml(post(twilio_client, a.twilio, "voice", from_owner))
    assert [n.text for n in others.iter("Number")] == [AGENT_PHONE]


def test_nobody_to_ring_is_told_in_the_shops_language_and_the_call_is_missed(twilio_client, shops):
    a = shops.a  # nobody online
    call_sid = sid()
    root = twiml(post(twilio_client, a.twilio, "voice", inbound(call_sid, a.twilio)))
    assert root.find("Dial") is None and root.find("Hangup") is not None
    say = root.find("Say")
    assert say.get("language") == "cmn-CN" and "现在" in say.text  # a zh_CN shop
    ended = {
        "CallSid": call_sid,
        "CallStatus": "completed",
        "Direction": "inbound",
        "From": CALLER,
        "To": a.twilio.e164,
        "CallDuration": "6",  # the message played: not a talk
        "Timestamp": format_datetime(datetime.now(UTC)),
    }
    assert post(twilio_client, a.twilio, "status", ended).status_code == 204
    call = call_of(a, call_sid)
    assert (call.status, call.cause, call.duration) == ("missed", "normalClearing", None)

    set_tenant(a, locale="en")
    english = twiml(post(twilio_client, a.twilio, "voice", inbound(sid(), a.twilio)))
    say = english.find("Say")
    assert say.get("language") == "en-US" and "nobody can take your call" in say.text


def test_the_dial_ends_quietly_when_taken_and_with_the_message_when_not(twilio_client, shops):
    a = shops.a
    taken = twiml(post(twilio_client, a.twilio, "dialed", {"DialCallStatus": "completed"}))
    assert [child.tag for child in taken] == ["Hangup"]
    for status in ("no-answer", "busy", "failed"):
        root = twiml(post(twilio_client, a.twilio, "dialed", {"DialCallStatus": status}))
        assert [child.tag for child in root] == ["Say", "Hangup"]


# --- status callbacks ------------------------------------------------------------------------


def inbound_sequence(twilio, call_sid: str, at: datetime) -> list[tuple[str, dict]]:
    """An inbound call as Twilio reports it: the voice request, the agent's leg rung, answered
    and hung up, and the call's own end (its CallDuration counts the ringing)."""
    leg = sid()

    def leg_status(status: str, seconds: int, **fields) -> tuple[str, dict]:
        return (
            "status",
            {
                "CallSid": leg,
                "ParentCallSid": call_sid,
                "CallStatus": status,
                "Direction": "outbound-dial",
                "From": CALLER,
                "To": AGENT_PHONE,
                "Timestamp": format_datetime(at + timedelta(seconds=seconds)),
                **fields,
            },
        )

    return [
        ("voice", inbound(call_sid, twilio)),
        leg_status("initiated", 1),
        leg_status("ringing", 2),
        leg_status("in-progress", 9),
        leg_status("completed", 104, CallDuration="95"),
        (
            "status",
            {
                "CallSid": call_sid,
                "CallStatus": "completed",
                "Direction": "inbound",
                "From": CALLER,
                "To": twilio.e164,
                "CallDuration": "104",
                "Timestamp": format_datetime(at + timedelta(seconds=105)),
            },
        ),
    ]


def test_status_callbacks_in_any_order_and_duplicated_end_in_one_record(twilio_client, shops):
    a = shops.a
    online(a, a.ids.agent)
    at = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    shuffle = random.Random(12)
    orders = [list(range(6)), list(range(5, -1, -1))]
    orders += [shuffle.sample(range(6), 6) for _ in range(8)]
    outcomes = set()
    for order in orders:
        call_sid = sid()
        sequence = inbound_sequence(a.twilio, call_sid, at)
        steps = [sequence[i] for i in order]
        for step in [steps[0], *steps, *shuffle.sample(steps, 3)]:  # and duplicates
            answer = post(twilio_client, a.twilio, step[0], step[1])
            assert answer.status_code in (200, 204), answer.get_data(True)
        call = call_of(a, call_sid)
        outcomes.add(
            (
                call.status,
                call.answered_at,
                call.ended_at,
                call.duration,
                call.cause,
                call.agent_id,
                call.from_number,
                call.to_number,
                call.customer_id,
            )
        )
        assert call.started_at <= call.answered_at  # the voice request came in before
        bind_tenant(a.ids.tenant)
        assert db.scalar(select(func.count()).where(Call.call_ref == call_sid)) == 1
        # the leg's own ringing and hang-up are kept and made no call of their own
        leg = sequence[1][1]["CallSid"]
        assert db.scalar(select(func.count()).where(Call.call_ref == leg)) == 0
        kept = db.scalars(select(CallEvent.event).where(CallEvent.call_ref == leg)).all()
        assert sorted(kept) == ["ended", "ringing"]
    assert outcomes == {
        (
            "ended",
            at + timedelta(seconds=9),
            at + timedelta(seconds=105),
            96,  # answered to hung up: the ringing and the leg's own count are not talk
            "normalClearing",
            a.ids.agent,
            CALLER,
            "+861080000000",
            a.ids.customer,
        )
    }


def outbound(call_sid: str, twilio, status: str, seconds: int, **fields) -> dict:
    """An outbound call (a callback's call to the agent, from Calls.create)."""
    return {
        "CallSid": call_sid,
        "CallStatus": status,
        "Direction": "outbound-api",
        "From": twilio.e164,
        "To": AGENT_PHONE,
        "Timestamp": format_datetime(datetime(2026, 12, 7, 9, 0, seconds, tzinfo=UTC)),
        **fields,
    }


@pytest.mark.parametrize(
    ("final", "duration", "status", "cause"),
    [
        ("busy", "0", "busy", "busy"),
        ("no-answer", "0", "missed", "noAnswer"),
        ("canceled", "0", "missed", "cancel"),
        ("failed", "0", "failed", "failed"),
        ("completed", "42", "ended", "normalClearing"),
    ],
)
def test_how_an_outbound_call_ends(twilio_client, shops, final, duration, status, cause):
    a = shops.a
    call_sid = sid()
    steps = [outbound(call_sid, a.twilio, s, n) for s, n in (("initiated", 0), ("ringing", 1))]
    if final == "completed":
        steps.append(outbound(call_sid, a.twilio, "in-progress", 5))
    steps.append(outbound(call_sid, a.twilio, final, 50, CallDuration=duration))
    for params in reversed(steps):  # the end first: the same record
        assert post(twilio_client, a.twilio, "status", params).status_code == 204
    call = call_of(a, call_sid)
    assert (call.status, call.cause, call.direction) == (status, cause, "out")
    assert call.duration == (42 if final == "completed" else 0)
    assert call.customer_number == AGENT_PHONE and call.ended_at.second == 50


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"CallStatus": "completed"}, "CallSid is required"),
        ({"CallSid": "CA1", "CallStatus": "exploded"}, "CallStatus"),
        ({"CallSid": "CA1", "CallStatus": "completed", "CallDuration": "ten"}, "CallDuration"),
        ({"CallSid": "CA1", "CallStatus": "completed", "Timestamp": "yesterday"}, "Timestamp"),
    ],
)
def test_a_status_callback_that_does_not_read_is_refused_and_changes_nothing(
    twilio_client, shops, params, message
):
    before = rows()
    answer = post(twilio_client, shops.a.twilio, "status", params)
    assert answer.status_code == 400 and message in answer.get_data(True)
    assert rows() == before


# --- requests that are not Twilio's for this number -----------------------------------------


def test_no_request_but_twilios_own_for_this_number_records_anything(twilio_client, shops):
    a, b = shops.a, shops.b
    bind_tenant(a.ids.tenant)
    second = CallNumber(
        connection_id=a.twilio.connection_id, e164="+861080000001", token=uuid.uuid4().hex
    )
    db.add(second)
    db.commit()
    second_token = second.token
    params = inbound(sid(), a.twilio)
    before = rows()
    refused = {
        "forged signature": post(twilio_client, a.twilio, "voice", params, signature="Zm9yZ2Vk"),
        "no signature": post(twilio_client, a.twilio, "voice", params, signature=""),
        "another auth token": post(
            twilio_client, a.twilio, "voice", params, auth_token=uuid.uuid4().hex
        ),
        "signed for another host": post(
            twilio_client,
            a.twilio,
            "voice",
            params,
            url=f"https://evil.example/calls/twilio/{a.twilio.token}/voice",
        ),
        "signed for another path": post(
            twilio_client, a.twilio, "voice", params, url=hook(a.twilio.token, "status")
        ),
        "a query not signed": post(
            twilio_client,
            a.twilio,
            "voice",
            params,
            query="?x=1",
            url=hook(a.twilio.token, "voice"),
        ),
        "a field changed": twilio_client.post(
            f"/calls/twilio/{a.twilio.token}/voice",
            data={**params, "From": "+8613999999999"},
            headers={
                "X-Twilio-Signature": RequestValidator(a.twilio.auth_token).compute_signature(
                    hook(a.twilio.token, "voice"), params
                )
            },
        ),
        # number A's request, replayed against number B's token (same account, same shop)
        "replayed on another number": post(
            twilio_client, a.twilio, "voice", params, token=second_token
        ),
        # ... and against shop B's number, signed with shop A's auth token
        "shop B's token, shop A's auth token": post(
            twilio_client, a.twilio, "voice", params, token=b.twilio.token
        ),
    }
    for why, answer in refused.items():
        assert answer.status_code == 403, why
    unknown = post(twilio_client, a.twilio, "voice", params, token="not-a-token")
    generic = post(twilio_client, a.twilio, "voice", params, token=a.ids.generic_token)
    assert unknown.status_code == generic.status_code == 404
    assert rows() == before


def test_a_disabled_connection_answers_404_and_records_nothing(twilio_client, shops):
    a = shops.a
    bind_tenant(a.ids.tenant)
    db.get(CallConnection, a.twilio.connection_id).enabled = False
    db.commit()
    before = rows()
    answer = post(twilio_client, a.twilio, "voice", inbound(sid(), a.twilio))
    assert answer.status_code == 404 and rows() == before


def test_the_url_signed_is_base_urls_whatever_host_the_proxy_passes(twilio_client, shops):
    a = shops.a
    params = inbound(sid(), a.twilio)
    behind = {"Host": "10.0.0.5:8000"}  # what the proxy in front passes on
    path = f"/calls/twilio/{a.twilio.token}/voice"
    as_proxied = post(
        twilio_client, a.twilio, "voice", params, url=f"http://10.0.0.5:8000{path}", headers=behind
    )
    assert as_proxied.status_code == 403 and call_of(a, params["CallSid"]) is None
    published = post(twilio_client, a.twilio, "voice", params, headers=behind)
    assert published.status_code == 200 and call_of(a, params["CallSid"]) is not None


def test_a_locked_shops_calls_are_still_verified_and_recorded(twilio_client, shops):
    a = shops.a
    set_tenant(a, trial_ends_at=utcnow() - timedelta(seconds=1))  # Free now
    online(a, a.ids.agent)
    call_sid = sid()
    root = twiml(post(twilio_client, a.twilio, "voice", inbound(call_sid, a.twilio)))
    assert [n.text for n in root.iter("Number")] == [AGENT_PHONE]  # the phone still rings
    assert call_of(a, call_sid).status == "ringing"
    forged = post(twilio_client, a.twilio, "voice", inbound(sid(), a.twilio), signature="x")
    assert forged.status_code == 403


# --- recordings ------------------------------------------------------------------------------


def recording_params(twilio, call_sid: str, api_url: str, status: str = "completed") -> dict:
    recording_sid = sid("RE")
    account = twilio.account_sid
    return {
        "AccountSid": account,
        "CallSid": call_sid,
        "RecordingSid": recording_sid,
        "RecordingUrl": f"{api_url}/2010-04-01/Accounts/{account}/Recordings/{recording_sid}",
        "RecordingStatus": status,
        "RecordingDuration": "95",
        "RecordingChannels": "2",
        "RecordingSource": "DialVerb",
    }


def answered_call(client, shop) -> str:
    call_sid = sid()
    at = datetime.now(UTC)
    for kind, params in inbound_sequence(shop.twilio, call_sid, at):
        assert post(client, shop.twilio, kind, params).status_code in (200, 204)
    return call_sid


def test_a_recording_is_fetched_by_a_job_and_played_to_the_shop_only(
    tw_app, twilio_client, shops, twilio_api
):
    a, b = shops.a, shops.b
    call_sid = answered_call(twilio_client, a)
    params = recording_params(a.twilio, call_sid, twilio_api.url)
    audio = b"ID3" + bytes(range(256)) * 40
    media_path = params["RecordingUrl"].removeprefix(twilio_api.url) + ".mp3"
    twilio_api.media[media_path] = (
        audio,
        f"{a.twilio.account_sid}:{a.twilio.auth_token}",
    )
    twilio_api.failures[media_path] = 2  # Twilio is not ready yet: the job system retries
    seen = len(twilio_api.requests)

    answer = post(twilio_client, a.twilio, "recording", params)
    assert answer.status_code == 204
    call = call_of(a, call_sid)
    assert call.recording_url == params["RecordingUrl"] and call.recording_file == ""
    assert len(twilio_api.requests) == seen  # never fetched in the webhook's request
    jobs_of(tw_app).wait_idle(timeout=20, delayed=True)

    fetched = twilio_api.requests[seen:]
    assert [path for path, _auth in fetched] == [media_path] * 3  # two failures, then the file
    call = call_of(a, call_sid)
    assert call.recording_file == f"recordings/{a.ids.tenant}/{call.id}.mp3"
    stored = Path(tw_app.config["INSTANCE_DIR"]) / call.recording_file
    assert stored.read_bytes() == audio

    # Twilio says it again, and the job runs again: nothing fetched twice
    assert post(twilio_client, a.twilio, "recording", params).status_code == 204
    with tw_app.app_context(), unit_of_work():
        bind_tenant(a.ids.tenant)
        enqueue("calls.fetch_recording", a.ids.tenant, call.id)
    jobs_of(tw_app).wait_idle(timeout=10, delayed=True)
    assert len(twilio_api.requests) == seen + 3

    url = f"/console/calls/{call.id}/recording"
    sign_in(twilio_client, a.ids.agent_login)
    played = twilio_client.get(url)
    assert played.status_code == 200 and played.mimetype == "audio/mpeg"
    assert played.get_data() == audio
    part = twilio_client.get(url, headers={"Range": "bytes=0-2"})
    assert part.status_code == 206 and part.get_data() == b"ID3"  # the player can seek
    assert twilio_client.get(f"/console/calls/{a.ids.call}/recording").status_code == 404  # none
    sign_in(twilio_client, b.ids.owner_login)
    assert twilio_client.get(url).status_code == 404  # another shop's call


def test_a_recording_over_the_cap_is_not_kept_nor_fetched_again(
    tw_app, twilio_client, shops, twilio_api
):
    a = shops.a
    call_sid = answered_call(twilio_client, a)
    params = recording_params(a.twilio, call_sid, twilio_api.url)
    media_path = params["RecordingUrl"].removeprefix(twilio_api.url) + ".mp3"
    big = b"\0" * (tw_app.config["CALL_RECORDING_MAX_BYTES"] + 1)
    twilio_api.media[media_path] = (big, f"{a.twilio.account_sid}:{a.twilio.auth_token}")
    seen = len(twilio_api.requests)
    assert post(twilio_client, a.twilio, "recording", params).status_code == 204
    jobs_of(tw_app).wait_idle(timeout=10, delayed=True)
    assert len(twilio_api.requests) == seen + 1
    call = call_of(a, call_sid)
    assert call.recording_file == "" and call.recording_url == params["RecordingUrl"]
    folder = Path(tw_app.config["INSTANCE_DIR"]) / "recordings" / str(a.ids.tenant)
    assert not (folder / f"{call.id}.mp3").exists()
    assert not list(folder.glob("*.part"))


def test_a_recording_elsewhere_than_the_accounts_own_on_twilio_is_refused(
    twilio_client, shops, twilio_api
):
    a, b = shops.a, shops.b
    call_sid = answered_call(twilio_client, a)
    good = recording_params(a.twilio, call_sid, twilio_api.url)
    account = a.twilio.account_sid
    elsewhere = [
        "http://169.254.169.254/latest/meta-data",
        f"https://evil.example/2010-04-01/Accounts/{account}/Recordings/{good['RecordingSid']}",
        good["RecordingUrl"].replace(account, b.twilio.account_sid),
        good["RecordingUrl"] + "?x=1",
    ]
    before, seen = rows(), len(twilio_api.requests)
    for url in elsewhere:
        answer = post(twilio_client, a.twilio, "recording", {**good, "RecordingUrl": url})
        assert answer.status_code == 400, url
    not_yet = post(twilio_client, a.twilio, "recording", {**good, "RecordingStatus": "absent"})
    assert not_yet.status_code == 204
    assert rows() == before and len(twilio_api.requests) == seen
    assert call_of(a, call_sid).recording_url == ""


def test_twilios_own_hosts_are_the_only_ones_fetched(tw_app):
    from app.calls.twilio_hooks import is_recording_url

    account, recording = "AC" + "0" * 32, "RE" + "1" * 32
    path = f"/2010-04-01/Accounts/{account}/Recordings/{recording}"
    with tw_app.app_context():
        assert is_recording_url(f"https://api.twilio.com{path}", account, recording)
        assert is_recording_url(f"https://api.dublin.ie1.twilio.com{path}", account, recording)
        for wrong in (
            f"http://api.twilio.com{path}",
            f"https://api.twilio.com:8443{path}",
            f"https://api.twilio.com.evil.example{path}",
            f"https://evilapi.twilio.com.example{path}",
            f"https://api.twilio.com{path}/../../x",
        ):
            assert not is_recording_url(wrong, account, recording), wrong


def test_recording_calls_is_the_admins_switch_and_callers_are_told(twilio_client, shops):
    a = shops.a
    online(a, a.ids.agent)
    sign_in(twilio_client, a.ids.agent_login)
    assert (
        twilio_client.post("/console/calls/settings/recording", data={"record": "on"}).status_code
        == 403
    )
    sign_in(twilio_client, a.ids.owner_login)
    page = twilio_client.get("/console/calls/settings/recording")
    assert page.status_code == 200 and "Record inbound calls" in page.get_data(True)
    saved = twilio_client.post("/console/calls/settings/recording", data={"record": "on"})
    assert saved.status_code == 302
    root = twiml(post(twilio_client, a.twilio, "voice", inbound(sid(), a.twilio)))
    assert [child.tag for child in root] == ["Say", "Dial"]
    assert "录音" in root.find("Say").text
    dial = root.find("Dial")
    assert dial.get("record") == "record-from-answer-dual"
    assert dial.get("recordingStatusCallback") == hook(a.twilio.token, "recording")
    with cross_tenant():  # shop B's switch is shop B's
        switches = dict(db.execute(select(CallConnection.id, CallConnection.record_calls)).all())
    assert switches[a.twilio.connection_id] is True
    assert switches[shops.b.twilio.connection_id] is False
    twilio_client.post("/console/calls/settings/recording", data={})
    root = twiml(post(twilio_client, a.twilio, "voice", inbound(sid(), a.twilio)))
    assert [child.tag for child in root] == ["Dial"] and root.find("Dial").get("record") is None


def test_the_switch_needs_a_twilio_account(twilio_client, two_tenants):
    a = two_tenants.a  # only the generic PBX hook
    a.ids = ids_of(a)
    sign_in(twilio_client, a.ids.owner_login)
    bind_tenant(a.ids.tenant)
    before = db.scalars(select(CallConnection.record_calls)).all()
    answer = twilio_client.post("/console/calls/settings/recording", data={"record": "on"})
    assert answer.status_code == 400 and "Connect a Twilio account first" in answer.get_data(True)
    bind_tenant(a.ids.tenant)
    assert db.scalars(select(CallConnection.record_calls)).all() == before
