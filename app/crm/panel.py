"""The customer side panel of the chat console: who the visitor of the open chat is.

The console fetches it as an HTML fragment for the chat's visitor. With the ``crm`` module it
shows the customer's contacts, tags, owner, visits, orders, past chats, left messages and
notes (with a box to add one), or, for a visitor not known yet, a form to link them by a phone
or e-mail; without it, an upgrade prompt. Names and the "returning" mark show on every plan
(app/chat/payloads.py): the chat is free, the record is Pro.
"""

from __future__ import annotations

from flask import abort, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app.chat.models import Conversation, Visitor
from app.chat.payloads import member_name
from app.chat.widget import announce_visitor
from app.crm import recognition
from app.crm import service as crm
from app.crm.models import Customer, Order, TimelineEntry
from app.features import GatedBlueprint
from app.messages import message_for
from tenants.db import db, scoped_get
from tenants.errors import ServiceError
from tenants.models import Membership

SHOWN = 5  # of each list; the full record has the rest


def _upgrade_prompt():
    """Without CRM the panel is the upgrade prompt, in its place in the chat page (which loads
    it as the panel); a form sent from a panel drawn before the plan changed is refused."""
    return render_template("crm/_panel.html", locked=True), 200 if request.method == "GET" else 402


bp = GatedBlueprint(
    "crm_panel",
    __name__,
    feature="crm",
    url_prefix="/console/visitors",
    locked_page=_upgrade_prompt,
)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every answer here needs a signed-in member of this shop."""


def _visitor_or_404(visitor_id: int) -> Visitor:
    visitor = scoped_get(Visitor, visitor_id)
    if visitor is None:
        abort(404)
    return visitor


@bp.get("/<int:visitor_id>/customer")
def panel(visitor_id: int):
    return _render(_visitor_or_404(visitor_id))


@bp.post("/<int:visitor_id>/customer/notes")
def add_note(visitor_id: int):
    visitor = _visitor_or_404(visitor_id)
    customer = recognition.customer_of(visitor)
    if customer is None:
        abort(404)
    text = request.form.get("text", "")
    try:
        with db.begin_nested():  # a refusal undoes only this, before the panel shows it
            crm.add_note(customer, current_user.membership.id, text)
    except ServiceError as error:
        return _render(visitor, error=message_for(error), note_text=text), 400
    return _render(visitor)


@bp.post("/<int:visitor_id>/customer/link")
def link(visitor_id: int):
    visitor = _visitor_or_404(visitor_id)
    phone, email = request.form.get("phone", ""), request.form.get("email", "")
    try:
        with db.begin_nested():
            recognition.link(visitor, phone, email)
    except ServiceError as error:
        return _render(visitor, error=message_for(error), phone=phone, email=email), 400
    announce_visitor(visitor)  # every agent's lists show the name, once it is stored
    return _render(visitor)


def _render(visitor: Visitor, **form) -> str:
    customer = recognition.customer_of(visitor)
    if customer is None:
        return render_template("crm/_panel.html", visitor=visitor, customer=None, **form)
    return render_template(
        "crm/_panel.html",
        visitor=visitor,
        customer=customer,
        record_url=url_for("crm.customers") + str(customer.id),
        **customer_facts(customer),
        **form,
    )


def customer_facts(customer: Customer) -> dict:
    """What the panel shows of a customer: a handful of indexed queries, however long their
    history (the newest few of each list; the record has the rest)."""
    visitor_ids = select(Visitor.id).where(Visitor.customer_id == customer.id)
    orders = db.scalars(
        select(Order)
        .where(Order.customer_id == customer.id)
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(SHOWN)
    ).all()
    conversations = db.scalars(
        select(Conversation)
        .where(Conversation.visitor_id.in_(visitor_ids))
        .order_by(Conversation.id.desc())
        .limit(SHOWN)
    ).all()
    notes = _entries(customer.id, "note")
    names = _member_names(
        {customer.owner_id, *(c.assignee_id for c in conversations), *(n.author_id for n in notes)}
    )
    return {
        "visits": crm.visit_summary(customer.id),
        "orders": orders,
        "currency": orders[0].currency if orders else "CNY",
        "conversations": conversations,
        "left_messages": _entries(customer.id, "left_message"),
        "notes": notes,
        "owner_name": names.get(customer.owner_id),
        "names": names,
    }


def _entries(customer_id: int, kind: str) -> list[TimelineEntry]:
    """The newest few of one kind through the (customer, kind, ref) index, without walking
    the rest of a long timeline: left messages in the order they were left (their ref is the
    message's id), notes (no ref) in the order they were written."""
    return db.scalars(
        select(TimelineEntry)
        .where(TimelineEntry.customer_id == customer_id, TimelineEntry.kind == kind)
        .order_by(TimelineEntry.ref_id.desc(), TimelineEntry.id.desc())
        .limit(SHOWN)
    ).all()


def _member_names(ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    members = db.scalars(select(Membership).where(Membership.id.in_(wanted)))
    return {m.id: member_name(m) for m in members}
