"""CSV import (customers, orders) and export (customers) in the console.

Import is for the shop's owner and admins: one file changes many records at once. Export is
for every member, like the list it copies: the same filter gives the same customers. The
import engine is app/crm/imports.py; these are its pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import defer, selectinload

from app.chat.service import agent_names
from app.crm import imports, service
from app.crm.import_mapping import (
    CUSTOMER_TARGETS,
    EXPORT_COLUMNS,
    EXPORT_FACTS,
    IGNORE,
    ORDER_TARGETS,
    check_mapping,
    field_header,
    guess_mapping,
)
from app.crm.models import Customer, Import
from app.crm.spreadsheet import csv_response, csv_text
from app.crm.views import bp, error_text, filter_params
from app.forms import act
from tenants.db import bind_tenant, db, utcnow
from tenants.errors import ServiceError
from tenants.models import Membership, User
from tenants.permissions import admin_required

HISTORY = 20
REPORT_ERRORS = 500  # shown on the page; the CSV has them all
EXPORT_CHUNK = 500
TARGET_NAMES = {
    IGNORE: _l("Don't import"),
    "huike_id": _l("Huike id (updates that customer)"),
    "name": _l("Name"),
    "external_id": _l("Your user id (external id)"),
    "phone": _l("Phone"),
    "email": _l("E-mail"),
    "company": _l("Company"),
    "tags": _l("Tags"),
    "owner": _l("Account manager (member's e-mail)"),
    "order_id": _l("Order number"),
    "status": _l("Status"),
    "total": _l("Total"),
    "currency": _l("Currency"),
    "placed_at": _l("Order time"),
    "customer_external_id": _l("Customer's user id (external id)"),
    "customer_phone": _l("Customer's phone"),
    "customer_email": _l("Customer's e-mail"),
    "customer_name": _l("Customer's name"),
}
KIND_NAMES = {"customers": _l("Customers"), "orders": _l("Orders")}


def _import_or_404(import_id: int, for_update: bool = False) -> Import:
    query = select(Import).where(Import.id == import_id)
    found = db.scalar(query.with_for_update() if for_update else query)
    return found or abort(404)


def _targets(kind: str) -> list[tuple[str, str]]:
    """(target, words) for the mapping's choices, custom fields after the standard ones."""
    standard = CUSTOMER_TARGETS if kind == "customers" else ORDER_TARGETS
    choices = [(IGNORE, str(TARGET_NAMES[IGNORE]))]
    choices += [(t, str(TARGET_NAMES[t])) for t in standard]
    if kind == "customers":
        choices += [
            (f"fields.{f.key}", _("%(label)s (custom field)", label=f.label))
            for f in service.custom_fields()
        ]
    return choices


# --- import ------------------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_start():
    kind = request.form.get("kind", "customers")
    if request.method == "POST":
        upload = request.files.get("file")

        def store() -> Import:
            if upload is None or not upload.filename:
                raise ServiceError("import_file_missing", field="file")
            data = upload.read(imports.MAX_BYTES + 1)
            return imports.create_import(kind, upload.filename, data, current_user.membership.id)

        imp = act(store)
        if imp is not None:
            return redirect(url_for("crm.import_mapping", import_id=imp.id))
    history = db.execute(
        select(Import, func.json_array_length(Import.errors))
        .options(defer(Import.content), defer(Import.errors))
        .order_by(Import.id.desc())
        .limit(HISTORY)
    ).all()
    return render_template(
        "crm/import.html",
        kind=kind,
        history=history,
        names=agent_names(),
        kind_names=KIND_NAMES,
        max_mb=imports.MAX_BYTES // 1024 // 1024,
        max_rows=imports.MAX_ROWS,
    ), 400 if request.method == "POST" else 200


@bp.route("/import/<int:import_id>", methods=["GET", "POST"])
@admin_required
def import_mapping(import_id: int):
    imp = _import_or_404(import_id, for_update=request.method == "POST")
    if imp.status != "pending":  # run already (also by a second click): show what it did
        return redirect(url_for("crm.import_report", import_id=imp.id))
    header, first_rows, row_count = imports.preview(imp)
    fields = service.custom_fields()
    mapping = imp.mapping or guess_mapping(imp.kind, header, fields)
    error, bad_column = None, None
    if request.method == "POST":
        mapping = {str(i): request.form.get(f"column-{i}", "") for i in range(len(header))}
        try:
            with db.begin_nested():  # refused: the page shows why, the import still pending
                imp.mapping = check_mapping(imp.kind, mapping, header, fields)
                if imports.find_conflicts(imp):  # chosen for on the next page, then run
                    return redirect(url_for("crm.import_conflicts", import_id=imp.id))
                imports.start_import(imp)
            return redirect(url_for("crm.import_report", import_id=imp.id))
        except ServiceError as exc:
            error, bad_column = error_text(exc), exc.field
    return render_template(
        "crm/import_mapping.html",
        imp=imp,
        header=header,
        rows=first_rows,
        row_count=row_count,
        examples=_examples(header, first_rows),
        mapping=mapping,
        targets=_targets(imp.kind),
        kind_names=KIND_NAMES,
        error=error,
        bad_column=bad_column,
    ), 400 if error else 200


