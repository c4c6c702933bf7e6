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
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from app.calls.models import TASK_KINDS, Call, Task
from app.chat.peers import AGENT, agents_room, emit_after_commit, member_room
from app.crm import service as crm
from tenants.db import current_tenant_id, db, scoped_get, utcnow
from tenants.errors import ServiceError
from tenants.jobs import enqueue
from tenants.models import Membership, Tenant
from tenants.plans import entitlements

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
        raise ValueError(f"unknown task kind {kind!r}")  # a caller's mistake, not a user's
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
    after this unit commits, and never again for the same due time. A shop without the calls
    feature keeps its tasks (they are there on upgrade) but nobody is told."""
    now = utcnow()
    if task.status == "done" or task.due_at > now or task.due_notified_at is not None:
        return False
    task.status, task.due_notified_at = "open", now
    db.flush()
    if not entitlements(_shop()).has("calls"):
        return False
    room = (
        member_room(task.tenant_id, task.assignee_id)
        if task.assignee_id is not None
        else agents_room(task.tenant_id)
    )
    emit_after_commit("task_due", task_json(task), room, AGENT)
    enqueue("calls.push_task_due", task.tenant_id, task.id)  # to phones (push_listeners.py)
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


def schedule(data: dict, created_by_id: int) -> Task:
    """A follow-up call a member schedules by hand (the tasks page, a customer's record): the
    form's ``customer_id``, ``phone``, ``call_id``, ``title``, ``due`` (shop-local
    ``YYYY-MM-DDTHH:MM``) and ``assignee_id`` (empty: the shop's queue). Anything not this
    shop's, or not readable, is refused and nothing is made."""
    due_at = parse_local(data.get("due"), "due")
    call = None
    if str(data.get("call_id") or "").strip():
        call = _own(Call, data["call_id"])
    customer_id = None
    if str(data.get("customer_id") or "").strip():
        customer_id = _own_customer(data["customer_id"]).id
    elif call is not None:
        customer_id = call.customer_id
    phone = str(data.get("phone") or "").strip()
    if phone:
        phone = crm.normalize_phone(phone, _shop().country if _shop() else "CN")
    elif call is not None and call.customer_number:
        phone = call.customer_number
    elif customer_id is not None:
        phones = _own_customer(customer_id).phones
        phone = phones[0].e164 if phones else ""
    if not phone:
        raise ServiceError("task_phone_required", field="phone")
    title = str(data.get("title") or "").strip()
    if len(title) > MAX_TITLE:
        raise ServiceError("too_long", field="title", max=MAX_TITLE)
    raw_assignee = str(data.get("assignee_id") or "").strip()
    if raw_assignee and not raw_assignee.isdigit():
        raise ServiceError("assignee_invalid", field="assignee_id")
    return open_task(
        "follow_up",
        title=title,
        customer_id=customer_id,
        phone=phone,
        call_id=call.id if call is not None else None,
        due_at=due_at,
        assignee_id=int(raw_assignee) if raw_assignee else None,
        created_by_id=created_by_id,
    )


def snooze_until(raw_until: str | None, preset: str | None, now: datetime | None = None):
    """When a snooze ends: a preset ("1h", "3h", "tomorrow": the next day at 10:00 shop time)
    or a shop-local moment from the form."""
    now = now or utcnow()
    if preset in ("1h", "3h"):
        return now + timedelta(hours=int(preset[0]))
    if preset == "tomorrow":
        tomorrow = now.astimezone(shop_zone()).date() + timedelta(days=1)
        return local_moment(tomorrow, time(10, 0))
    if preset:
        raise ServiceError("snooze_invalid", field="until")
    return parse_local(raw_until, "until")


def parse_local(raw, field: str) -> datetime:
    """A shop-local ``YYYY-MM-DDTHH:MM`` (what a datetime-local input sends) as a UTC moment."""
    text = str(raw or "").strip()
    for layout in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):  # browsers may add the seconds
        try:
            moment = datetime.strptime(text, layout)
            break
        except ValueError:
            continue
    else:
        raise ServiceError("task_due_invalid", field=field)
    return moment.replace(tzinfo=shop_zone()).astimezone(ZoneInfo("UTC"))


def _own(model, raw):
    try:
        found = scoped_get(model, int(str(raw).strip()))
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise ServiceError("task_call_invalid", field="call_id")
    return found


def _own_customer(raw):
    try:
        return crm.live(crm.customer_or_404(raw))
    except ServiceError as error:
        raise ServiceError("task_customer_invalid", field="customer_id") from error


def _shop() -> Tenant | None:
    return scoped_get(Tenant, current_tenant_id())


# --- the shop's clock: what "today" is --------------------------------------------------------


def shop_zone() -> ZoneInfo:
    tenant = _shop()
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


def due_today_count(membership_id: int | None, now: datetime | None = None) -> int:
    """The navigation's badge: as many as ``due_today`` lists, counted by the database."""
    _, end = local_day(now)
    query = select(func.count()).select_from(Task).where(Task.status == "open", Task.due_at < end)
    return db.scalar(_whose(query, membership_id)) or 0


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
