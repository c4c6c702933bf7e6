"""The tasks pages (/console/calls/tasks: mine or everyone's, due today, overdue, upcoming,
snoozed, done; done / snooze / reassign), a follow-up scheduled by hand, the follow-up rules
(/console/calls/follow-ups, admins), and the calls module's boxes on the console's start page,
a customer's record and the navigation (app/slots.py). Routes join the calls blueprint and its
gate."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from app import slots
from app.calls import follow_ups, tasks
from app.calls.models import Call, FollowUpRule, Task
from app.calls.views import bp
from app.chat.presence import agent_names
from app.crm import service as crm
from app.forms import act
from tenants.db import db, scoped_get
from tenants.errors import ServiceError
from tenants.models import Membership
from tenants.permissions import admin_required

HOME_LIMIT = 8  # tasks the start page lists; the tasks page has the rest


# --- what a task is about, in words -------------------------------------------------------


@dataclass
class TaskView:
    task: Task
    reason: str
    customer_id: int | None
    customer_name: str
    assignee: str
    done_by: str
    closed_by: Call | None


UNANSWERED_REASONS = {
    "missed": _l("Missed call"),
    "abandoned": _l("Caller hung up while ringing"),
    "busy": _l("Line was busy"),
    "failed": _l("Call failed"),
}


def _reason(task: Task, calls: dict, rules: dict, names: dict) -> str:
    if task.kind == "callback":
        if task.callback_id is not None and task.call_id is None:
            return _("Asked for a callback")
        call = calls.get(task.call_id)
        if call is None:
            return _("Call back")
        kind = "abandoned" if call.status == "missed" and call.cause.lower() == "cancel" else None
        said = str(UNANSWERED_REASONS.get(kind or call.status, UNANSWERED_REASONS["missed"]))
        if task.attempts > 1:
            return said + " · " + ngettext("%(num)d calls", "%(num)d calls", task.attempts)
        return said
    rule = rules.get(task.rule_id)
    if rule is not None:
        return ngettext(
            "Order %(status)s, %(num)d day later",
            "Order %(status)s, %(num)d days later",
            rule.days,
            status=rule.order_status,
        )
    if task.rule_id is None and task.order_id is not None:
        return _("Order follow-up")
    if task.created_by_id is not None:
        return _("Scheduled by %(name)s", name=names.get(task.created_by_id, "—"))
    return _("Follow-up")


def present(found: list[Task]) -> dict[int, TaskView]:
    """Each task with its customer's name, its reason and its assignee's name: a few queries
    for the whole list."""
    names = agent_names()
    call_ids = {t.call_id for t in found} | {t.closed_by_call_id for t in found}
    call_ids.discard(None)
    calls = {c.id: c for c in db.scalars(select(Call).where(Call.id.in_(call_ids)))}
    rule_ids = {t.rule_id for t in found if t.rule_id is not None}
    rules = {r.id: r for r in db.scalars(select(FollowUpRule).where(FollowUpRule.id.in_(rule_ids)))}
    customers = {}
    for customer_id in {t.customer_id for t in found if t.customer_id is not None}:
        try:
            customers[customer_id] = crm.live(crm.customer_or_404(customer_id))
        except ServiceError:
            continue
    views = {}
    for task in found:
        customer = customers.get(task.customer_id)
        views[task.id] = TaskView(
            task=task,
            reason=_reason(task, calls, rules, names),
            customer_id=customer.id if customer is not None else None,
            customer_name=(customer.name if customer is not None else "") or "",
            assignee=names.get(task.assignee_id, "") if task.assignee_id else "",
            done_by=names.get(task.done_by_id, "") if task.done_by_id else "",
            closed_by=calls.get(task.closed_by_call_id),
        )
    return views


def _members() -> list[tuple[int, str]]:
    names = agent_names()
    active = db.scalars(
        select(Membership.id).where(Membership.status == "active").order_by(Membership.id)
    )
    return [(member_id, names.get(member_id, "")) for member_id in active]


def _back(default: str) -> str:
    """Where the form came from, a path on this site only (never an open redirect)."""
    target = request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith(("//", "/\\")) and not parts.netloc:
        return target
    return default


def _me() -> int:
    return current_user.membership.id


# --- the tasks page -----------------------------------------------------------------------


@bp.get("/tasks", endpoint="tasks")
def tasks_page():
    who = "all" if request.args.get("who") == "all" else "mine"
    lists = tasks.due_lists(None if who == "all" else _me())
    groups = [
        ("overdue", _("Overdue"), lists.overdue),
        ("today", _("Due today"), lists.today),
        ("upcoming", _("Upcoming"), lists.upcoming),
        ("snoozed", _("Snoozed"), lists.snoozed),
        ("done", _("Done") if who == "all" else _("Done by you"), lists.done),
    ]
    shown = [task for _key, _label, group in groups for task in group]
    return render_template(
        "calls/tasks.html",
        who=who,
        groups=groups,
        views=present(shown),
        members=_members(),
        outcomes=tasks.OUTCOMES,
        day=tasks.local_day(),
        limit=tasks.LIST_LIMIT,
        default_due=_default_due(),
    )


@bp.post("/tasks", endpoint="new_task")
def new_task():
    made = act(
        lambda: tasks.schedule(request.form.to_dict(), _me()),
        _("Follow-up call scheduled."),
    )
    back = _back(url_for(".tasks"))
    return redirect(back if made is not None else back + "#schedule")


def _task(task_id: int) -> Task:
    return scoped_get(Task, task_id) or abort(404)


@bp.post("/tasks/<int:task_id>/done", endpoint="task_done")
def task_done(task_id: int):
    task = _task(task_id)
    form = request.form
    act(
        lambda: tasks.complete(task, form.get("outcome", ""), form.get("note", ""), _me()),
        _("Marked done."),
    )
    return redirect(_back(url_for(".tasks")))


@bp.post("/tasks/<int:task_id>/snooze", endpoint="task_snooze")
def task_snooze(task_id: int):
    task = _task(task_id)
    form = request.form

    def snooze():
        return tasks.snooze(task, tasks.snooze_until(form.get("until"), form.get("for")))

    act(snooze, _("Snoozed."))
    return redirect(_back(url_for(".tasks")))


@bp.post("/tasks/<int:task_id>/assign", endpoint="task_assign")
def task_assign(task_id: int):
    task = _task(task_id)
    raw = (request.form.get("assignee_id") or "").strip()

    def reassign():
        if raw and not raw.isdigit():
            raise ServiceError("assignee_invalid", field="assignee_id")
        return tasks.reassign(task, int(raw) if raw else None)

    act(reassign, _("Task handed over."))
    return redirect(_back(url_for(".tasks")))


# --- the follow-up rules (admins) ---------------------------------------------------------


@bp.get("/follow-ups", endpoint="follow_ups")
@admin_required
def follow_ups_page():
    return render_template(
        "calls/follow_ups.html",
        rules=follow_ups.rules(),
        members=_members(),
        statuses=follow_ups.COMMON_STATUSES,
        max_days=follow_ups.MAX_DAYS,
    )


@bp.post("/follow-ups", endpoint="add_follow_up")
@admin_required
def add_follow_up():
    act(
        lambda: follow_ups.save_rule(None, request.form.to_dict()),
        _("Rule added: orders reaching this status get a follow-up call."),
    )
    return redirect(url_for(".follow_ups"))


def _rule(follow_up_id: int) -> FollowUpRule:
    return scoped_get(FollowUpRule, follow_up_id) or abort(404)


@bp.post("/follow-ups/<int:follow_up_id>", endpoint="save_follow_up")
@admin_required
def save_follow_up(follow_up_id: int):
    rule = _rule(follow_up_id)
    data = {**request.form.to_dict(), "enabled": request.form.get("enabled", "0")}  # unticked
    act(lambda: follow_ups.save_rule(rule, data), _("Rule saved."))
    return redirect(url_for(".follow_ups"))


@bp.post("/follow-ups/<int:follow_up_id>/delete", endpoint="delete_follow_up")
@admin_required
def delete_follow_up(follow_up_id: int):
    rule = _rule(follow_up_id)
    act(lambda: follow_ups.delete_rule(rule), _("Rule deleted. Its tasks stay."))
    return redirect(url_for(".follow_ups"))


# --- the module's boxes on other pages (app/slots.py) --------------------------------------


def _default_due() -> str:
    """The schedule form's first guess: tomorrow at 10:00 in the shop, as its input reads it."""
    moment = tasks.snooze_until(None, "tomorrow").astimezone(tasks.shop_zone())
    return moment.strftime("%Y-%m-%dT%H:%M")


@bp.app_template_global("calls_due_today")
def calls_due_today() -> dict:
    found = tasks.due_today(_me())
    shown = found[:HOME_LIMIT]
    return {
        "tasks": shown,
        "total": tasks.due_today_count(_me()),
        "views": present(shown),
        "day_start": tasks.local_day()[0],
    }


@bp.app_template_global("calls_customer_tasks")
def calls_customer_tasks(customer_id: int) -> dict:
    found = list(
        db.scalars(
            select(Task)
            .where(Task.customer_id == customer_id, Task.status.in_(tasks.OPEN))
            .order_by(Task.due_at, Task.id)
            .limit(20)
        )
    )
    return {
        "tasks": found,
        "views": present(found),
        "members": _members(),
        "me": _me(),
        "default_due": _default_due(),
    }


@bp.app_template_global("task_outcome_name")
def task_outcome_name(outcome: str) -> str:
    return str(tasks.OUTCOMES.get(outcome, outcome))


slots.add_box("console_home", "calls", "calls/_due_home.html")
slots.add_box("customer_side", "calls", "calls/_customer_tasks.html")
slots.add_count("calls.index", "calls", lambda: tasks.due_today_count(_me()))
