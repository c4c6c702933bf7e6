"""Provider events → one call record.

Every provider (Twilio, the generic webhook) hands its request here as a ``ProviderEvent``.
The event is stored once (``call_events`` is unique on connection, call id and event: a
duplicate changes nothing), and the call's record is what the facts of all its events say —
when it rang, was answered, ended, why, for how long — so duplicated and shuffled deliveries end
in the same record, and a call never moves backwards (a final status stays final; only facts a
later event brings can correct which final status it is).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import phonenumbers
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from app.calls.models import AgentLine, Call, CallConnection, CallEvent, CallNumber
from app.calls.signals import call_answered, call_ended, call_ringing
from app.crm import service as crm
from tenants.db import current_tenant_id, db, keep_for_unit, scoped_get_once, utcnow
from tenants.models import Membership, Tenant, User

log = logging.getLogger(__name__)

FINAL = ("ended", "missed", "busy", "failed")
# what a final status is when the call was never answered, by the provider's cause
UNANSWERED_BY_CAUSE = {
    "busy": "busy",
    "rejected": "busy",
    "failed": "failed",
    "congestion": "failed",
    "notfound": "failed",
    "unavailable": "failed",
}
SWEPT = "noEndEvent"  # the cause of a call the clock ended: the provider never said


@dataclass(frozen=True)
class ProviderEvent:
    """One provider event, already read and verified. ``event`` is one of EVENT_KINDS."""

    call_ref: str
    event: str
    occurred_at: datetime
    direction: str = "in"
    from_number: str = ""
    to_number: str = ""
    agent: str = ""  # extension, number or e-mail, as the provider names the agent
    duration: int | None = None
    cause: str = ""
    recording_url: str = ""
    payload: dict = field(default_factory=dict)


def e164(raw: str, region: str) -> str:
    """A number as E.164, read in the shop's country; what does not read stays as it came (a
    PBX's internal extension, "anonymous")."""
    raw = (raw or "").strip()[:32]
    try:
        number = phonenumbers.parse(raw, region or "CN")
    except phonenumbers.NumberParseException:
        return raw
    if not phonenumbers.is_possible_number(number):
        return raw
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def record(connection: CallConnection, event: ProviderEvent) -> Call | None:
    """Store ``event`` for ``connection``'s shop (bound) and bring its call up to date.

    Returns the call, or None for a duplicate (already stored: nothing changes)."""
    if not _store_event(connection, event):
        return None
    call, new = _call_for(connection, event.call_ref)
    before = None if new else call.status
    with db.no_autoflush:  # the lookups in _apply read other tables: one UPDATE, at the flush
        _apply(call, event, _region())
        call.status = status_of(call)
    db.flush()
    _announce(call, before, new)
    return call


def store(connection: CallConnection, event: ProviderEvent) -> bool:
    """Keep an event that changes no call (a dialed leg's ringing or hang-up: its answer is
    the parent call's, recorded with ``record``); False for a duplicate."""
    return _store_event(connection, event)


def status_of(call: Call) -> str:
    """The status the call's facts say, whatever order they came in."""
    if call.ended_at is None:
        return "answered" if call.answered_at is not None else "ringing"
    if call.answered_at is not None or (call.duration or 0) > 0:
        return "ended"
    return UNANSWERED_BY_CAUSE.get(call.cause.lower(), "missed")


def took(call: Call, membership_id: int) -> bool:
    """An agent says they took a ringing call (their phone is not one the provider reports)."""
    if call.status != "ringing":
        return False
    call.agent_id = membership_id
    call.answered_at = utcnow()
    call.status = status_of(call)
    db.flush()
    call_answered.send(call)
    return True


def sweep_ringing(older_than: datetime) -> list[Call]:
    """Calls ringing since before ``older_than`` with no end event: providers lose end events,
    and a call that rang out unanswered is a missed call. A real end event coming later still
    corrects it."""
    calls = list(
        db.scalars(
            select(Call).where(Call.status == "ringing", Call.started_at < older_than).limit(500)
        )
    )
    for call in calls:
        call.ended_at, call.cause = utcnow(), SWEPT
        call.status = status_of(call)
        db.flush()
        call_ended.send(call, previous="ringing")
    return calls


def _region() -> str:
    tenant = scoped_get_once(Tenant, current_tenant_id())  # the pop reads it again
    return tenant.country if tenant else "CN"


def _insert(session):
    dialect = session.connection().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert


