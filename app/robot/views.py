"""The robot's console pages (/console/robot), for signed-in members of a shop with the
``robot`` feature: the knowledge base (every member reads it and tries questions on it; the
owner and admins change it). Other pages of the module (the import, the settings, the
unanswered log) join this blueprint from their own files.

A form refused for its input comes back with what was typed and the reason beside the field
(422: the unit of work keeps nothing).
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import String, cast, func, or_, select

from app.features import GatedBlueprint
from app.messages import message_for
from app.robot import figures, knowledge, service
from app.robot.models import RobotEntry
from app.robot.schemas import ASK_MAX, EntryChanges, EntryInput
from app.schemas import checked
from tenants.db import db
from tenants.errors import ServiceError
from tenants.permissions import admin_required

bp = GatedBlueprint("robot", __name__, feature="robot", url_prefix="/console/robot")

PAGE = 50
# the matcher's reasons, named for people (a reason not listed is shown as it is)
REASONS = {
    "matched": _l("an entry matches"),
    "unsure": _l("not sure enough to answer"),
    "ambiguous": _l("two entries are too close"),
    "out_of_scope": _l("no entry is close enough"),
    "asked_for_person": _l("the visitor asks for a person"),
    "empty": _l("nothing to match"),
}
PERIODS = (7, 30)
# widget_js/src/links.js's rule: an address ends at a space, a quote or bracket, or Chinese
URL_RE = re.compile(r"\bhttps?://[^\s<>\"'\u2e80-\uffff]+", re.IGNORECASE)
LINK = Markup('<a href="{}" target="_blank" rel="noopener noreferrer nofollow">{}</a>')


@bp.before_request
@login_required
def _signed_in() -> None:
    """A shop's page: a signed-in member's."""


@bp.context_processor
def _words() -> dict:
    return {
        "reason_text": lambda reason: str(REASONS.get(reason, reason)),
        # the unanswered log is another helper's page: linked once it exists
        "has_unanswered": "robot.unanswered" in current_app.view_functions,
    }


@bp.app_template_filter("plain_links")
def plain_links(text: str) -> Markup:
    """Plain text shown as text, its http(s) addresses as links (never as HTML): the
    widget's rule (widget_js/src/links.js), for the pages the server renders."""
    parts, at = [], 0
    for found in URL_RE.finditer(text or ""):
        url = found.group().rstrip(".,;:!?")
        # a closing bracket belongs to the address only when it opened one
        while url[-1:] in (")", "]") and url.count("(" if url[-1] == ")" else "[") < url.count(
            url[-1]
        ):
            url = url[:-1]
        if not urlsplit(url).hostname:
            continue
        parts += [escape(text[at : found.start()]), LINK.format(url, url)]
        at = found.start() + len(url)
    parts.append(escape((text or "")[at:]))
    return Markup("").join(parts)


def _like(text: str) -> str:
    return "%" + re.sub(r"([#%_])", r"#\1", text) + "%"


def _entries(q: str, category: str | None):
    query = select(RobotEntry)
    if category is not None:
        query = query.where(RobotEntry.category == category)
    if q:
        # alternatives are stored as JSON with \u escapes: look for the text written so too
        query = query.where(
            or_(
                RobotEntry.question.ilike(_like(q), escape="#"),
                RobotEntry.answer.ilike(_like(q), escape="#"),
                cast(RobotEntry.alternatives, String).ilike(_like(json.dumps(q)[1:-1]), escape="#"),
            )
        )
    return query


def _categories() -> list[tuple[str, int]]:
    return db.execute(
        select(RobotEntry.category, func.count())
        .group_by(RobotEntry.category)
        .order_by(RobotEntry.category)
    ).all()


def _number(name: str, default: int, allowed=None) -> int:
    try:
        value = int(request.args.get(name, default))
    except ValueError:
        return default
    return value if (allowed is None and value >= 1) or (allowed and value in allowed) else default


def _try(question: str):
    """The robot's reply to the "try it" box (logged nowhere), or the reason it cannot."""
    if not question.strip():
        return None, None
    if len(question) > ASK_MAX:
        return None, _("Use at most %(max)s characters.", max=ASK_MAX)
    return service.consider(question), None


@bp.get("", endpoint="index")
def index():
    q = request.args.get("q", "").strip()[:200]
    category = request.args.get("category")
    query = _entries(q, category)
    total = db.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // PAGE))
    page = min(_number("page", 1), pages)
    entries = db.scalars(
        query.order_by(RobotEntry.category, RobotEntry.id).offset((page - 1) * PAGE).limit(PAGE)
    ).all()
    asked = request.args.get("try", "")
    reply, try_error = _try(asked)
    days = _number("days", PERIODS[0], PERIODS)
    return render_template(
        "robot/knowledge.html",
        entries=entries,
        total=total,
        page=page,
        pages=pages,
        q=q,
        category=category,
        categories=_categories(),
        asked=asked,
        reply=reply,
        try_error=try_error,
        days=days,
        periods=PERIODS,
        figures=figures.figures(days),
    )


def _entry_form() -> dict:
    form = request.form
    return {
        "question": form.get("question", ""),
        "alternatives": form.get("alternatives", "").splitlines(),
        "answer": form.get("answer", ""),
        "category": form.get("category", ""),
        "enabled": form.get("enabled") == "on",
    }


def _entry_page(entry: RobotEntry | None, error: ServiceError | None = None):
    values = _entry_form() if request.method == "POST" else None
    return render_template(
        "robot/entry.html",
        entry=entry,
        values=values,
        problem_field=(error.field or "").split("[")[0] if error else None,
        problem=message_for(error) if error else None,
        categories=[name for name, _count in _categories() if name],
    ), 422 if error else 200


def _saved(entry: RobotEntry, text: str):
    flash(text, "success")
    return redirect(url_for("robot.entry", entry_id=entry.id))


def _entry_or_404(entry_id: int) -> RobotEntry:
    try:
        return knowledge.entry_or_404(entry_id)
    except ServiceError:
        abort(404)


@bp.route("/entries/new", methods=["GET", "POST"])
@admin_required
def new_entry():
    if request.method == "GET":
        return _entry_page(None)
    try:
        with db.begin_nested():
            entry = knowledge.create_entry(checked(EntryInput, _entry_form()))
    except ServiceError as error:
        return _entry_page(None, error)
    return _saved(entry, _("Entry added: the robot answers it from now on."))


@bp.route("/entries/<int:entry_id>", methods=["GET", "POST"])
def entry(entry_id: int):
    found = _entry_or_404(entry_id)
    if request.method == "GET":
        return _entry_page(found)
    if not current_user.is_admin:
        abort(403)
    try:
        with db.begin_nested():
            knowledge.update_entry(found, checked(EntryChanges, _entry_form()))
    except ServiceError as error:
        db.refresh(found)
        return _entry_page(found, error)
    return _saved(found, _("Entry saved."))


@bp.route("/entries/<int:entry_id>/delete", methods=["GET", "POST"])
@admin_required
def delete_entry(entry_id: int):
    found = _entry_or_404(entry_id)
    if request.method == "GET" or request.form.get("confirm") != "yes":
        return render_template("robot/entry_delete.html", entry=found)
    knowledge.delete_entry(found)
    flash(_("Entry deleted."), "success")
    return redirect(url_for("robot.index"))
