"""Requests from Twilio: which shop number they are for, and whether Twilio signed them.

Every Twilio webhook URL carries the number's own token (``/calls/twilio/<token>/…``), and the
request must carry ``X-Twilio-Signature`` made with the shop's auth token over the URL Huike
published — built from ``BASE_URL``, never from the Host header a proxy passes on — and the
posted form. Anything else is 403 and records nothing: a forged signature, a request signed for
another URL, a request of one number replayed against another's.
"""

from __future__ import annotations

import logging

from flask import abort, current_app, request
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from app.calls import secrets
from app.calls.models import CallConnection, CallNumber
from tenants.db import bind_tenant, cross_tenant, db

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Twilio-Signature"


def base_url() -> str:
    """Where Twilio reaches Huike: ``BASE_URL``; a try-out without it, the address it was
    reached at."""
    return current_app.config["BASE_URL"] or request.host_url.rstrip("/")


def public_url() -> str:
    """The URL Twilio requested, as the shop pasted it: ``BASE_URL`` + path + query."""
    query = request.query_string.decode()
    return f"{base_url()}{request.path}" + (f"?{query}" if query else "")


def hook_url(token: str, kind: str) -> str:
    """A number's webhook URL (``voice``, ``status``, ``recording``, …) as Twilio will request
    it, so the signature Twilio makes over it is the one ``signed_number`` checks."""
    return f"{base_url()}/calls/twilio/{token}/{kind}"


def signed_number(token: str) -> tuple[CallNumber, CallConnection]:
    """The number this request is for, with its connection and its shop bound; 404 for an
    unknown token, 403 unless Twilio signed exactly this request with the shop's auth token."""
    with cross_tenant():
        found = db.execute(
            select(CallNumber, CallConnection)
            .join(CallConnection, CallConnection.id == CallNumber.connection_id)
            .where(
                CallNumber.token == token,
                CallConnection.kind == "twilio",
                CallConnection.enabled.is_(True),
            )
        ).first()
    if found is None:
        abort(404)
    number, connection = found
    bind_tenant(connection.tenant_id)
    auth_token = secrets.decrypt(connection.auth_token_enc)
    signature = request.headers.get(SIGNATURE_HEADER, "")
    params = request.form.to_dict(flat=True)
    if not auth_token or not signature:
        log.warning("twilio hook for number %s: unsigned", number.id)
        abort(403)
    if not RequestValidator(auth_token).validate(public_url(), params, signature):
        log.warning("twilio hook for number %s: signature does not match", number.id)
        abort(403)
    return number, connection
