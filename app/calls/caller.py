"""Who is calling, as the call's card and page show it: the CRM customer the number names, what
they were just looking at on the site, when the shop last heard from them, their open tasks;
and what an agent records of the call (notes, outcome, the number linked to a customer).

No Flask request objects here; the caller commits once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from app.calls import pop
from app.calls.models import Call, Task
from app.calls.signals import call_noted
from app.chat import service as chat
from app.chat.visitors import ON_SITE
from app.crm import service as crm
from tenants.db import db, scoped_get, utcnow
from tenants.errors import ServiceError

OUTCOMES = {
    "resolved": _l("Resolved"),
    "sale": _l("Sale"),
    "callback_needed": _l("Call back"),
    "complaint": _l("Complaint"),
    "wrong_number": _l("Wrong number"),
    "other": _l("Other"),
}
MAX_NOTES = 5000
SHOWN_PAGES = 5
SHOWN_TASKS = 5


@dataclass(frozen=True)
class Contact:
    kind: str  # "call" | "chat" | "left_message"
    at: datetime


def call_or_404(call_id) -> Call:
    call = scoped_get(Call, call_id)
    if call is None:
        raise ServiceError("not_found")
    return call


def customer_of(call: Call):
    """The call's customer, or the one holding its number now (added since it rang)."""
    customer = pop.caller(call)
    if customer is None and call.customer_number.startswith("+"):
        customer = crm.find_by_contact(phones=[call.customer_number])
    return customer


def web_activity(customer_id: int) -> dict | None:
    """The customer's latest browser: on the site now or when last, its newest pages, and where
    the visit came from (source, search keyword)."""
    visitor = crm.latest_visitor(customer_id)
    if visitor is None:
        return None
    return {
        "visitor": visitor,
        "on_site": visitor.last_seen_at >= utcnow() - ON_SITE,
        "pages": chat.recent_pages(visitor.id, limit=SHOWN_PAGES),
    }


def last_contact(call: Call, customer, facts: dict) -> Contact | None:
    """When the shop last heard from them before this call: a call, a chat or a left message."""
    seen = []
    earlier = db.scalar(
        select(Call.started_at)
        .where(Call.customer_id == customer.id, Call.id != call.id)
        .where(Call.started_at < call.started_at)
        .order_by(Call.started_at.desc())
        .limit(1)
    )
    if earlier is not None:
        seen.append(Contact("call", earlier))
    if facts["conversations"]:
        latest = facts["conversations"][0]
        seen.append(Contact("chat", latest.last_message_at or latest.created_at))
    if facts["left_messages"]:
        seen.append(Contact("left_message", facts["left_messages"][0].occurred_at))
    before = [contact for contact in seen if contact.at < call.started_at]
    return max(before, key=lambda contact: contact.at) if before else None


def open_tasks(call: Call, customer) -> list[Task]:
    """Calls still to make to this customer or number, the most due first."""
    whose = [Task.phone == call.customer_number] if call.customer_number else []
    if customer is not None:
        whose.append(Task.customer_id == customer.id)
    if not whose:
        return []
    return list(
        db.scalars(
            select(Task)
            .where(Task.status == "open", or_(*whose))
            .order_by(Task.due_at, Task.id)
            .limit(SHOWN_TASKS)
        )
    )


def matches(q: str) -> list:
    """Customers a "link to a customer" search names (the CRM's own search)."""
    q = (q or "").strip()[:120]
    if not q:
        return []
    return list(db.scalars(crm.search({"q": q}).limit(6)))


def link_number(call: Call, customer_id) -> None:
    """The caller is this customer: their record gets the number, the call gets the customer."""
    customer = crm.live(crm.customer_or_404(customer_id))
    number = call.customer_number
    if not number.startswith("+"):
        raise ServiceError("call_number_unreadable")
    holder = crm.find_by_contact(phones=[number])
    if holder is not None and holder.id != customer.id:
        raise ServiceError("call_number_held")
    crm.add_contacts(customer, phones=[number])
    if number not in {phone.e164 for phone in customer.phones}:
        raise ServiceError("call_number_limit", max=crm.MAX_PHONES)
    call.customer_id = customer.id
    db.flush()


def save_outcome(call: Call, notes: str, outcome: str) -> None:
    notes = (notes or "").replace("\r\n", "\n").strip()
    if len(notes) > MAX_NOTES:
        raise ServiceError("too_long", field="notes", max=MAX_NOTES)
    if outcome and outcome not in OUTCOMES:
        raise ServiceError("call_outcome_invalid", field="outcome")
    call.notes, call.outcome = notes, outcome
    if call.customer_id is None:  # a customer added for the number since it rang
        customer = customer_of(call)
        call.customer_id = customer.id if customer is not None else None
    db.flush()
    call_noted.send(call)


def ringing_for(membership_id: int, limit: int = 10) -> list[Call]:
    """The calls ringing now that pop for this agent (a console page opened mid-ring)."""
    calls = db.scalars(
        select(Call)
        .where(Call.status == "ringing")
        .order_by(Call.started_at.desc(), Call.id.desc())
        .limit(limit)
    ).all()
    if not calls:
        return []
    online = [state.membership_id for state in chat.online_agents()]
    return [call for call in calls if membership_id in pop.targets(call, True, online)]
