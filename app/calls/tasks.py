"""Callback and follow-up tasks: the calls a shop's member has to make.

A task comes from a missed call (app/calls/task_listeners.py), a callback request, a follow-up
rule on an order's status, or a member's hand. Whatever made it names it by ``source_key``
("call:12", "callback:5", "rule:3:order:9"), so the same cause makes one task however often it
is reported. A task is due at a moment (stored in UTC, shown and grouped in the shop's time
zone); a snoozed one comes back when its new time comes; done, it carries an outcome and a note
that land on the customer's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from app.calls.models import TASK_KINDS, Task
from app.chat.peers import AGENT, agents_room, emit_after_commit, member_room
from app.crm import service as crm
from tenants.db import current_tenant_id, db, scoped_get, utcnow
from tenants.errors import ServiceError
from tenants.models import Membership, Tenant

OUTCOMES = {
    "reached": _l("Reached"),
    "no_answer": _l("No answer"),
    "wrong_number": _l("Wrong number"),
    "call_later": _l("Call later"),
    "resolved": _l("Resolved"),
}
OPEN = ("open", "snoozed")
MAX_TITLE = 200
MAX_NOTE = 2000
LIST_LIMIT = 100  # per group of the tasks page: a shop with more works the oldest first


def open_task(
    kind: str,
    *,
    source_key: str | None = None,
    title: str = "",
    customer_id: int | None = None,
    phone: str = "",
    call_id: int | None = None,
    callback_id: int | None = None,
    order_id: int | None = None,
    rule_id: int | None = None,
    due_at: datetime | None = None,
    assignee_id: int | None = None,
    created_by_id: int | None = None,
) -> Task:
    """The task ``source_key`` names, made now if it was not yet (two workers reporting the
    same cause at once still make one). Due now when ``due_at`` is not given; nobody assigned
    means the shop's queue. A task already due is announced once this unit commits."""
    if kind not in TASK_KINDS:
        raise ServiceError("task_kind_invalid", field="kind")
    if source_key is not None:
        found = by_source(source_key)
        if found is not None:
            return found
    if customer_id is not None:
        customer_id = crm.live(crm.customer_or_404(customer_id)).id
    _check_assignee(assignee_id)
    task = Task(
        kind=kind,
        source_key=source_key,
        title=(title or "").strip()[:MAX_TITLE],
        customer_id=customer_id,
        phone=(phone or "").strip()[:32],
        call_id=call_id,
        callback_id=callback_id,
        order_id=order_id,
        rule_id=rule_id,
        due_at=due_at or utcnow(),
        assignee_id=assignee_id,
        created_by_id=created_by_id,
    )
    try:
        with db.begin_nested():
            db.add(task)
            db.flush()
    except IntegrityError:
        # the same source made its task in another unit meanwhile: that one is the task
        found = by_source(source_key) if source_key is not None else None
        if found is None:
            raise
        return found
    announce_if_due(task)
    return task


def by_source(source_key: str) -> Task | None:
    return db.scalar(select(Task).where(Task.source_key == source_key))


def task_or_404(task_id) -> Task:
    try:
        task = scoped_get(Task, int(task_id))
    except (TypeError, ValueError):
        task = None
    if task is None:
        raise ServiceError("not_found")
    return task


def complete(task: Task, outcome: str, note: str, membership_id: int | None) -> Task:
    """Mark the call made, with how it went; on the customer's timeline when there is one."""
    if task.status == "done":
        raise ServiceError("task_done")
    if outcome not in OUTCOMES:
        raise ServiceError("outcome_invalid", field="outcome")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ServiceError("too_long", field="note", max=MAX_NOTE)
    task.status, task.outcome, task.note = "done", outcome, note
    task.done_at, task.done_by_id = utcnow(), membership_id
    db.flush()
    _on_timeline(task)
    return task


def snooze(task: Task, until: datetime) -> Task:
    """Put the task away until ``until`` (a moment to come): it is due again then, and told
    again."""
    if task.status == "done":
        raise ServiceError("task_done")
    if until <= utcnow():
        raise ServiceError("snooze_past", field="until")
    task.status, task.due_at, task.due_notified_at = "snoozed", until, None
    db.flush()
    return task


def reassign(task: Task, assignee_id: int | None) -> Task:
    """Give the task to another member (None: back to the shop's queue); they are told if it
    is due."""
    if task.status == "done":
        raise ServiceError("task_done")
    _check_assignee(assignee_id)
    if assignee_id != task.assignee_id:
        task.assignee_id = assignee_id
        if task.status == "open" and task.due_at <= utcnow():
            task.due_notified_at = None
        db.flush()
        announce_if_due(task)
    return task