def _store_event(connection: CallConnection, event: ProviderEvent) -> bool:
    """True when this event is new (a concurrent duplicate waits for the first and is refused)."""
    session = db()
    statement = (
        _insert(session)(CallEvent.__table__)
        .values(
            tenant_id=connection.tenant_id,
            connection_id=connection.id,
            call_ref=event.call_ref,
            event=event.event,
            occurred_at=event.occurred_at,
            received_at=utcnow(),
            payload=event.payload,
        )
        .on_conflict_do_nothing(index_elements=["connection_id", "call_ref", "event"])
    )
    return session.connection().execute(statement).rowcount == 1


def _call_for(connection: CallConnection, call_ref: str) -> tuple[Call, bool]:
    """The call's record, locked for this unit (two events of one call in two workers update it
    one after the other), and whether this event made it (its status then still empty)."""
    session = db()
    statement = (
        _insert(session)(Call.__table__)
        .values(
            tenant_id=connection.tenant_id,
            connection_id=connection.id,
            call_ref=call_ref,
            status="",
            started_at=utcnow(),
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["connection_id", "call_ref"])
    )
    created = session.connection().execute(statement).rowcount == 1
    query = select(Call).where(Call.connection_id == connection.id, Call.call_ref == call_ref)
    call = session.scalars(query.with_for_update().execution_options(populate_existing=True)).one()
    return call, created


def _apply(call: Call, event: ProviderEvent, region: str) -> None:
    at = event.occurred_at
    if not call.status or at < call.started_at:
        call.started_at = at
    if not call.from_number and event.from_number:
        call.from_number = e164(event.from_number, region)
    if not call.to_number and event.to_number:
        call.to_number = e164(event.to_number, region)
    if event.direction in ("in", "out") and (not call.status or not call.customer_number):
        call.direction = event.direction
    if not call.customer_number:
        call.customer_number = call.from_number if call.direction == "in" else call.to_number
        if call.customer_number:
            call.customer_id = _customer_id(call.customer_number)
    if event.event == "answered" and event.agent:
        # who answered names the agent, whatever the ringing event named (it rang several)
        call.agent_ref = event.agent[:254]
        call.agent_id = _agent_named(call.agent_ref, region) or call.agent_id
    elif event.agent and not call.agent_ref:
        call.agent_ref = event.agent[:254]
    if call.agent_id is None:
        call.agent_id = _agent_named(call.agent_ref, region) or _number_agent(call)
    if event.event == "answered":
        call.answered_at = min(at, call.answered_at or at)
    elif event.event == "ended":
        if call.ended_at is None or call.cause == SWEPT:
            call.ended_at = at
            call.cause = (event.cause or "")[:32]
        if event.duration is not None:
            call.duration = max(0, int(event.duration))
    elif event.event == "recording" and event.recording_url:
        call.recording_url = event.recording_url[:1000]
    if event.recording_url and not call.recording_url:
        call.recording_url = event.recording_url[:1000]
    if call.duration is None and call.answered_at is not None and call.ended_at is not None:
        # no duration from the provider: answer to end, whichever of the two came first
        call.duration = max(0, int((call.ended_at - call.answered_at).total_seconds()))


def _customer_id(number: str) -> int | None:
    if not number.startswith("+"):
        return None
    customer = crm.find_by_contact(phones=[number])
    if customer is None:
        return None
    keep_for_unit(customer)  # the pop's card shows them: not read a second time
    return customer.id


def _agent_named(ref: str, region: str) -> int | None:
    """The agent the provider named: an e-mail, an extension or a phone of an agent's line."""
    ref = ref.strip()
    if not ref:
        return None
    if "@" in ref:
        return db.scalar(
            select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(User.email == ref.lower(), Membership.status == "active")
        )
    return db.scalar(
        select(AgentLine.membership_id).where(
            (AgentLine.extension == ref) | (AgentLine.phone == e164(ref, region))
        )
    )


def _number_agent(call: Call) -> int | None:
    """The agent of the shop's number the call came in on (or went out from)."""
    shop_number = call.to_number if call.direction == "in" else call.from_number
    if shop_number:
        return db.scalar(select(CallNumber.membership_id).where(CallNumber.e164 == shop_number))
    return None


def _announce(call: Call, before: str | None, new: bool) -> None:
    if new and call.status == "ringing":
        call_ringing.send(call)
    if before in (None, "", "ringing") and call.status == "answered":
        call_answered.send(call)
    if call.status in FINAL and before != call.status:
        call_ended.send(call, previous=before or "")
