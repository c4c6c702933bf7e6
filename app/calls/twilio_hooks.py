"""Twilio's webhooks for a shop's number: ``/calls/twilio/<number token>/…``.

- ``voice``: an inbound call. Recorded as ringing, answered with TwiML that rings the agents'
  phones at once (the number's agent, else every online agent with a phone); nobody to ring, a
  short message in the shop's language and the call ends (missed: a callback task).
- ``status``: status callbacks of the call and of the legs the ``<Dial>`` rang. A leg's answer
  is its parent call's answer, by the agent whose phone it rang; its other statuses are kept
  and change no call.
- ``recording``: a finished recording. Its link is kept and a job fetches the audio.
- ``dialed``: the ``<Dial>``'s end: nothing more for a call that was taken, else the message.

Every request is checked by ``twilio_requests.signed_number`` first (404 unknown token, 403 not
signed by Twilio for exactly this URL). Not gated: a locked shop's calls are still verified and
recorded (nothing is lost); they only do not pop up until the shop upgrades.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, request
from flask_babel import force_locale, gettext
from sqlalchemy import select
from twilio.twiml.voice_response import VoiceResponse

from app.calls import records
from app.calls.models import AgentLine, CallConnection, CallNumber
from app.calls.twilio_requests import hook_url, signed_number
from app.chat import service as chat
from tenants.db import current_tenant_id, db, scoped_get
from tenants.jobs import enqueue
from tenants.models import Membership, Tenant

log = logging.getLogger(__name__)
bp = Blueprint("calls_twilio", __name__)

# Twilio's CallStatus → the event it is
STATUS_EVENTS = {
    "queued": "ringing",
    "initiated": "ringing",
    "ringing": "ringing",
    "in-progress": "answered",
    "answered": "answered",
    "completed": "ended",
    "busy": "ended",
    "no-answer": "ended",
    "canceled": "ended",
    "failed": "ended",
}
# … and the cause of an end, in the generic webhook's words
CAUSES = {
    "completed": "normalClearing",
    "busy": "busy",
    "no-answer": "noAnswer",
    "canceled": "cancel",
    "failed": "failed",
}
LEG_EVENTS = "initiated ringing answered completed"
MAX_LEGS = 10  # Twilio dials at most ten <Number>s at once
# Twilio's voices for the shop's language (Amazon Polly, which Twilio serves)
VOICES = {
    "zh_CN": {"voice": "Polly.Zhiyu", "language": "cmn-CN"},
    "en": {"voice": "Polly.Joanna", "language": "en-US"},
}
TWILIO_API_HOST = re.compile(r"api(\.[a-z0-9-]+)*\.twilio\.com")


class BadRequest(ValueError):
    pass


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="text/xml")


def _refuse(error: BadRequest) -> Response:
    return Response(str(error), status=400, mimetype="text/plain")


def _form(name: str) -> str:
    return (request.form.get(name) or "").strip()


def _occurred_at() -> datetime:
    """Twilio's ``Timestamp`` of a status callback (RFC 2822); a request without one happened
    now."""
    raw = _form("Timestamp")
    if not raw:
        return datetime.now(UTC)
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError) as exc:
        raise BadRequest("Timestamp must be an RFC 2822 date.") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _call_sid(name: str = "CallSid") -> str:
    sid = _form(name)
    if not sid or len(sid) > 128:
        raise BadRequest(f"{name} is required (at most 128 characters).")
    return sid


def _direction() -> str:
    direction = _form("Direction").lower()
    if direction == "inbound":
        return "in"
    return "out" if direction.startswith("outbound") else ""


def _payload() -> dict:
    return dict(list(request.form.to_dict(flat=True).items())[:40])


def _event(event: str, call_ref: str, **fields) -> records.ProviderEvent:
    return records.ProviderEvent(
        call_ref=call_ref, event=event, occurred_at=_occurred_at(), payload=_payload(), **fields
    )


# --- the inbound call ------------------------------------------------------------------------


def phones_to_ring(number: CallNumber, caller: str) -> list[str]:
    """The number's agent's phone when they have one, else the phones of the agents online in
    the console; never the caller's own phone (an agent ringing the shop from it)."""
    phones: list[str] = []
    if number.membership_id is not None:
        phones = _phones_of([number.membership_id])
    if not phones:
        phones = _phones_of([state.membership_id for state in chat.online_agents()])
    return [phone for phone in phones if phone != caller][:MAX_LEGS]


def _phones_of(membership_ids: list[int]) -> list[str]:
    if not membership_ids:
        return []
    found = db.scalars(
        select(AgentLine.phone)
        .join(Membership, Membership.id == AgentLine.membership_id)
        .where(
            AgentLine.membership_id.in_(membership_ids),
            AgentLine.phone != "",
            Membership.status == "active",
        )
        .order_by(AgentLine.id)
    )
    return list(dict.fromkeys(found))  # a phone two agents share rings once


def _shop() -> Tenant:
    return scoped_get(Tenant, current_tenant_id())


def _say(response: VoiceResponse, message: Callable[[], str]) -> None:
    """``message`` gives the text; it runs in the shop's language, which picks the voice."""
    locale = _shop().locale
    locale = locale if locale in VOICES else "zh_CN"
    with force_locale(locale):
        response.say(message(), **VOICES[locale])


def _nobody() -> str:
    return gettext("Sorry, nobody can take your call right now. We will call you back soon.")


