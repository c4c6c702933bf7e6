"""The unanswered questions page (/console/robot/unanswered): every member sees the log's
groups and exports them; the shop's admins settle a group by adding its wording to an entry,
by a new entry made from it, or by dismissing it. Its routes join the robot blueprint.

A form names its group by one of its questions and the page's period and view, so the group is
the one the page showed (with any question asked the same way since)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.crm.spreadsheet import csv_response, csv_text
from app.forms import act
from app.messages import message_for
from app.robot import unanswered as log
from app.robot.models import RobotEntry
from app.robot.schemas import EntryInput
from app.robot.views import bp
from app.schemas import checked
from tenants.db import db, utcnow
from tenants.errors import ServiceError
from tenants.permissions import admin_required

# the entries offered when an admin names one by typing (the page's datalist)
ENTRIES_OFFERED = 1000
EXPORT_COLUMNS = [
    "group",
    "question",
    "decision",
    "reason",
    "rating",
    "count",
    "unsettled",
    "last_asked",
]


@dataclass
class Problem:
    """A refused new-entry form: its group, the field to mark and the words."""

    question_id: int
    field: str | None
    text: str


def _filter(source) -> tuple[int, str]:
    return log.read_days(source.get("days")), log.read_kind(source.get("kind"))


def _page_number(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return 1
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ServiceError("robot_page_invalid", field="page")
    return int(raw)


def _page(problem: Problem | None = None, values: dict | None = None, status: int = 200):
    source = request.form if request.method == "POST" else request.args
    error = None
    try:
        days, kind = _filter(source)
        number = _page_number(request.args.get("page"))
    except ServiceError as refused:
        error, status = message_for(refused), 400
        days, kind, number = log.DEFAULT_DAYS, log.KINDS[0], 1
    found = [] if error else log.groups(days, kind)
    start = (number - 1) * log.GROUPS_PER_PAGE
    shown = log.with_candidates(found[start : start + log.GROUPS_PER_PAGE])
    entries = []
    if current_user.is_admin:
        entries = db.scalars(
            select(RobotEntry.question).order_by(RobotEntry.question).limit(ENTRIES_OFFERED)
        ).all()
    return render_template(
        "robot/unanswered.html",
        error=error,
        groups=shown,
        total=len(found),
        to_settle=sum(not g.settled for g in found),
        days=days,
        kind=kind,
        number=number,
        more=start + log.GROUPS_PER_PAGE < len(found),
        entries=entries,
        problem=problem,
        values=values or {},
        periods=log.PERIODS,
        kinds=log.KINDS,
    ), status


def _group(question_id: int) -> tuple[log.Group, str]:
    """The form's group and the page to go back to. A foreign question is a 404."""
    try:
        days, kind = _filter(request.form)
    except ServiceError:
        abort(400)
    try:
        group = log.group_of(question_id, days, kind)
    except ServiceError:
        abort(404)
    return group, url_for(".unanswered", days=days, kind=kind)


@bp.get("/unanswered", endpoint="unanswered")
def unanswered():
    return _page()


@bp.post("/unanswered/<int:question_id>/phrasing", endpoint="unanswered_phrasing")
@admin_required
def add_phrasing(question_id: int):
    group, back = _group(question_id)
    entry = act(lambda: log.add_to_entry(group, log.find_entry(request.form.get("entry", ""))))
    if entry is not None:
        flash(
            _(
                '"%(question)s" is now a way to ask "%(entry)s".',
                question=group.text,
                entry=entry.question,
            ),
            "success",
        )
    return redirect(back)


@bp.post("/unanswered/<int:question_id>/entry", endpoint="unanswered_entry")
@admin_required
def new_entry(question_id: int):
    group, back = _group(question_id)
    values = {
        key: request.form.get(key, "") for key in ("question", "alternatives", "answer", "category")
    }
    try:
        with db.begin_nested():
            data = checked(
                EntryInput, {**values, "alternatives": values["alternatives"].splitlines()}
            )
            entry = log.new_entry(group, data)
    except ServiceError as error:
        problem = Problem(question_id, error.field, message_for(error))
        return _page(problem, values, 422)
    flash(_('New entry "%(entry)s" made.', entry=entry.question), "success")
    return redirect(back)


@bp.post("/unanswered/<int:question_id>/dismiss", endpoint="unanswered_dismiss")
@admin_required
def dismiss(question_id: int):
    group, back = _group(question_id)
    log.settle(group)
    flash(_('"%(question)s" dismissed.', question=group.text), "success")
    return redirect(back)


@bp.get("/unanswered.csv", endpoint="unanswered_export")
def export():
    """One line per group, wording and outcome (decision, reason, rating) with its count."""
    try:
        days, kind = _filter(request.args)
    except ServiceError as error:
        flash(message_for(error), "error")
        return redirect(url_for(".unanswered"))
    rows = log.logged(days, kind)
    found = log.groups(days, kind, rows)
    place = {i: (order, g.text) for order, g in enumerate(found) for i in g.ids}
    counted: Counter = Counter()
    unsettled: Counter = Counter()
    last: dict = {}
    for row in rows:
        key = (
            *place[row.id],
            " ".join(row.question.split()),
            row.decision,
            row.reason,
            row.rating or "",
        )
        counted[key] += 1
        unsettled[key] += row.settled_at is None
        last[key] = max(last.get(key, row.created_at), row.created_at)
    tz = ZoneInfo(current_user.tenant.timezone)
    # the page's order of groups; in a group, its most asked lines first
    lines = [
        [
            *key[1:],
            counted[key],
            unsettled[key],
            last[key].astimezone(tz).isoformat(timespec="seconds"),
        ]
        for key in sorted(counted, key=lambda k: (k[0], -counted[k], k))
    ]
    day = utcnow().astimezone(tz).strftime("%Y%m%d")
    return csv_response(csv_text([EXPORT_COLUMNS, *lines], bom=True), f"robot-unanswered-{day}.csv")
