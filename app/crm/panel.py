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

from app.chat.models import Visitor
from app.chat.widget import announce_visitor
from app.crm import recognition
from app.crm import service as crm
from app.crm.facts import customer_facts
from app.features import GatedBlueprint
from app.messages import message_for
from tenants.db import db, scoped_get
from tenants.errors import ServiceError


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
