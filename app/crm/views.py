"""The console's Customers module (/console/customers): the list with its filters and saved
filters, the record with its timeline, edit, tags, notes, merge and delete, and the admin's
custom fields."""

from __future__ import annotations

import re
from datetime import datetime

import phonenumbers
from babel.numbers import get_territory_currencies
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import selectinload

from app.chat.service import agent_names
from app.crm import service
from app.crm.models import (
    FIELD_KINDS,
    Customer,
    CustomerTag,
    CustomField,
    Order,
    SavedFilter,
    TimelineEntry,
)
from app.features import requires_feature
from app.messages import message_for
from tenants.db import db, scoped_get
from tenants.errors import ServiceError
from tenants.permissions import admin_required

bp = Blueprint("crm", __name__, url_prefix="/console/customers")
PAGE = 50
SOURCE_NAMES = {
    "chat": _l("Chat"),
    "left_message": _l("Left message"),
    "identify": _l("Shop login"),
    "api": _l("API"),
    "import": _l("Import"),
    "manual": _l("Entered by hand"),
    "order": _l("Order"),
}
# Where visits came from (app/chat/sources.py); a campaign's own utm_source shows as given.
VISIT_SOURCE_NAMES = {
    "direct": _l("Direct"),
    "referral": _l("Referral link"),
    "baidu": _l("Baidu"),
    "google": _l("Google"),
    "bing": _l("Bing"),
    "360": _l("360 Search"),
    "sogou": _l("Sogou"),
    "shenma": _l("Shenma"),
    "yahoo": _l("Yahoo"),
    "duckduckgo": _l("DuckDuckGo"),
    "yandex": _l("Yandex"),
}
# The list's filter inputs, to say which one a refusal is about.
FILTER_LABELS = {
    "tag": _l("Tag"),
    "owner_id": _l("Account manager"),
    "has_ordered": _l("Has ordered"),
    "ordered_after": _l("Last order from"),
    "ordered_before": _l("Last order before"),
}
KIND_NAMES = {
    "text": _l("Text"),
    "number": _l("Number"),
    "date": _l("Date"),
    "choice": _l("Choice"),
}


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in member of this shop."""


@bp.app_template_filter("phone")
def phone_format(e164: str) -> str:
    """+8613800000000 reads 138 0000 0000 in a shop of that country, +1 201-555-0123 abroad."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    home = current_user.tenant.country if current_user.is_authenticated else None
    same_country = phonenumbers.region_code_for_number(number) == home
    style = phonenumbers.PhoneNumberFormat
    return phonenumbers.format_number(
        number, style.NATIONAL if same_country else style.INTERNATIONAL
    )


def shop_currency() -> str:
    """Totals are kept in minor units of the shop's currency: its country's."""
    currencies = get_territory_currencies(current_user.tenant.country or "CN")
    return currencies[0] if currencies else "CNY"


@bp.context_processor
def _crm_words() -> dict:
    return {
        "source_names": SOURCE_NAMES,
        "kind_names": KIND_NAMES,
        "visit_source_names": VISIT_SOURCE_NAMES,
    }


# --- helpers ---------------------------------------------------------------------------------


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


def _cursor(raw: str | None) -> tuple[datetime, int] | None:
    """A keyset position from a paging link: "<ISO time>,<id>" of the last row shown."""
    if not raw:
        return None
    at, _sep, ident = raw.rpartition(",")
    try:
        position = datetime.fromisoformat(at), int(ident)
    except ValueError:
        raise ServiceError("cursor_invalid") from None
    if position[0].tzinfo is None:
        raise ServiceError("cursor_invalid")
    return position


def _cursor_of(at: datetime, ident: int) -> str:
    return f"{at.isoformat()},{ident}"


def _commit(action, success: str | None = None) -> bool:
    """Run one change: commit and confirm, or roll back and explain (nothing changed)."""
    try:
        action()
        db.commit()
    except ServiceError as error:
        db.rollback()
        flash(error_text(error), "error")
        return False
    if success:
        flash(success, "success")
    return True


def error_text(error: ServiceError) -> str:
    """The error's words, naming the value when the words alone do not say which one."""
    text = message_for(error)
    value = error.params.get("value")
    if value and error.code in ("phone_invalid", "email_invalid"):
        return _("%(message)s (%(value)s)", message=text, value=value)
    return text


def _filter_error_text(error: ServiceError) -> str:
    label = FILTER_LABELS.get(error.field)
    text = error_text(error)
    return _("%(filter)s: %(message)s", filter=label, message=text) if label else text


def _record(customer: Customer, anchor: str = ""):
    return redirect(url_for(".customer", customer_id=customer.id) + anchor)


def _items(text: str) -> list[str]:
    """Phones, e-mails or tags written one per line or separated by commas (Chinese ones too)."""
    return [part.strip() for part in re.split(r"[\n,;，；、]+", text or "") if part.strip()]


def _page_context() -> dict:
    return {"names": agent_names(), "currency": shop_currency()}


# --- the list, search and saved filters ------------------------------------------------------


