"""Tasks made by what happens elsewhere, inside the unit of work that recorded it (so a missed
call's task exists by the time the provider's webhook is answered).

- An inbound call that ended missed, busy or failed (abandoned: missed, cause cancel) → a
  callback task for its number, due now, for the call's agent or the shop's queue. One open
  callback task per number: another missed call from it counts on that task.
- An answered call with that number (either way) closes the open callback task: reached.
- An order reaching a status a follow-up rule names → a follow-up task, N days later at
  FOLLOW_UP_HOUR in the shop's time zone, once per rule and order.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import phonenumbers
from flask_babel import force_locale, gettext
from sqlalchemy import select, text

from app.calls import tasks
from app.calls.models import Call, FollowUpRule, Task
from app.calls.signals import call_answered, call_ended
from app.crm import service as crm
from app.crm.signals import order_recorded, order_status_changed
from tenants.db import current_tenant_id, db, scoped_get, utcnow
from tenants.errors import ServiceError
from tenants.models import Membership, Tenant

UNANSWERED = ("missed", "busy", "failed")
FOLLOW_UP_HOUR = time(10, 0)  # shop-local: late enough to call, early enough to reach people


# --- calls ----------------------------------------------------------------------------------


@call_ended.connect
def _on_call_ended(call: Call, previous: str = "", **_) -> None:
    if call.status == "ended":
        _close_reached(call)
    elif call.status in UNANSWERED and call.direction == "in" and previous not in UNANSWERED:
        # a correction between unanswered statuses (missed → busy) is the same missed call
        _missed(call)


@call_answered.connect
def _on_call_answered(call: Call, **_) -> None:
    _close_reached(call)


def _missed(call: Call) -> None:
    phone = call.customer_number
    if not any(ch.isdigit() for ch in phone):
        return  # anonymous: no number to call back
    _lock_number(phone)
    task = _open_callback(phone)
    if task is None:
        tasks.open_task(
            "callback",
            source_key=f"call:{call.id}",
            title=_callback_title(call),
            customer_id=call.customer_id,
            phone=phone,
            call_id=call.id,
            assignee_id=_active(call.agent_id),
        )
        return
    if task.call_id == call.id:
        return
    # the customer called again: the task now stands for one more call, and is due now
    task.attempts += 1
    task.call_id = call.id
    task.status, task.due_notified_at = "open", None
    task.due_at = min(task.due_at, utcnow())
    task.customer_id = task.customer_id or call.customer_id
    task.assignee_id = task.assignee_id or _active(call.agent_id)
    db.flush()
    tasks.announce_if_due(task)


def _close_reached(call: Call) -> None:
    """The number's open callback task is done: the customer and the shop spoke."""
    phone = call.customer_number
    if not phone:
        return
    task = _open_callback(phone)
    if task is None:
        return
    missed = scoped_get(Call, task.call_id) if task.call_id else None
    spoke_at = call.answered_at or call.started_at
    if missed is not None and missed.id != call.id and missed.started_at > spoke_at:
        return  # the missed call came after this one: it still needs its callback
    task.closed_by_call_id = call.id
    tasks.complete(task, "reached", "", call.agent_id)


def _open_callback(phone: str) -> Task | None:
    query = select(Task).where(
        Task.kind == "callback", Task.phone == phone, Task.status.in_(tasks.OPEN)
    )
    return db.scalar(query.order_by(Task.id).limit(1).with_for_update())


def _lock_number(phone: str) -> None:
    """Two missed calls from one number in two workers at once: one after the other, so they
    make one task (SQLite's writers take turns anyway)."""
    if db.get_bind().dialect.name == "postgresql":
        key = f"call_task:{current_tenant_id()}:{phone}"
        db.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


def _callback_title(call: Call) -> str:
    """In the shop's language: the task is the shop's, whoever reads it first."""
    customer = crm.live(_customer(call.customer_id))
    tenant = scoped_get(Tenant, current_tenant_id())
    who = customer.name if customer is not None else ""
    who = who or _readable(call.customer_number, tenant.country if tenant else "CN")
    with force_locale(tenant.locale if tenant else "zh_CN"):
        return gettext("Call back %(who)s", who=who)


def _readable(number: str, country: str) -> str:
    """As the shop's people write it: 139 0000 0002 at home, +1 201-555-0123 abroad."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return number
    style = phonenumbers.PhoneNumberFormat
    home = phonenumbers.region_code_for_number(parsed) == country
    return phonenumbers.format_number(parsed, style.NATIONAL if home else style.INTERNATIONAL)


def _customer(customer_id: int | None):
    if customer_id is None:
        return None
    try:
        return crm.customer_or_404(customer_id)
    except ServiceError:
        return None


def _active(membership_id: int | None) -> int | None:
    """A member who can still take the task; else it goes to the shop's queue."""
    if membership_id is None:
        return None
    member = scoped_get(Membership, membership_id)
    return member.id if member is not None and member.status == "active" else None


# --- orders ---------------------------------------------------------------------------------


@order_recorded.connect
def _on_order_recorded(order, **_) -> None:
    _follow_up(order, since=order.placed_at)


@order_status_changed.connect
def _on_order_status_changed(order, **_) -> None:
    _follow_up(order, since=utcnow())


def _follow_up(order, since: datetime) -> None:
    rules = db.scalars(
        select(FollowUpRule).where(
            FollowUpRule.enabled.is_(True), FollowUpRule.order_status == order.status
        )
    ).all()
    if not rules:
        return
    customer = crm.live(_customer(order.customer_id))
    phone = customer.phones[0].e164 if customer is not None and customer.phones else ""
    for rule in rules:
        due = follow_up_due(since, rule.days)
        if due < utcnow() - timedelta(days=1):
            continue  # an old order imported with this status: its follow-up time is long past
        tasks.open_task(
            "follow_up",
            source_key=f"rule:{rule.id}:order:{order.id}",
            title=f"{rule.title} ({order.external_id})" if rule.title else _follow_up_title(order),
            customer_id=customer.id if customer is not None else None,
            phone=phone,
            order_id=order.id,
            rule_id=rule.id,
            due_at=due,
            assignee_id=_active(rule.assignee_id),
        )


def follow_up_due(since: datetime, days: int) -> datetime:
    """``days`` shop-local days after ``since``, at FOLLOW_UP_HOUR of that day (so 7 days
    after a Friday-evening shipment is the next Friday morning, across a DST change too)."""
    local_day = since.astimezone(tasks.shop_zone()).date()
    return tasks.local_moment(local_day + timedelta(days=days), FOLLOW_UP_HOUR)


def _follow_up_title(order) -> str:
    tenant = scoped_get(Tenant, current_tenant_id())
    with force_locale(tenant.locale if tenant else "zh_CN"):
        return gettext("Follow up on order %(number)s", number=order.external_id)
