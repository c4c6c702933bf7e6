"""Calls on the customer's timeline: one entry per call (kind "call"), kept current as the call
rings, is answered and ends; a call from a number that becomes a customer's later joins that
customer's timeline, and a merged customer's calls follow them.

Like the CRM's own listeners these run for every shop, so what a trial collects is there after
an upgrade; only the pages are gated.
"""

from __future__ import annotations

from sqlalchemy import select, update

from app.calls.models import Call
from app.calls.signals import call_answered, call_ended, call_noted, call_ringing
from app.crm import service as crm
from app.crm import signals as crm_signals
from tenants.db import db

# Calls of a number that a customer gains, joined at once: a number that called thousands of
# times (a switchboard, a spammer) must not make one request write thousands of entries.
CLAIM_LIMIT = 500


def keep_on_timeline(call: Call) -> None:
    """The call's entry on its customer's timeline, added or brought up to date."""
    if call.customer_id is None:
        return
    facts = {
        "summary": call.notes[:300],
        "data": {
            "kind": call.kind,
            "direction": call.direction,
            "status": call.status,
            "number": call.customer_number,
            "duration": call.duration,
            "agent_id": call.agent_id,
            "outcome": call.outcome,
        },
        "occurred_at": call.started_at,
    }
    # a new entry is inserted complete (no UPDATE after it); an existing one brought up to date
    entry = crm.add_entry(call.customer_id, "call", ref_id=call.id, **facts)
    crm.update_entry(entry, **facts)


@call_ringing.connect
@call_answered.connect
@call_ended.connect
@call_noted.connect
def _on_call(call: Call, **_) -> None:
    keep_on_timeline(call)


@crm_signals.phones_added.connect
def _on_phones_added(customer, phones: list[str], **_) -> None:
    """Calls nobody was known for, from a number the customer now has, are theirs."""
    unlinked = select(Call).where(Call.customer_id.is_(None), Call.customer_number.in_(phones))
    for call in db.scalars(unlinked.order_by(Call.id.desc()).limit(CLAIM_LIMIT)).all():
        call.customer_id = customer.id
        keep_on_timeline(call)


@crm_signals.customer_merged.connect
def _on_customer_merged(customer, source_id: int, **_) -> None:
    """The merge moved the other record's timeline (its call entries too): its calls follow."""
    db.execute(update(Call).where(Call.customer_id == source_id).values(customer_id=customer.id))
