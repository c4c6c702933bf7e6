"""The call's card and page in the console: ``/console/calls/<id>/card`` is the fragment the
screen pop (widget_js/console/calls.js) draws under the caller's name, ``/console/calls/<id>``
the call's own page (details, recording, notes and outcome, a follow-up). Both show the same
caller fragment (app/calls/caller.py). Routes of the calls blueprint, behind its gate."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.calls import caller, pop
from app.calls.models import Call
from app.calls.views import bp
from app.chat.payloads import member_name
from app.crm import service as crm
from app.crm.views import VISIT_SOURCE_NAMES
from app.features import current_entitlements
from app.messages import message_for
from tenants.db import db
from tenants.errors import ServiceError
from tenants.models import Membership

STATUS_NAMES = {
    "ringing": _l("Ringing"),
    "answered": _l("In progress"),
    "ended": _l("Ended"),
    "missed": _l("Missed"),
    "busy": _l("Busy"),
    "failed": _l("Failed"),
}
DIRECTION_NAMES = {"in": _l("Incoming"), "out": _l("Outgoing")}
# the generic webhook's causes (Zammad's and sipgate's words) and the clock's sweep
CAUSE_NAMES = {
    "normalclearing": _l("Hung up normally"),
    "busy": _l("The line was busy"),
    "cancel": _l("The caller hung up before an answer"),
    "noanswer": _l("Nobody answered"),
    "rejected": _l("Rejected"),
    "failed": _l("The call failed"),
    "noendevent": _l("The provider never said it ended"),
}
CONTACT_NAMES = {"call": _l("Call"), "chat": _l("Chat"), "left_message": _l("Left message")}
# the screen pop's words (widget_js/console/calls.js), sent with its first request
POP_WORDS = {
    "calls": _l("Calls"),
    "incoming": _l("Incoming call"),
    "outgoing": _l("Outgoing call"),
    "callback": _l("Free callback"),
    "ringing": _l("Ringing"),
    "answered": _l("Answered"),
    "taken_by_you": _l("You took it"),
    "taken_by": _l("Taken by %(name)s"),
    "status_ended": _l("Call ended"),
    "status_missed": _l("Missed call"),
    "status_busy": _l("Busy"),
    "status_failed": _l("Failed"),
    "take": _l("I took it"),
    "open_call": _l("Open the call"),
    "details": _l("Details"),
    "dismiss": _l("Dismiss"),
    "returning": _l("Returning"),
    "hidden_number": _l("Hidden number"),
    "loading": _l("Loading the caller's details…"),
    "card_failed": _l("The caller's details could not be loaded."),
    "error_generic": _l("Something went wrong. Try again."),
    "sound_hint": _l("Enable sound"),
    "sound_why": _l("The browser keeps sound off after a reload until you click."),
    "notify": _l("Call from %(name)s"),
}


def _call(call_id: int) -> Call:
    try:
        return caller.call_or_404(call_id)
    except ServiceError:
        abort(404)


def _crm_on() -> bool:
    rights = current_entitlements()
    return bool(rights and rights.has("crm"))


def caller_context(call: Call, here: str, **extra) -> dict:
    """What the caller fragment (calls/_caller.html) draws; ``here``: where its search goes."""
    customer = caller.customer_of(call)
    crm_on = _crm_on()
    context = {
        "call": call,
        "customer": customer,
        "crm_on": crm_on,
        "here": here,
        "tasks": caller.open_tasks(call, customer),
        "contact_names": CONTACT_NAMES,
        "visit_source_names": VISIT_SOURCE_NAMES,
        "activity": None,
        "last_contact": None,
        "found": [],
        "q": "",
        **extra,
    }
    if customer is not None:
        context["activity"] = caller.web_activity(customer.id)
        context["returning"] = customer.created_at < call.started_at or customer.order_count > 0
        if crm_on:
            facts = crm.customer_facts(customer)
            context.update(facts, last_contact=caller.last_contact(call, customer, facts))
    elif crm_on:
        context["q"] = request.args.get("q", "").strip()[:120]
        context["found"] = caller.matches(context["q"])
    return context


@bp.get("/ringing", endpoint="ringing")
def ringing():
    """The calls ringing for me now: a console page opened mid-ring draws their cards (and
    the words they are drawn with)."""
    member_id = current_user.membership.id
    return jsonify(
        calls=[pop.call_json(c) for c in caller.ringing_for(member_id)],
        words={key: str(words) for key, words in POP_WORDS.items()},
    )


@bp.get("/<int:call_id>/card", endpoint="card")
def card(call_id: int):
    call = _call(call_id)
    here = url_for(".card", call_id=call.id)
    return render_template("calls/_caller.html", card=True, **caller_context(call, here))


@bp.post("/<int:call_id>/link", endpoint="link")
def link(call_id: int):
    """Add the caller's number to the customer chosen in the search. From the card (fetch) the
    answer is the redrawn fragment; from the call page, the page again."""
    call = _call(call_id)
    if not _crm_on():  # the card offers no link without the CRM; a stale one is refused
        return render_template("console/upgrade.html", feature="crm"), 402
    from_card = request.form.get("from") == "card"
    here = url_for(".card" if from_card else ".call", call_id=call.id)
    try:
        with db.begin_nested():
            caller.link_number(call, request.form.get("customer_id"))
    except ServiceError as error:  # a customer not found is the form's error, not a 404
        if from_card:
            context = caller_context(call, here, link_error=message_for(error))
            return render_template("calls/_caller.html", card=True, **context), 400
        flash(message_for(error), "error")
        return redirect(here)
    pop.announce(call, ringing=call.status == "ringing")  # its open cards show the name
    if from_card:
        return render_template("calls/_caller.html", card=True, **caller_context(call, here))
    flash(_("The number was added to the customer."), "success")
    return redirect(here)


def _members() -> list[Membership]:
    return list(
        db.scalars(
            select(Membership)
            .options(selectinload(Membership.user))
            .where(Membership.status == "active")
            .order_by(Membership.id)
        )
    )


def _page(call: Call, status: int = 200, **form):
    members = _members()
    names = {m.id: member_name(m) for m in members}
    context = caller_context(call, url_for(".call", call_id=call.id))
    return render_template(
        "calls/call.html",
        members=members,
        member_names=names,
        status_names=STATUS_NAMES,
        direction_names=DIRECTION_NAMES,
        cause_name=CAUSE_NAMES.get(call.cause.lower(), call.cause) if call.cause else "",
        outcomes=caller.OUTCOMES,
        number_display=pop.readable(call.customer_number, current_user.tenant.country),
        **context,
        **form,
    ), status


@bp.get("/<int:call_id>", endpoint="call")
def call_page(call_id: int):
    return _page(_call(call_id))


@bp.post("/<int:call_id>", endpoint="save")
def save(call_id: int):
    call = _call(call_id)
    notes, outcome = request.form.get("notes", ""), request.form.get("outcome", "")
    try:
        with db.begin_nested():
            caller.save_outcome(call, notes, outcome)
    except ServiceError as error:
        return _page(call, 400, error=message_for(error), typed_notes=notes, typed_outcome=outcome)
    flash(_("Notes and outcome saved."), "success")
    return redirect(url_for(".call", call_id=call.id))
