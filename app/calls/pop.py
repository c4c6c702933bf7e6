"""The screen pop (来电弹屏): what an agent's console is told about a call, and which agents.

``call_json`` is the ``call`` event's payload on ``/agent`` (docs/realtime.md): enough for the
card to draw at once (the number, the customer's name and returning mark, the status), the
rest comes with the card's fragment (app/calls/card.py). It runs on the webhook's hot path:
a handful of lookups by primary key, nothing that grows with the shop.
"""

from __future__ import annotations

from datetime import datetime

import phonenumbers

from app.calls.models import Call
from app.chat import service as chat
from app.chat.payloads import member_name
from app.chat.peers import AGENT, emit_after_commit, member_room
from app.crm import service as crm
from app.crm.models import Customer
from tenants.db import scoped_get, scoped_get_once
from tenants.models import Membership, Tenant
from tenants.plans import entitlements


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def readable(number: str, country: str) -> str:
    """+8613800000000 reads 138 0000 0000 in a shop of that country, +1 201-555-0123 abroad;
    what is no phone number (an extension, "anonymous") as it came."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return number
    style = phonenumbers.PhoneNumberFormat
    home = phonenumbers.region_code_for_number(parsed) == country
    return phonenumbers.format_number(parsed, style.NATIONAL if home else style.INTERNATIONAL)


def caller(call: Call):
    """The CRM customer the call's number matched (followed through merges), or None."""
    if call.customer_id is None:
        return None
    # once per unit: records.record found them by the number already
    return crm.live(scoped_get_once(Customer, call.customer_id))


def call_json(call: Call, tenant: Tenant | None = None) -> dict:
    tenant = tenant or scoped_get_once(Tenant, call.tenant_id)
    customer = caller(call)
    agent = scoped_get(Membership, call.agent_id) if call.agent_id else None
    return {
        "id": call.id,
        "call_ref": call.call_ref,
        "status": call.status,
        "direction": call.direction,
        "kind": call.kind,
        "number": call.customer_number,
        "number_display": readable(call.customer_number, tenant.country if tenant else "CN"),
        "agent_id": call.agent_id,
        "agent_name": member_name(agent),
        "customer": None
        if customer is None
        else {
            "id": customer.id,
            "name": customer.name,
            # the shop knew them before they rang (a record made during the call is not)
            "returning": customer.created_at < call.started_at or customer.order_count > 0,
            "order_count": customer.order_count,
        },
        "started_at": _iso(call.started_at),
        "answered_at": _iso(call.answered_at),
        "ended_at": _iso(call.ended_at),
        "duration": call.duration,
        "cause": call.cause,
    }


def targets(call: Call, ringing: bool, online: list[int] | None = None) -> list[int]:
    """Who the call pops for: ringing, its agent when online, else every online agent; once
    taken or over, every online agent, so a card shown to any of them is put away.
    ``online``: the shop's online agents, when the caller has them already."""
    if online is None:
        online = [state.membership_id for state in chat.online_agents()]
    if ringing and call.agent_id in online:
        return [call.agent_id]
    return online


def announce(call: Call, ringing: bool = False) -> None:
    """Tell the call's agents, after the commit, if the shop's calls module is on (a locked
    shop's calls are recorded, nothing pops until it upgrades)."""
    tenant = scoped_get_once(Tenant, call.tenant_id)  # records.record read it for the numbers
    if tenant is None or not entitlements(tenant).has("calls"):
        return
    who = targets(call, ringing)
    if not who:
        return
    payload = call_json(call, tenant)
    for membership_id in who:
        emit_after_commit("call", payload, member_room(call.tenant_id, membership_id), AGENT)
