"""A customer's record in the console (/console/customers/<id>): adding and editing a customer,
the record with its timeline, notes, tags and owner, merging a duplicate into it, and deleting
it. Its routes join the Customers blueprint (``views.bp``) and its gate."""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.crm import service
from app.crm.models import Customer, Order, TimelineEntry
from app.crm.views import (
    bp,
    cursor,
    cursor_of,
    error_text,
    known_tags,
    page_context,
    phone_format,
)
from app.forms import act
from app.messages import message_for
from tenants.db import db, scoped_get
from tenants.errors import ServiceError
from tenants.permissions import admin_required


def _customer(customer_id: int) -> Customer:
    """The shop's customer, or 404. A merged one sends the request on to where it went."""
    customer = scoped_get(Customer, customer_id) or abort(404)
    if not customer.merged_into_id:
        return customer
    survivor = service.live(customer)
    if survivor is None or survivor.merged_into_id:
        abort(404)
    if request.method == "GET":
        args = {**request.view_args, **request.args.to_dict(), "customer_id": survivor.id}
        abort(redirect(url_for(request.endpoint, **args)))
    flash(_("That customer was merged into this one; nothing was changed. Try again here."), "info")
    abort(redirect(url_for(".customer", customer_id=survivor.id)))


def _record(customer: Customer, anchor: str = ""):
    return redirect(url_for(".customer", customer_id=customer.id) + anchor)


# --- create and edit -------------------------------------------------------------------------


def _items(text: str) -> list[str]:
    """Phones, e-mails or tags written one per line or separated by commas (Chinese ones too)."""
    return [part.strip() for part in re.split(r"[\n,;，；、]+", text or "") if part.strip()]


def _form_data(customer: Customer | None) -> dict:
    """The customer's data from the form: only the inputs it has, and only the custom fields
    whose value changed (an old value no longer among a field's choices can stay)."""
    form = request.form
    data: dict = {
        key: form[key] for key in ("name", "company", "external_id", "owner_id") if key in form
    }
    for key in ("phones", "emails"):
        if key in form:
            data[key] = _items(form[key])
    if "tags" in form:
        data["tags"] = _items(form["tags"])
    stored = (customer.fields or {}) if customer else {}
    changed = {}
    for field in service.custom_fields():
        name = f"fields.{field.key}"
        before = stored.get(field.key)
        if name in form and form[name].strip() != ("" if before is None else str(before)):
            changed[field.key] = form[name]
    if changed:
        data["fields"] = changed
    return data


def _prefill() -> dict:
    """A new customer's form started from elsewhere: ``?phone=`` (a caller's number)."""
    phone = request.args.get("phone", "").strip()[:40]
    return {"phones": phone_format(phone)} if phone else {}


def _edit_page(customer: Customer | None, error: ServiceError | None = None):
    errors = {(error.field or "form"): error_text(error)} if error else {}
    values = request.form if error else ({} if customer else _prefill())
    return render_template(
        "crm/edit.html",
        customer=customer,
        values=values,
        errors=errors,
        fields=service.custom_fields(),
        owners=service.owners(),
        known_tags=known_tags(),
        **page_context(),
    ), 400 if error else 200


def _save(customer: Customer | None) -> Customer:
    """Save the form, as the API and the import do: a customer needs a name, user id, phone
    or e-mail (an empty form adds nobody), and an edit may not take the last of them away."""
    had_identity = customer is None or service.has_identity(customer)
    author = current_user.membership.id
    saved = service.save_customer(customer, _form_data(customer), author_id=author)
    if had_identity and not service.has_identity(saved):
        raise ServiceError("customer_empty", field="name")
    return saved


@bp.route("/new", methods=["GET", "POST"])
def new_customer():
    if request.method == "GET":
        return _edit_page(None)
    try:
        with db.begin_nested():  # refused: the form shows why, over what was stored before
            customer = _save(None)
    except ServiceError as error:
        return _edit_page(None, error)
    flash(_("Customer added."), "success")
    return _record(customer)


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
def edit_customer(customer_id: int):
    customer = _customer(customer_id)
    if request.method == "GET":
        return _edit_page(customer)
    try:
        with db.begin_nested():
            _save(customer)
    except ServiceError as error:
        return _edit_page(customer, error)
    flash(_("Customer saved."), "success")
    return _record(customer)


# --- the record and its timeline --------------------------------------------------------------


def _timeline_page(customer: Customer) -> dict:
    """One page of the timeline, newest first, and the link to the next older page."""
    before = cursor(request.args.get("before"))
    entries = service.timeline(customer.id, before, limit=service.TIMELINE_PAGE + 1)
    older = None
    if len(entries) > service.TIMELINE_PAGE:
        entries = entries[: service.TIMELINE_PAGE]
        older = cursor_of(entries[-1].occurred_at, entries[-1].id)
    return {"entries": entries, "older": older}


