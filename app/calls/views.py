"""The calls module's console pages (/console/calls), for signed-in members of a shop with
the ``calls`` feature: the call log with its filters and its CSV export. Other pages of the
module (settings, the call page, tasks) join this blueprint from their own files."""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.calls import log, words
from app.calls.models import CALL_STATUSES, DIRECTIONS, Call, CallConnection
from app.chat.service import agent_names
from app.crm import service as crm
from app.crm.spreadsheet import csv_response, csv_text
from app.crm.views import cursor, cursor_of, error_text
from app.features import GatedBlueprint
from tenants.db import bind_tenant, db, utcnow
from tenants.errors import ServiceError
from tenants.models import Membership, User

bp = GatedBlueprint("calls", __name__, feature="calls", url_prefix="/console/calls")
EXPORT_CHUNK = 500
EXPORT_COLUMNS = [
    "call_id",
    "started_at",
    "direction",
    "status",
    "number",
    "customer_id",
    "customer_name",
    "shop_number",
    "agent",
    "answered_at",
    "ended_at",
    "duration_seconds",
    "cause",
    "outcome",
    "notes",
    "recording_url",
    "kind",
    "provider_call_id",
]


@bp.before_request
@login_required
def _signed_in() -> None:
    """A shop's page: a signed-in member's."""


@bp.app_template_filter("call_status")
def call_status(status: str, direction: str = "in") -> str:
    return words.status_name(status, direction)


@bp.app_template_filter("call_duration")
def call_duration(seconds: int | None) -> str:
    return words.duration_text(seconds)


@bp.app_template_filter("call_outcome")
def call_outcome(outcome: str) -> str:
    return words.outcome_name(outcome)


def filter_params(source) -> dict[str, str]:
    """The log's filter as given (blank ones left out), for its links and its form."""
    return {
        key: source.get(key, "").strip() for key in log.FILTER_KEYS if source.get(key, "").strip()
    }


@bp.get("", endpoint="index")
def index():
    tenant = current_user.tenant
    params = filter_params(request.args)
    if any(not value.strip() for value in request.args.values()):
        # the form sends its empty filters too: the address keeps only those that filter
        after = request.args.get("after", "").strip()
        return redirect(url_for(".index", **params, **({"after": after} if after else {})))
    rows, next_after, error = [], None, None
    try:
        log_filter = log.read_filter(params, tenant.timezone)
        rows, after = log.page(log_filter, tenant.country, cursor(request.args.get("after")))
        next_after = cursor_of(*after) if after else None
    except ServiceError as exc:
        error = exc
    # no calls and no provider yet: the page says how to connect one
    connected = bool(rows) or db.scalar(select(CallConnection.id).limit(1)) is not None
    return render_template(
        "calls/log.html",
        calls=rows,
        params=params,
        error=error,
        error_text=_filter_error_text(error) if error else None,
        next_after=next_after,
        paged=bool(request.args.get("after")),
        connected=connected,
        names=agent_names(),
        customers=crm.customer_names(c.customer_id for c in rows),
        directions=DIRECTIONS,
        statuses=CALL_STATUSES,
        direction_names=words.DIRECTION_NAMES,
        status_names=words.STATUS_NAMES,
    ), 400 if error else 200


def _filter_error_text(error: ServiceError) -> str:
    label = words.FILTER_NAMES.get(error.field)
    text = error_text(error)
    return _("%(filter)s: %(message)s", filter=label, message=text) if label else text


@bp.get("/export.csv")
def export():
    """The calls of the log's filter (or all), newest first, streamed: any number fits."""
    tenant = current_user.tenant
    params = filter_params(request.args)
    try:
        query = log.calls(log.read_filter(params, tenant.timezone), tenant.country)
    except ServiceError as error:
        flash(_filter_error_text(error), "error")
        return redirect(url_for(".index", **params))
    agents = dict(db.execute(select(Membership.id, User.email).join(User)).all())
    tz = ZoneInfo(tenant.timezone)
    lines = _export_lines(tenant.id, query.execution_options(yield_per=EXPORT_CHUNK), agents, tz)
    day = utcnow().astimezone(tz).strftime("%Y%m%d")
    return csv_response(stream_with_context(lines), f"calls-{day}.csv")


def _export_lines(tenant_id: int, query, agents: dict, tz: ZoneInfo) -> Iterator[str]:
    # Flask tears the request's session down before a streamed body runs: this one runs in a
    # new session, bound to the tenant the sign-in bound for the request.
    bind_tenant(tenant_id)
    yield csv_text([EXPORT_COLUMNS], bom=True)
    for chunk in db.scalars(query).partitions():
        names = crm.customer_names(c.customer_id for c in chunk)  # a query per chunk, not row
        yield csv_text([_export_row(c, names, agents, tz) for c in chunk])


def _export_row(call: Call, names: dict, agents: dict, tz: ZoneInfo) -> list:
    shop_number = call.to_number if call.direction == "in" else call.from_number
    return [
        call.id,
        _local(call.started_at, tz),
        call.direction,
        call.status,
        call.customer_number,
        call.customer_id or "",
        names.get(call.customer_id, ""),
        shop_number,
        agents.get(call.agent_id, call.agent_ref),
        _local(call.answered_at, tz),
        _local(call.ended_at, tz),
        "" if call.duration is None else call.duration,
        call.cause,
        call.outcome,
        call.notes,
        call.recording_url,
        call.kind,
        call.call_ref or "",
    ]


def _local(value, tz: ZoneInfo) -> str:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else ""
