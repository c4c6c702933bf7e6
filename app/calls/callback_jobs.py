"""Acting on a callback request, in a job (never in the visitor's request).

With the shop's Twilio number and an agent online with a phone, in hours and with no later
preferred time, Twilio rings the agent first (``Calls.create``); when the agent answers, the
bridge TwiML (app/calls/callback_bridge.py) dials the visitor. The agent leg's status callbacks
go to the Twilio webhook of the number, into the same ``Call`` record. Anything else — no
Twilio, nobody online, a later time, Twilio refusing, the agent or the visitor not answering —
makes a callback task, due when the visitor was told to expect the call.
"""

from __future__ import annotations

import logging

import requests
from flask_babel import force_locale, gettext
from sqlalchemy import func, select
from twilio.base.exceptions import TwilioException

from app.calls import callbacks, tasks
from app.calls.models import AgentLine, Call, CallbackRequest, CallConnection, CallNumber
from app.calls.signals import call_ringing
from app.calls.twilio_api import client_for
from app.chat import service as chat
from app.chat.models import Visitor
from tenants.db import current_tenant_id, db, scoped_get, utcnow
from tenants.jobs import job
from tenants.mail import external_url
from tenants.models import Tenant

log = logging.getLogger(__name__)
# what Twilio reports of the agent's leg to the number's status webhook
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]
RING_SECONDS = 25  # the agent's phone rings this long before the leg counts as unanswered


@job("calls.place_callback")
def place_callback(callback_id: int) -> None:
    """Ring an agent and bridge the visitor, or queue the task. Idempotent: a request already
    acted on is left alone."""
    callback = scoped_get(CallbackRequest, callback_id)
    if callback is None or callback.status != "queued":
        return
    tenant = scoped_get(Tenant, current_tenant_id())
    if callback.preferred_at is not None or callbacks.due_at(callback, tenant) > utcnow():
        return queue_task(callback)
    route = twilio_route(callbacks.settings().callback_number_id)
    line = agent_line()
    if route is None or line is None:
        return queue_task(callback)
    number, connection = route
    try:
        placed = client_for(connection).calls.create(
            to=line.phone,
            from_=number.e164,
            url=external_url("calls_bridge.bridge", token=number.token, callback_id=callback.id),
            status_callback=external_url("calls_twilio.status", token=number.token),
            status_callback_event=STATUS_EVENTS,
            timeout=RING_SECONDS,
        )
    except (TwilioException, requests.RequestException) as error:
        log.warning("callback %s: Twilio refused the call (%s)", callback.id, type(error).__name__)
        return queue_task(callback)
    call = Call(
        connection_id=connection.id,
        call_ref=placed.sid,
        kind="callback",
        direction="out",
        from_number=number.e164,
        to_number=line.phone,
        customer_number=callback.phone,
        agent_id=line.membership_id,
        customer_id=_customer_id(callback),
        visitor_id=callback.visitor_id,
        callback_id=callback.id,
        status="ringing",
    )
    db.add(call)
    callback.status = "calling"
    db.flush()
    call_ringing.send(call)  # the agent's console pops the caller's record as their phone rings


def twilio_route(number_id: int | None) -> tuple[CallNumber, CallConnection] | None:
    """The shop's chosen number, when it is on an enabled Twilio connection."""
    if number_id is None:
        return None
    found = db.execute(
        select(CallNumber, CallConnection)
        .join(CallConnection, CallConnection.id == CallNumber.connection_id)
        .where(
            CallNumber.id == number_id,
            CallConnection.kind == "twilio",
            CallConnection.enabled.is_(True),
        )
    ).first()
    return None if found is None else (found[0], found[1])


def agent_line() -> AgentLine | None:
    """An online agent's line with a phone to ring: the one who least recently had a callback
    placed to them (a fair turn among those free to answer)."""
    online = [state.membership_id for state in chat.online_agents()]
    if not online:
        return None
    lines = db.scalars(
        select(AgentLine).where(AgentLine.membership_id.in_(online), AgentLine.phone != "")
    ).all()
    if not lines:
        return None
    last = dict(
        db.execute(
            select(Call.agent_id, func.max(Call.started_at))
            .where(Call.kind == "callback", Call.agent_id.in_([ln.membership_id for ln in lines]))
            .group_by(Call.agent_id)
        ).all()
    )

    def turn(line):
        return (last.get(line.membership_id) is not None, last.get(line.membership_id), line.id)

    return min(lines, key=turn)


def queue_task(callback: CallbackRequest, call: Call | None = None) -> None:
    """The request becomes a callback task, due when the visitor was told to expect the call."""
    tenant = scoped_get(Tenant, current_tenant_id())
    with force_locale(tenant.locale):  # the shop's language: the task is the shop's
        title = gettext("Call back %(phone)s (asked on the website)", phone=callback.phone)
    tasks.open_task(
        "callback",
        source_key=f"callback:{callback.id}",
        title=title,
        customer_id=_customer_id(callback),
        phone=callback.phone,
        call_id=call.id if call is not None else None,
        callback_id=callback.id,
        due_at=max(callbacks.due_at(callback, tenant), utcnow()),
        assignee_id=call.agent_id if call is not None else None,
    )
    callback.status = "task"
    db.flush()


def _customer_id(callback: CallbackRequest) -> int | None:
    visitor = scoped_get(Visitor, callback.visitor_id) if callback.visitor_id else None
    return visitor.customer_id if visitor is not None else None