def filter_params(source) -> dict:
    return {
        key: source.get(key, "").strip()
        for key in service.FILTER_KEYS
        if source.get(key, "").strip()
    }


def _known_tags() -> list[str]:
    """For the tag inputs' suggestions (one index scan, capped)."""
    query = select(CustomerTag.tag).distinct().order_by(CustomerTag.tag).limit(300)
    return list(db.scalars(query))


def _customer_page(params: dict, after: tuple[datetime, int] | None) -> list[Customer]:
    """One page of the list, PAGE + 1 rows to tell whether there is a next one (no COUNT).
    Keyset on (updated_at, id), the order service.search sorts by."""
    query = service.search(params)
    if after is not None:
        # a row comparison: PostgreSQL seeks the (tenant_id, updated_at, id) index to it
        query = query.where(tuple_(Customer.updated_at, Customer.id) < after)
    query = query.options(
        selectinload(Customer.phones), selectinload(Customer.emails), selectinload(Customer.tags)
    )
    return list(db.scalars(query.limit(PAGE + 1)))


@bp.get("/")
@requires_feature("crm")
def customers():
    params = filter_params(request.args)
    rows, error = [], None
    try:
        rows = _customer_page(params, _cursor(request.args.get("after")))
    except ServiceError as exc:
        error = exc
    next_after = (
        _cursor_of(rows[PAGE - 1].updated_at, rows[PAGE - 1].id) if len(rows) > PAGE else None
    )
    views = current_app.view_functions
    return render_template(
        "crm/customers.html",
        customers=rows[:PAGE],
        params=params,
        error=error,
        error_text=_filter_error_text(error) if error else None,
        next_after=next_after,
        paged=bool(request.args.get("after")),
        saved_filters=list(db.scalars(select(SavedFilter).order_by(SavedFilter.name))),
        owners=service.owners(),
        known_tags=_known_tags(),
        can_import="crm.import_start" in views and current_user.is_admin,
        can_export="crm.export" in views,
        **_page_context(),
    ), 400 if error else 200


@bp.post("/filters")
@requires_feature("crm")
def save_filter():
    name = " ".join(request.form.get("name", "").split())
    query = filter_params(request.form)

    def save():
        if not name:
            raise ServiceError("required", field="name")
        if len(name) > 80:
            raise ServiceError("too_long", field="name", max=80)
        if not query:
            raise ServiceError("filter_empty")
        service.search(query)  # a bad filter is refused now, not each time it is used
        db.add(SavedFilter(name=name, query=query, created_by_id=current_user.membership.id))

    _commit(save, _("Filter “%(name)s” saved.", name=name))
    return redirect(url_for(".customers", **query))


@bp.post("/filters/<int:filter_id>/delete")
@requires_feature("crm")
def delete_filter(filter_id: int):
    saved = scoped_get(SavedFilter, filter_id) or abort(404)
    if not (current_user.is_admin or saved.created_by_id == current_user.membership.id):
        abort(403)
    db.delete(saved)
    db.commit()
    flash(_("Filter “%(name)s” deleted.", name=saved.name), "success")
    return redirect(url_for(".customers"))


# --- create and edit -------------------------------------------------------------------------


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


def _edit_page(customer: Customer | None, error: ServiceError | None = None):
    errors = {(error.field or "form"): error_text(error)} if error else {}
    return render_template(
        "crm/edit.html",
        customer=customer,
        values=request.form if error else {},
        errors=errors,
        fields=service.custom_fields(),
        owners=service.owners(),
        known_tags=_known_tags(),
        **_page_context(),
    ), 400 if error else 200


@bp.route("/new", methods=["GET", "POST"])
@requires_feature("crm")
def new_customer():
    if request.method == "GET":
        return _edit_page(None)
    try:
        customer = service.save_customer(
            None, _form_data(None), source="manual", author_id=current_user.membership.id
        )
        db.commit()
    except ServiceError as error:
        db.rollback()
        return _edit_page(None, error)
    flash(_("Customer added."), "success")
    return _record(customer)


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@requires_feature("crm")
def edit_customer(customer_id: int):
    customer = _customer(customer_id)
    if request.method == "GET":
        return _edit_page(customer)
    try:
        service.save_customer(customer, _form_data(customer), author_id=current_user.membership.id)
        db.commit()
    except ServiceError as error:
        db.rollback()
        return _edit_page(_customer(customer_id), error)
    flash(_("Customer saved."), "success")
    return _record(customer)


# --- the record and its timeline --------------------------------------------------------------


def _timeline_page(customer: Customer) -> dict:
    """One page of the timeline, newest first, and the link to the next older page."""
    before = _cursor(request.args.get("before"))
    entries = service.timeline(customer.id, before, limit=service.TIMELINE_PAGE + 1)
    older = None
    if len(entries) > service.TIMELINE_PAGE:
        entries = entries[: service.TIMELINE_PAGE]
        older = _cursor_of(entries[-1].occurred_at, entries[-1].id)
    return {"entries": entries, "older": older}


@bp.get("/<int:customer_id>")
@requires_feature("crm")
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
        known_tags=_known_tags(),
        **_page_context(),
    )