def _recorded() -> str:
    return gettext("This call may be recorded.")


def answer(number: CallNumber, connection: CallConnection, caller: str) -> VoiceResponse:
    """The TwiML that rings the agents' phones, or tells the caller nobody is free."""
    response = VoiceResponse()
    phones = phones_to_ring(number, caller)
    if not phones:
        _say(response, _nobody)
        response.hangup()
        return response
    recording = {}
    if connection.record_calls:
        _say(response, _recorded)
        recording = {
            "record": "record-from-answer-dual",
            "recording_status_callback": hook_url(number.token, "recording"),
            "recording_status_callback_event": "completed",
        }
    dial = response.dial(
        answer_on_bridge=True,  # the caller hears ringing, not silence, until an agent answers
        timeout=current_app.config["CALL_DIAL_TIMEOUT_SECONDS"],
        action=hook_url(number.token, "dialed"),
        method="POST",
        **recording,
    )
    for phone in phones:
        dial.number(
            phone,
            status_callback=hook_url(number.token, "status"),
            status_callback_event=LEG_EVENTS,
            status_callback_method="POST",
        )
    return response


@bp.post("/calls/twilio/<token>/voice")
def voice(token: str):
    number, connection = signed_number(token)
    try:
        event = _event(
            "ringing",
            _call_sid(),
            direction=_direction() or "in",
            from_number=_form("From") or _form("Caller"),
            to_number=_form("To") or _form("Called"),
        )
    except BadRequest as error:
        return _refuse(error)
    records.record(connection, event)
    caller = records.e164(event.from_number, _shop().country)
    return _twiml(answer(number, connection, caller))


@bp.post("/calls/twilio/<token>/dialed")
def dialed(token: str):
    """The ``<Dial>`` is over: a taken call just ends; an untaken one hears why."""
    signed_number(token)
    response = VoiceResponse()
    if _form("DialCallStatus") not in ("completed", "answered"):
        _say(response, _nobody)
    response.hangup()
    return _twiml(response)


# --- status callbacks ------------------------------------------------------------------------


def status_event() -> tuple[records.ProviderEvent, bool]:
    """The event a status callback says, and whether it changes a call (a leg's answer is its
    parent call's; a leg's other statuses are only kept)."""
    status = _form("CallStatus").lower()
    kind = STATUS_EVENTS.get(status)
    if kind is None:
        raise BadRequest("CallStatus is not one of Twilio's call statuses.")
    sid = _call_sid()
    duration = _form("CallDuration")
    if duration and not duration.isdigit():
        raise BadRequest("CallDuration must be whole seconds.")
    parent = _form("ParentCallSid")
    if parent:
        if len(parent) > 128:
            raise BadRequest("ParentCallSid is at most 128 characters.")
        if kind == "answered":  # the agent whose phone this leg rang took the call
            return _event("answered", parent, direction="", agent=_form("To")), True
        return _event(kind, sid, direction="", cause=CAUSES.get(status, "")), False
    direction = _direction()
    return (
        _event(
            kind,
            sid,
            direction=direction,
            from_number=_form("From"),
            to_number=_form("To"),
            cause=CAUSES.get(status, ""),
            # An inbound call's own duration counts the ringing of the agents and the message
            # too: what was talked is its answer (a leg's) to its end.
            duration=int(duration) if duration and kind == "ended" and direction == "out" else None,
        ),
        True,
    )


@bp.post("/calls/twilio/<token>/status")
def status(token: str):
    _number, connection = signed_number(token)
    try:
        event, changes_a_call = status_event()
    except BadRequest as error:
        return _refuse(error)
    if changes_a_call:
        records.record(connection, event)
    else:
        records.store(connection, event)
    return Response(status=204)


# --- recordings ------------------------------------------------------------------------------


def is_recording_url(url: str, account_sid: str | None, recording_sid: str) -> bool:
    """Only the shop's own recording on Twilio's API is fetched with its credentials (a shop
    signs its own requests: any other address would make Huike fetch it for them)."""
    parts = urlsplit(url)
    path = f"/2010-04-01/Accounts/{account_sid}/Recordings/{recording_sid}"
    if not account_sid or not recording_sid or parts.query or parts.fragment:
        return False
    base = current_app.config["TWILIO_API_BASE"]
    if base and url == f"{base.rstrip('/')}{path}":
        return True  # tests: the local stand-in for Twilio's API
    return (
        parts.scheme == "https"
        and parts.port is None
        and bool(TWILIO_API_HOST.fullmatch(parts.hostname or ""))
        and parts.path == path
    )


@bp.post("/calls/twilio/<token>/recording")
def recording(token: str):
    _number, connection = signed_number(token)
    if _form("RecordingStatus") != "completed":
        return Response(status=204)  # in progress, absent or failed: no audio to keep
    url, recording_sid = _form("RecordingUrl"), _form("RecordingSid")
    if not is_recording_url(url, connection.account_sid, recording_sid):
        return _refuse(BadRequest("RecordingUrl is not this account's recording on Twilio."))
    try:
        event = _event("recording", _call_sid(), direction="", recording_url=url)
    except BadRequest as error:
        return _refuse(error)
    call = records.record(connection, event)
    if call is not None:
        enqueue("calls.fetch_recording", connection.tenant_id, call.id)
    return Response(status=204)
