"""The console's Customers module (/console/customers): its blueprint, gated by the ``crm``
feature, the words and helpers its pages share, and the list with its filters and saved
filters. The record is in ``record.py``, the custom fields' admin in ``field_admin.py``, CSV
import and export in ``transfer.py``; their routes join this blueprint."""

from __future__ import annotations

from datetime import datetime

import phonenumbers
from babel.numbers import get_territory_currencies
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select, tuple_
from sqlalchemy.orm import selectinload

from app.chat.service import agent_names
from app.crm import service
from app.crm.models import Customer, CustomerTag, SavedFilter
from app.features import GatedBlueprint
from app.forms import act
from app.messages import message_for
from tenants.db import db, scoped_get
from tenants.errors import ServiceError

bp = GatedBlueprint("crm", __name__, feature="crm", url_prefix="/console/customers")
PAGE = 50
SOURCE_NAMES = {
    "chat": _l("Chat"),
    "left_message": _l("Left message"),
    "identify": _l("Shop login"),
    "api": _l("API"),
    "import": _l("Import"),
    "manual": _l("Entered by hand"),
    "order": _l("Order"),
    "callback": _l("Callback request"),
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


def cursor(raw: str | None) -> tuple[datetime, int] | None:
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


def cursor_of(at: datetime, ident: int) -> str:
    return f"{at.isoformat()},{ident}"


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


def page_context() -> dict:
    return {"names": agent_names(), "currency": shop_currency()}


def known_tags() -> list[str]:
    """For the tag inputs' suggestions (one index scan, capped)."""
    query = select(CustomerTag.tag).distinct().order_by(CustomerTag.tag).limit(300)
    return list(db.scalars(query))


# --- the list, search and saved filters ------------------------------------------------------


def filter_params(source) -> dict:
    return {
        key: source.get(key, "").strip()
        for key in service.FILTER_KEYS
        if source.get(key, "").strip()
    }


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
def customers():
    params = filter_params(request.args)
    rows, error = [], None
    try:
        rows = _customer_page(params, cursor(request.args.get("after")))
    except ServiceError as exc:
        error = exc
    next_after = (
        cursor_of(rows[PAGE - 1].updated_at, rows[PAGE - 1].id) if len(rows) > PAGE else None
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
        known_tags=known_tags(),
        can_import="crm.import_start" in views and current_user.is_admin,
        can_export="crm.export" in views,
        **page_context(),
    ), 400 if error else 200


@bp.post("/filters")
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

    act(save, _("Filter “%(name)s” saved.", name=name))
    return redirect(url_for(".customers", **query))


@bp.post("/filters/<int:filter_id>/delete")
def delete_filter(filter_id: int):
    saved = scoped_get(SavedFilter, filter_id) or abort(404)
    if not (current_user.is_admin or saved.created_by_id == current_user.membership.id):
        abort(403)
    db.delete(saved)
    flash(_("Filter “%(name)s” deleted.", name=saved.name), "success")
    return redirect(url_for(".customers"))