@bp.get("/<int:customer_id>")
def customer(customer_id: int):
    record = _customer(customer_id)
    try:
        page = _timeline_page(record)
    except ServiceError as error:
        flash(message_for(error), "error")
        return _record(record)
    orders = select(Order).where(Order.customer_id == record.id)
    return render_template(
        "crm/customer.html",
        customer=record,
        **page,
        visits=service.visit_summary(record.id),
        orders=list(db.scalars(orders.order_by(Order.placed_at.desc(), Order.id.desc()).limit(5))),
        fields=service.custom_fields(),
        owners=service.owners(),
        known_tags=known_tags(),
        **page_context(),
    )


@bp.get("/<int:customer_id>/timeline")
def timeline(customer_id: int):
    """An older page of the timeline as an HTML fragment, for the record page's "Older"."""
    record = _customer(customer_id)
    try:
        page = _timeline_page(record)
    except ServiceError as error:
        return message_for(error), 400
    return render_template("crm/_timeline_page.html", customer=record, **page, **page_context())


@bp.post("/<int:customer_id>/notes")
def add_note(customer_id: int):
    record = _customer(customer_id)
    text = request.form.get("text", "")
    act(lambda: service.add_note(record, current_user.membership.id, text), _("Note added."))
    return _record(record, "#timeline")


@bp.post("/<int:customer_id>/tags")
def add_tag(customer_id: int):
    record = _customer(customer_id)
    tag = service.normalize_tag(request.form.get("tag", ""))

    def add():
        if not tag:
            raise ServiceError("required", field="tag")
        service.save_customer(record, {"tags": [t.tag for t in record.tags] + [tag]})

    act(add)
    return _record(record, "#tags")


@bp.post("/<int:customer_id>/tags/remove")
def remove_tag(customer_id: int):
    record = _customer(customer_id)
    tag = request.form.get("tag", "")
    kept = [t.tag for t in record.tags if t.tag != tag]
    act(lambda: service.save_customer(record, {"tags": kept}))
    return _record(record, "#tags")


@bp.post("/<int:customer_id>/owner")
def set_owner(customer_id: int):
    record = _customer(customer_id)
    owner_id = request.form.get("owner_id", "")
    act(lambda: service.save_customer(record, {"owner_id": owner_id}), _("Owner saved."))
    return _record(record)


# --- merge and delete ------------------------------------------------------------------------


@bp.get("/<int:customer_id>/merge")
def merge_pick(customer_id: int):
    """Find the duplicate: a search, and the customers with the very same name to start with."""
    record = _customer(customer_id)
    q = request.args.get("q", "").strip()
    if q:
        query = service.search({"q": q})
    else:
        query = select(Customer).where(
            Customer.name_key == record.name_key, Customer.merged_into_id.is_(None)
        )
        if not record.name_key:
            query = query.where(False)
    query = query.where(Customer.id != record.id).options(selectinload(Customer.phones))
    return render_template(
        "crm/merge.html",
        customer=record,
        q=q,
        candidates=list(db.scalars(query.limit(20))),
        **page_context(),
    )


def _merge_refusal(target: Customer, source: Customer) -> str | None:
    """What service.merge would refuse, said before the confirmation is offered."""
    if target.id == source.id:
        return message_for(ServiceError("merge_same"))
    if source.merged_into_id:
        return message_for(ServiceError("merge_merged"))
    return None


@bp.route("/<int:customer_id>/merge/<int:other_id>", methods=["GET", "POST"])
def merge(customer_id: int, other_id: int):
    """``customer_id`` lives on; ``other_id`` is folded into it."""
    target = _customer(customer_id)
    source = scoped_get(Customer, other_id) or abort(404)
    if request.method == "POST":
        author = current_user.membership.id
        act(
            lambda: service.merge(target, source, author),
            _("Merged: everything of the other customer is on this record now."),
        )
        return _record(target, "#timeline")
    moving = select(func.count(TimelineEntry.id)).where(TimelineEntry.customer_id == source.id)
    return render_template(
        "crm/merge_confirm.html",
        target=target,
        source=source,
        refusal=_merge_refusal(target, source),
        source_entries=db.scalar(moving),
        source_visits=service.visit_summary(source.id),
        fields=service.custom_fields(),
        **page_context(),
    )


@bp.route("/<int:customer_id>/delete", methods=["GET", "POST"])
@admin_required
def delete_customer(customer_id: int):
    record = _customer(customer_id)
    if request.method == "GET" or request.form.get("confirm") != "yes":
        entries = select(func.count(TimelineEntry.id)).where(TimelineEntry.customer_id == record.id)
        return render_template(
            "crm/delete.html", customer=record, entries=db.scalar(entries), **page_context()
        )
    service.delete_customer(record)
    flash(_("Customer deleted."), "success")
    return redirect(url_for(".customers"))
