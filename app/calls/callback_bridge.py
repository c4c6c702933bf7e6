"""Twilio's side of a callback once the agent answers: the TwiML that bridges the visitor, and
what Twilio reports of the visitor's leg.

Both URLs carry the shop number's token and are checked like every Twilio request
(``twilio_requests.signed_number``): a forged or replayed request is 403 and changes nothing,
and another shop's callback id is 404.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from twilio.twiml.voice_response import VoiceResponse

from app.calls.callback_jobs import queue_task
from app.calls.models import Call, CallbackRequest
from app.calls.twilio_requests import signed_number
from tenants.db import db, scoped_get
from tenants.models import Tenant

bp = Blueprint("calls_bridge", __name__, url_prefix="/calls/twilio/<token>/bridge")

WHISPER = _l("A callback request from your website. Connecting you now.")
# the visitor's leg ended without being answered: Twilio's final statuses of a dialled number
NOT_REACHED = ("busy", "no-answer", "failed", "canceled")


def _callback(callback_id: int) -> CallbackRequest:
    callback = scoped_get(CallbackRequest, callback_id)
    if callback is None:
        abort(404)
    return callback


@bp.post("/<int:callback_id>")
def bridge(token: str, callback_id: int):
    """The agent answered: tell them what the call is, then dial the visitor with the shop's
    number as the caller id (answerOnBridge: the agent hears the visitor's phone ring)."""
    number, _connection = signed_number(token)
    callback = _callback(callback_id)
    tenant = scoped_get(Tenant, number.tenant_id)
    response = VoiceResponse()
    with force_locale(tenant.locale):
        response.say(str(WHISPER), language="zh-CN" if tenant.locale.startswith("zh") else "en-US")
    dial = response.dial(answer_on_bridge=True, caller_id=number.e164)
    base = current_app.config["BASE_URL"] or request.host_url.rstrip("/")  # as Twilio signs it
    status_url = base + url_for(".visitor_status", token=token, callback_id=callback.id)
    dial.number(
        callback.phone, status_callback=status_url, status_callback_event="answered completed"
    )
    return Response(str(response), mimetype="text/xml")


@bp.post("/<int:callback_id>/status")
def visitor_status(token: str, callback_id: int):
    """The visitor's leg: answered, the callback is bridged; ended unanswered, it is a task
    for the agent who was on the line."""
    signed_number(token)
    callback = _callback(callback_id)
    status = request.form.get("CallStatus", "")
    if callback.status == "calling" and status in ("in-progress", "completed"):
        callback.status = "bridged"  # completed: answered, even when "answered" was lost
    elif callback.status == "calling" and status in NOT_REACHED:
        call = db.scalar(
            select(Call).where(Call.callback_id == callback.id).order_by(Call.id.desc()).limit(1)
        )
        queue_task(callback, call)
    db.flush()
    return Response(status=204)
