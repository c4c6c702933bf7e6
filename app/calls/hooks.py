"""The generic call-event webhook any PBX or 400 provider can post: ``POST /calls/hook/<token>``.

Events ``ringing`` / ``answered`` / ``ended`` (and Zammad's generic CTI and sipgate's
``newCall`` / ``answer`` / ``hangup``), as JSON or a form. Signed like Stripe's webhooks:
``X-Huike-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``, five minutes of
tolerance, either of the connection's two live secrets; or, for a PBX that cannot sign, the
URL's token alone. docs/calls.md shows both with curl.

The hook is not gated: a locked shop's calls are still verified and recorded (providers retry
for hours what they think failed), they only do not pop up until the shop upgrades.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from datetime import UTC, datetime

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from app.calls import records, secrets
from app.calls.models import CallConnection
from app.edges import check_input
from tenants.db import bind_tenant, cross_tenant, db
from tenants.errors import ServiceError

log = logging.getLogger(__name__)
bp = Blueprint("calls_hooks", __name__)

SIGNATURE_HEADER = "X-Huike-Signature"
TOLERANCE_SECONDS = 300
UNIX_TIME = re.compile(r"[0-9]{1,12}")
DURATION = re.compile(r"[0-9]{1,7}")  # seconds: up to 115 days, within any integer column
EVENT_NAMES = {
    "ringing": "ringing",
    "newcall": "ringing",
    "answered": "answered",
    "answer": "answered",
    "ended": "ended",
    "hangup": "ended",
}
DIRECTIONS = {"in": "in", "inbound": "in", "out": "out", "outbound": "out"}
# the same field as other PBXes name it (Zammad: callId, user; sipgate: answeringNumber)
ALIASES = {
    "call_id": ("call_id", "callId", "callid"),
    "agent": ("agent", "user", "answeringNumber", "extension"),
    "recording_url": ("recording_url", "recordingUrl"),
    "timestamp": ("timestamp", "time", "occurred_at"),
}


class BadEvent(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sign(secret: str, body: bytes, at: int | None = None) -> str:
    """The signature header's value for ``body`` (what a PBX computes; docs and tests use it)."""
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def verify(header: str, body: bytes, live_secrets: list[str], now: float | None = None) -> None:
    """Raise BadEvent unless ``header`` signs ``body`` with one of the live secrets, recently."""
    parts = [part.split("=", 1) for part in (header or "").split(",") if "=" in part]
    stamps = [value.strip() for key, value in parts if key.strip() == "t"]
    # bytes: a header may carry any character, and compare_digest takes only ASCII text
    signatures = [value.strip().encode() for key, value in parts if key.strip() == "v1"]
    # ASCII digits, and few: int() refuses "²" and numbers past 4,300 digits (a 500 otherwise)
    if not stamps or not signatures or not UNIX_TIME.fullmatch(stamps[0]):
        raise BadEvent("signature_missing", f"{SIGNATURE_HEADER} must be t=<unix>,v1=<hex>.")
    at = int(stamps[0])
    if abs((time.time() if now is None else now) - at) > TOLERANCE_SECONDS:
        raise BadEvent("signature_expired", "The signature's timestamp is over 5 minutes off.")
    for secret in live_secrets:
        expected = sign(secret, body, at).split("v1=", 1)[1].encode()
        if any(hmac.compare_digest(expected, given) for given in signatures):
            return
    raise BadEvent("signature_invalid", "The signature does not match a secret of this hook.")


def read_event(data: dict) -> records.ProviderEvent:
    """A provider event from the posted fields, or BadEvent saying what is wrong."""

    def field(name: str) -> str:
        for key in ALIASES.get(name, (name,)):
            value = data.get(key)
            if value not in (None, ""):
                return str(value).strip()
        return ""

    try:
        check_input(data)
    except ServiceError as error:  # a NUL or a broken character no database column can hold
        raise BadEvent(error.code, "A field holds a NUL or a broken Unicode character.") from None

    event = EVENT_NAMES.get(field("event").lower())
    if event is None:
        raise BadEvent("unknown_event", "event must be ringing, answered or ended.")
    call_ref = field("call_id")
    if not call_ref or len(call_ref) > 128:
        raise BadEvent("call_id_invalid", "call_id is required (at most 128 characters).")
    direction = DIRECTIONS.get(field("direction").lower() or "in")
    if direction is None:
        raise BadEvent("direction_invalid", "direction must be in or out.")
    duration = field("duration")
    if duration and not DURATION.fullmatch(duration):
        raise BadEvent("duration_invalid", "duration must be whole seconds.")
    recording_url = field("recording_url")
    if recording_url and not recording_url.startswith(("https://", "http://")):
        raise BadEvent("recording_url_invalid", "recording_url must be an http(s) address.")
    return records.ProviderEvent(
        call_ref=call_ref,
        event=event,
        occurred_at=_moment(field("timestamp")),
        direction=direction,
        from_number=field("from"),
        to_number=field("to"),
        agent=field("agent"),
        duration=int(duration) if duration else None,
        cause=field("cause")[:32],
        recording_url=recording_url[:1000],
        payload={key: data[key] for key in list(data)[:40]},
    )


def _moment(raw: str) -> datetime:
    if not raw:
        return datetime.now(UTC)
    try:
        if raw.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(raw), UTC)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError) as exc:
        raise BadEvent("timestamp_invalid", "timestamp must be ISO 8601 or unix seconds.") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _fields(body: bytes) -> dict | None:
    """The posted fields: a JSON object, whatever Content-Type the PBX's HTTP client set (a
    shell's curl -d or Asterisk's CURL() sends a form's), else the form; None for bad JSON."""
    if request.is_json or body.lstrip()[:1] in (b"{", b"["):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return None
        return data if isinstance(data, dict) else None
    return request.form.to_dict()


def _fail(error: BadEvent, status: int):
    return jsonify(error=error.code, message=str(error)), status


@bp.post("/calls/hook/<token>")
def generic(token: str):
    with cross_tenant():
        connection = db.scalar(
            select(CallConnection).where(
                CallConnection.token == token,
                CallConnection.kind == "generic",
                CallConnection.enabled.is_(True),
            )
        )
    if connection is None:
        return jsonify(error="not_found", message="No call hook has this address."), 404
    bind_tenant(connection.tenant_id)
    body = request.get_data()  # the raw body: the signature is over these bytes
    if connection.signing == "signature":
        live = [secrets.decrypt(connection.secret_enc)]
        if connection.previous_secret_enc:
            live.append(secrets.decrypt(connection.previous_secret_enc))
        try:
            verify(request.headers.get(SIGNATURE_HEADER, ""), body, live)
        except BadEvent as error:
            log.warning("call hook %s: %s", connection.id, error.code)
            return _fail(error, 403)
    data = _fields(body)
    if not isinstance(data, dict):
        return _fail(BadEvent("invalid_json", "The body must be a JSON object."), 400)
    try:
        event = read_event(data)
    except BadEvent as error:
        return _fail(error, 400)
    call = records.record(connection, event)
    if call is None:
        return jsonify(ok=True, duplicate=True)
    return jsonify(ok=True, call=call.id, status=call.status)