@bp.route("/import/<int:import_id>/conflicts", methods=["GET", "POST"])
@admin_required
def import_conflicts(import_id: int):
    """The rows whose phone or e-mail is a customer's of another name: for each, update that
    customer, add a new one or skip the row (or one choice for all); then the import runs."""
    imp = _import_or_404(import_id, for_update=request.method == "POST")
    if imp.status != "pending":
        return redirect(url_for("crm.import_report", import_id=imp.id))
    if not imp.mapping:
        return redirect(url_for("crm.import_mapping", import_id=imp.id))
    conflicts = imports.find_conflicts(imp)
    chosen, error = {}, None
    if request.method == "POST":
        for_all = request.form.get("all", "")
        chosen = {
            str(c.row.number): for_all or request.form.get(f"row-{c.row.number}", "")
            for c in conflicts
        }
        try:
            with db.begin_nested():
                imports.choose(imp, conflicts, chosen)
                imports.start_import(imp)
            return redirect(url_for("crm.import_report", import_id=imp.id))
        except ServiceError as exc:
            error = error_text(exc)
    elif not conflicts:  # none (left) since the columns were chosen
        return redirect(url_for("crm.import_mapping", import_id=imp.id))
    return render_template(
        "crm/import_conflicts.html",
        imp=imp,
        conflicts=conflicts,
        chosen=chosen,
        for_all=request.form.get("all", ""),
        kind_names=KIND_NAMES,
        error=error,
    ), 400 if error else 200


def _examples(header: list[str], rows: list[tuple[int, list[str]]]) -> list[list[str]]:
    """Up to three non-blank values of each column, to recognise it by."""
    return [[cells[i] for _, cells in rows if cells[i].strip()][:3] for i in range(len(header))]


def _error_words(entry: dict) -> str:
    return error_text(ServiceError(entry["code"], **entry.get("params", {})))


@bp.get("/import/<int:import_id>/report")
@admin_required
def import_report(import_id: int):
    imp = _import_or_404(import_id)
    if imp.status == "pending":
        return redirect(url_for("crm.import_mapping", import_id=imp.id))
    return render_template(
        "crm/import_report.html",
        imp=imp,
        counts=imports.summary(imp) if imp.status == "done" else None,
        errors=[(e, _error_words(e)) for e in imp.errors[:REPORT_ERRORS]],
        shown=REPORT_ERRORS,
        kind_names=KIND_NAMES,
        names=agent_names(),
    )


@bp.get("/import/<int:import_id>/errors.csv")
@admin_required
def import_errors(import_id: int):
    """The rows that failed, as they were, with what was wrong: fix them and import again."""
    imp = _import_or_404(import_id)
    if imp.status == "pending":
        return redirect(url_for("crm.import_mapping", import_id=imp.id))
    header, failed = imports.error_rows(imp)
    lines = [[_("Row"), _("Column"), _("Error"), *header]]
    lines += [[e["row"], e["column"], _error_words(e), *cells] for e, cells in failed]
    stem = imp.filename.rsplit(".", 1)[0] or "import"
    return csv_response(iter([csv_text(lines, bom=True)]), f"{stem}-errors.csv")


# --- export ------------------------------------------------------------------------------


@bp.get("/export.csv")
def export():
    """The customers of the list's filter (or all), streamed: any number fits in memory."""
    params = filter_params(request.args)
    try:
        query = service.search(params)
    except ServiceError as error:
        flash(error_text(error), "error")
        return redirect(url_for("crm.customers", **params))
    query = (
        query.order_by(None)
        .order_by(Customer.id)  # a stable order while rows change during the download
        .options(
            selectinload(Customer.phones),
            selectinload(Customer.emails),
            selectinload(Customer.tags),
        )
        .execution_options(yield_per=EXPORT_CHUNK)
    )
    owners = dict(db.execute(select(Membership.id, User.email).join(User)).all())
    fields = [f.key for f in service.custom_fields()]
    tz = ZoneInfo(current_user.tenant.timezone)
    lines = _export_lines(current_user.membership.tenant_id, query, fields, owners, tz)
    day = utcnow().astimezone(tz).strftime("%Y%m%d")
    return csv_response(stream_with_context(lines), f"customers-{day}.csv")


def _export_lines(
    tenant_id: int, query, fields: list[str], owners: dict, tz: ZoneInfo
) -> Iterator[str]:
    # Flask tears the request down (and so its session) before a streamed body runs: this
    # one runs in a new session, bound to the tenant the sign-in bound for the request.
    bind_tenant(tenant_id)
    header = [*EXPORT_COLUMNS, *map(field_header, fields), *EXPORT_FACTS]
    batch = [header]
    first = True
    for customer in db.scalars(query):
        batch.append(_export_row(customer, fields, owners, tz))
        if len(batch) >= EXPORT_CHUNK:
            yield csv_text(batch, bom=first)
            batch, first = [], False
    yield csv_text(batch, bom=first)


def _export_row(customer: Customer, fields: list[str], owners: dict, tz: ZoneInfo) -> list:
    values = customer.fields or {}
    return [
        customer.id,
        customer.external_id or "",
        customer.name,
        customer.company,
        " ".join(p.e164 for p in customer.phones),
        " ".join(e.email for e in customer.emails),
        ", ".join(t.tag for t in customer.tags),
        owners.get(customer.owner_id, ""),
        *(values.get(key, "") for key in fields),
        customer.order_count,
        f"{Decimal(customer.revenue) / 100:.2f}",
        _local(customer.last_order_at, tz),
        _local(customer.last_seen_at, tz),
        _local(customer.created_at, tz),
        customer.source,
    ]


def _local(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else ""