def announce_if_due(task: Task) -> bool:
    """Tell the assignee (or every agent, for the queue's tasks) that ``task`` is due, once:
    after this unit commits, and never again for the same due time."""
    now = utcnow()
    if task.status == "done" or task.due_at > now or task.due_notified_at is not None:
        return False
    task.status, task.due_notified_at = "open", now
    db.flush()
    room = (
        member_room(task.tenant_id, task.assignee_id)
        if task.assignee_id is not None
        else agents_room(task.tenant_id)
    )
    emit_after_commit("task_due", task_json(task), room, AGENT)
    return True


def task_json(task: Task) -> dict:
    return {
        "id": task.id,
        "kind": task.kind,
        "title": task.title,
        "phone": task.phone,
        "customer_id": task.customer_id,
        "call_id": task.call_id,
        "assignee_id": task.assignee_id,
        "status": task.status,
        "attempts": task.attempts,
        "due_at": task.due_at.isoformat(),
    }


# --- the shop's clock: what "today" is --------------------------------------------------------


def shop_zone() -> ZoneInfo:
    tenant = scoped_get(Tenant, current_tenant_id())
    return ZoneInfo(tenant.timezone if tenant else "UTC")


def local_day(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Today in the shop's time zone, as UTC moments [start, end) (a DST day is 23 or 25 h)."""
    zone = shop_zone()
    today = (now or utcnow()).astimezone(zone).date()
    start = datetime.combine(today, time(0), tzinfo=zone)
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def local_moment(day, at: time) -> datetime:
    """A shop-local date and wall-clock time as a stored (UTC) moment."""
    return datetime.combine(day, at, tzinfo=shop_zone()).astimezone(ZoneInfo("UTC"))


# --- the lists --------------------------------------------------------------------------------


@dataclass
class DueLists:
    overdue: list[Task]
    today: list[Task]
    upcoming: list[Task]
    snoozed: list[Task]
    done: list[Task]


def _whose(query, membership_id: int | None):
    """Mine: assigned to me, or to nobody (the shop's queue is everyone's to take)."""
    if membership_id is None:
        return query
    return query.where(or_(Task.assignee_id == membership_id, Task.assignee_id.is_(None)))


def due_lists(membership_id: int | None = None, now: datetime | None = None) -> DueLists:
    """The tasks page: open tasks by day in the shop's time zone, snoozed ones, the latest done
    (``membership_id``: only that member's and the queue's)."""
    start, end = local_day(now)
    opened = _whose(select(Task).where(Task.status == "open"), membership_id)

    def group(query, order=None):
        order = Task.due_at.asc() if order is None else order
        return list(db.scalars(query.order_by(order, Task.id).limit(LIST_LIMIT)))

    snoozed = _whose(select(Task).where(Task.status == "snoozed"), membership_id)
    done = select(Task).where(Task.status == "done")
    if membership_id is not None:
        done = done.where(Task.done_by_id == membership_id)
    return DueLists(
        overdue=group(opened.where(Task.due_at < start)),
        today=group(opened.where(Task.due_at >= start, Task.due_at < end)),
        upcoming=group(opened.where(Task.due_at >= end)),
        snoozed=group(snoozed),
        done=group(done, Task.done_at.desc()),
    )


def due_today(membership_id: int | None, now: datetime | None = None) -> list[Task]:
    """What the console's home lists: open tasks due by the end of the shop's day, overdue
    first (``membership_id``: mine and the queue's)."""
    _, end = local_day(now)
    query = _whose(select(Task).where(Task.status == "open", Task.due_at < end), membership_id)
    return list(db.scalars(query.order_by(Task.due_at, Task.id).limit(LIST_LIMIT)))


# --- helpers ----------------------------------------------------------------------------------


def _check_assignee(assignee_id: int | None) -> None:
    if assignee_id is None:
        return
    member = scoped_get(Membership, assignee_id)
    if member is None or member.status != "active":
        raise ServiceError("assignee_invalid", field="assignee_id")


def _on_timeline(task: Task) -> None:
    if task.customer_id is None:
        return
    customer = crm.live(crm.customer_or_404(task.customer_id))
    crm.add_entry(
        customer.id,
        "task",
        ref_id=task.id,
        summary=task.note,
        data={
            "title": task.title,
            "kind": task.kind,
            "outcome": task.outcome,
            "phone": task.phone,
            "call_id": task.call_id,
            "closed_by_call_id": task.closed_by_call_id,
        },
        occurred_at=task.done_at,
        author_id=task.done_by_id,
    )