@bp.get("/<int:customer_id>/timeline")
@requires_feature("crm")
def timeline(customer_id: int):
    """An older page of the timeline as an HTML fragment, for the record page's "Older"."""
    record = _customer(customer_id)
    try:
        page = _timeline_page(record)
    except ServiceError as error:
        return message_for(error), 400
    return render_template("crm/_timeline_page.html", customer=record, **page, **_page_context())


@bp.post("/<int:customer_id>/notes")
@requires_feature("crm")
def add_note(customer_id: int):
    record = _customer(customer_id)
    text = request.form.get("text", "")
    _commit(lambda: service.add_note(record, current_user.membership.id, text), _("Note added."))
    return _record(record, "#timeline")


@bp.post("/<int:customer_id>/tags")
@requires_feature("crm")
def add_tag(customer_id: int):
    record = _customer(customer_id)
    tag = service.normalize_tag(request.form.get("tag", ""))

    def add():
        if not tag:
            raise ServiceError("required", field="tag")
        service.save_customer(record, {"tags": [t.tag for t in record.tags] + [tag]})

    _commit(add)
    return _record(record, "#tags")


@bp.post("/<int:customer_id>/tags/remove")
@requires_feature("crm")
def remove_tag(customer_id: int):
    record = _customer(customer_id)
    tag = request.form.get("tag", "")
    _commit(
        lambda: service.save_customer(
            record, {"tags": [t.tag for t in record.tags if t.tag != tag]}
        )
    )
    return _record(record, "#tags")


@bp.post("/<int:customer_id>/owner")
@requires_feature("crm")
def set_owner(customer_id: int):
    record = _customer(customer_id)
    owner_id = request.form.get("owner_id", "")
    _commit(lambda: service.save_customer(record, {"owner_id": owner_id}), _("Owner saved."))
    return _record(record)


# --- merge and delete ------------------------------------------------------------------------


@bp.get("/<int:customer_id>/merge")
@requires_feature("crm")
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
        **_page_context(),
    )


def _merge_refusal(target: Customer, source: Customer) -> str | None:
    """What service.merge would refuse, said before the confirmation is offered."""
    if target.id == source.id:
        return message_for(ServiceError("merge_same"))
    if source.merged_into_id:
        return message_for(ServiceError("merge_merged"))
    return None


@bp.route("/<int:customer_id>/merge/<int:other_id>", methods=["GET", "POST"])
@requires_feature("crm")
def merge(customer_id: int, other_id: int):
    """``customer_id`` lives on; ``other_id`` is folded into it."""
    target = _customer(customer_id)
    source = scoped_get(Customer, other_id) or abort(404)
    if request.method == "POST":
        author = current_user.membership.id
        _commit(
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
        **_page_context(),
    )


@bp.route("/<int:customer_id>/delete", methods=["GET", "POST"])
@requires_feature("crm")
@admin_required
def delete_customer(customer_id: int):
    record = _customer(customer_id)
    if request.method == "GET" or request.form.get("confirm") != "yes":
        entries = select(func.count(TimelineEntry.id)).where(TimelineEntry.customer_id == record.id)
        return render_template(
            "crm/delete.html", customer=record, entries=db.scalar(entries), **_page_context()
        )
    service.delete_customer(record)
    db.commit()
    flash(_("Customer deleted."), "success")
    return redirect(url_for(".customers"))


# --- custom fields (admins) --------------------------------------------------------------------


def _choices(form) -> list[str]:
    """One choice per line: a choice may hold a comma ("Red, matte")."""
    return form.get("choices", "").splitlines()


def _field(field_id: int) -> CustomField:
    return scoped_get(CustomField, field_id) or abort(404)


@bp.get("/fields")
@requires_feature("crm")
@admin_required
def fields():
    return render_template("crm/fields.html", fields=service.custom_fields(), kinds=FIELD_KINDS)


@bp.post("/fields")
@requires_feature("crm")
@admin_required
def add_field():
    form = request.form
    _commit(
        lambda: service.save_custom_field(
            None,
            form.get("key", ""),
            form.get("label", ""),
            form.get("kind", ""),
            _choices(form),
        ),
        _("Field added."),
    )
    return redirect(url_for(".fields"))


@bp.post("/fields/<int:field_id>")
@requires_feature("crm")
@admin_required
def edit_field(field_id: int):
    """The label and the choices; the key and the kind stay, so stored values keep meaning."""
    field = _field(field_id)
    form = request.form
    _commit(
        lambda: service.save_custom_field(
            field, field.key, form.get("label", ""), field.kind, _choices(form)
        ),
        _("Field saved."),
    )
    return redirect(url_for(".fields"))


@bp.route("/fields/<int:field_id>/delete", methods=["GET", "POST"])
@requires_feature("crm")
@admin_required
def delete_field(field_id: int):
    field = _field(field_id)
    if request.method == "GET" or request.form.get("confirm") != "yes":
        return render_template("crm/field_delete.html", field=field)
    service.delete_custom_field(field)
    db.commit()
    flash(_("Field “%(label)s” deleted.", label=field.label), "success")
    return redirect(url_for(".fields"))
