"""The back office over HTTP: staff sign-in, shops, actions, revenue, audit log, CSV exports.

Every route but the sign-in page needs a signed-in staff member (checked for the whole
blueprint before any view runs), each view checks the role it needs, and reads across shops
inside ``cross_tenant`` -- a shop user's session opens nothing here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_currency
from flask_babel import gettext as _
from limits import parse as parse_limit

from billing import metrics
from billing.backoffice import exports, operations, queries
from billing.backoffice import staff as staff_accounts
from billing.backoffice.labels import (
    ACTION_NAMES,
    FEATURE_NAMES,
    MEMBER_ROLES,
    MEMBER_STATUSES,
    ROLE_NAMES,
    STATUS_NAMES,
    message_for,
)
from billing.backoffice.staff import can
from billing.models import StaffUser
from tenants.db import cross_tenant, db, utcnow
from tenants.errors import ServiceError
from tenants.plans import PAID_FEATURES, catalog
from tenants.ratelimit import moving_window

bp = Blueprint("backoffice", __name__, url_prefix="/backoffice", template_folder="../templates")

PUBLIC_ENDPOINTS = {"backoffice.login"}
PER_PAGE = 50
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
# A TOTP code lives up to 90 s (valid_window=1): once used, it is spent for longer than that.
CODE_REUSE = parse_limit("1 per 2 minutes")

# --- who may come in -------------------------------------------------------------------


@bp.before_request
def _require_staff():
    g.staff = staff_accounts.current_staff()
    if g.staff is None and request.endpoint not in PUBLIC_ENDPOINTS:
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("backoffice.login", next=target))
    return None


def staff_view(permission: str):
    """The role this view needs; the view then reads across shops, visibly."""

    def decorate(fn):
        @wraps(fn)
        def view(*args, **kwargs):
            if not can(g.staff, permission):
                abort(403)
            with cross_tenant():
                return fn(*args, **kwargs)

        return view

    return decorate


def login_limit() -> str:
    return current_app.config.get("STAFF_LOGIN_RATE_LIMIT", "10 per minute")


def email_key() -> str:
    return "staff-login:" + (request.form.get("email") or "").strip().lower()


def _safe_next() -> str:
    """Only a back-office path: never an open redirect."""
    target = request.args.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/backoffice/") and not parts.netloc and "\\" not in target:
        return target
    return url_for("backoffice.tenants")


def _code_is_fresh(staff: StaffUser, code: str) -> bool:
    """A code that signed someone in cannot sign in again (an eavesdropper's replay)."""
    return moving_window().hit(CODE_REUSE, "staff-totp", str(staff.id), "".join(code.split()))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Rate-limited per address and per e-mail by the app (``login_limit``, ``email_key``)."""
    if g.staff is not None:
        return redirect(url_for("backoffice.tenants"))
    error = None
    email = (request.form.get("email") or "").strip()
    if request.method == "POST":
        code = request.form.get("code") or ""
        try:
            staff = staff_accounts.authenticate(email, request.form.get("password") or "", code)
            if not _code_is_fresh(staff, code):
                raise ServiceError("staff_bad_credentials")
        except ServiceError as failure:
            error = message_for(failure)
        else:
            staff_accounts.start_session(staff)
            return redirect(_safe_next())
    status = 400 if error else 200
    return render_template("backoffice/login.html", error=error, email=email), status


@bp.post("/logout")
def logout():
    g.staff.session_version += 1  # this cookie, and any copy of it, is dead
    staff_accounts.end_session()
    flash(_("You are logged out of the back office."), "info")
    return redirect(url_for("backoffice.login"))


@bp.errorhandler(403)
@bp.errorhandler(404)
@bp.errorhandler(429)
def _error(error):
    db.rollback()
    texts = {
        403: (_("Your role cannot open this"), _("Ask a back-office admin if you need it.")),
        404: (_("Not found"), _("The shop or page does not exist.")),
        429: (_("Too many attempts"), _("Too many sign-in attempts. Wait a minute and retry.")),
    }
    title, detail = texts[error.code]
    return render_template(
        "backoffice/error.html", status=error.code, title=title, detail=detail
    ), error.code


# --- template helpers ------------------------------------------------------------------


def money(amount: int | None, currency: str = "CNY") -> str:
    return format_currency((amount or 0) / 100, currency)


def when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "—"


def day(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d") if moment else "—"


def shown(value) -> str:
    """An audit value for people: times as times, nothing as a dash."""
    if value is None:
        return "—"
    if isinstance(value, str) and ISO_TIME.match(value):
        return when(datetime.fromisoformat(value))
    return str(value)


@bp.context_processor
def _helpers() -> dict:
    return {
        "staff": g.get("staff"),
        "can": lambda permission: can(g.get("staff"), permission),
        "money": money,
        "when": when,
        "day": day,
        "shown": shown,
        "feature_names": FEATURE_NAMES,
        "role_names": ROLE_NAMES,
        "action_names": ACTION_NAMES,
        "status_names": STATUS_NAMES,
        "member_roles": MEMBER_ROLES,
        "member_statuses": MEMBER_STATUSES,
    }


# --- shops -----------------------------------------------------------------------------


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() else 1


@bp.get("/")
@staff_view("view")
def tenants():
    filters = queries.TenantFilters.from_args(request.args)
    rows = queries.list_tenants(filters)
    return render_template(
        "backoffice/tenants.html",
        filters=filters,
        page=queries.paginate(rows, _page_number(), PER_PAGE),
        plans=catalog(),
        currency=_currency(),
    )


def _currency() -> str:
    paid = [p for p in catalog() if p.price_per_seat_year > 0]
    return paid[0].currency if paid else "CNY"


@bp.get("/tenants/<int:tenant_id>")
@staff_view("view")
def tenant(tenant_id: int):
    return _tenant_page(tenant_id)


def _tenant_page(tenant_id: int, failed: str = "", error: str = "", status: int = 200):
    detail = queries.tenant_detail(tenant_id)
    if detail is None:
        abort(404)
    return render_template(
        "backoffice/tenant.html",
        d=detail,
        plans=[p for p in catalog() if p.price_per_seat_year > 0],
        features=PAID_FEATURES,
        failed=failed,
        error=error,
        values=request.form if failed else {},
        currency=_currency(),
        today=utcnow().date(),
    ), status


def _act(tenant_id: int, form: str, action, done: str):
    """Run one action; on a user's mistake, the page again with the error (a 400: the request's
    unit rolls back, nothing changed)."""
    try:
        action()
    except ServiceError as failure:
        if failure.code == "not_found":
            abort(404)
        if failure.code == "staff_forbidden":
            abort(403)
        return _tenant_page(tenant_id, form, message_for(failure), 400)
    flash(done, "success")
    return redirect(url_for("backoffice.tenant", tenant_id=tenant_id, _anchor=form))


@bp.post("/tenants/<int:tenant_id>/trial")
@staff_view("extend_trial")
def extend_trial(tenant_id: int):
    form = request.form
    return _act(
        tenant_id,
        "trial",
        lambda: operations.extend_trial(g.staff, tenant_id, form.get("days"), form.get("reason")),
        _("The trial is extended."),
    )


@bp.post("/tenants/<int:tenant_id>/plan")
@staff_view("set_plan")
def set_plan(tenant_id: int):
    form = request.form
    return _act(
        tenant_id,
        "plan",
        lambda: operations.set_plan_offline(
            g.staff,
            tenant_id,
            form.get("plan_code"),
            form.get("seats"),
            form.get("paid_until"),
            form.get("reason"),
        ),
        _("The plan is set and an offline invoice recorded."),
    )


@bp.post("/tenants/<int:tenant_id>/override")
@staff_view("override")
def override(tenant_id: int):
    form = request.form
    return _act(
        tenant_id,
        "modules",
        lambda: operations.override_feature(
            g.staff, tenant_id, form.get("feature"), form.get("mode"), form.get("reason")
        ),
        _("The module setting is saved."),
    )


@bp.post("/tenants/<int:tenant_id>/suspend")
@staff_view("suspend")
def suspend(tenant_id: int):
    return _act(
        tenant_id,
        "status",
        lambda: operations.suspend(g.staff, tenant_id, request.form.get("reason")),
        _("The shop is suspended."),
    )


@bp.post("/tenants/<int:tenant_id>/reactivate")
@staff_view("reactivate")
def reactivate(tenant_id: int):
    return _act(
        tenant_id,
        "status",
        lambda: operations.reactivate(g.staff, tenant_id, request.form.get("reason")),
        _("The shop is active again."),
    )


@bp.post("/tenants/<int:tenant_id>/notes")
@staff_view("note")
def add_note(tenant_id: int):
    return _act(
        tenant_id,
        "notes",
        lambda: operations.add_note(g.staff, tenant_id, request.form.get("text")),
        _("The note is added."),
    )


# --- revenue and audit -----------------------------------------------------------------


@bp.get("/revenue")
@staff_view("view")
def revenue():
    figures = metrics.revenue()
    return render_template("backoffice/revenue.html", r=figures)


@bp.get("/audit")
@staff_view("view")
def audit_log():
    raw_tenant = request.args.get("tenant", "")
    tenant_id = int(raw_tenant) if raw_tenant.isdigit() else None
    action = request.args.get("action", "")
    page, actions = queries.audit_log(tenant_id, action, _page_number())
    return render_template(
        "backoffice/audit.html", page=page, actions=actions, tenant_id=tenant_id, action=action
    )


# --- exports ---------------------------------------------------------------------------


def _csv(name: str, columns: list, items: list) -> Response:
    """The file, and an audit row saying who took it."""
    body = exports.to_csv(columns, items)
    operations.record_export(g.staff, name, len(items))
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name[:-4]}-{stamp}.csv"'},
    )


@bp.get("/export/tenants.csv")
@staff_view("export")
def export_tenants():
    rows = queries.list_tenants(queries.TenantFilters.from_args(request.args))
    return _csv("tenants.csv", exports.TENANT_COLUMNS, rows)


@bp.get("/export/invoices.csv")
@staff_view("export")
def export_invoices():
    return _csv("invoices.csv", exports.INVOICE_COLUMNS, queries.all_invoices())
