"""The clock's part in tasks: a task that became due (a follow-up's day came, a snooze ran
out) is told to its assignee — or to every agent, for the shop's queue — once."""

from __future__ import annotations

from sqlalchemy import select

from app.calls import tasks
from app.calls.models import Task
from tenants.clock import periodic
from tenants.db import cross_tenant, db, utcnow
from tenants.jobs import enqueue, job

BATCH = 500  # per shop and run: the next run takes the rest


def _to_tell(now):
    return (
        Task.status.in_(tasks.OPEN),
        Task.due_notified_at.is_(None),
        Task.due_at <= now,
    )


@periodic("calls.tasks_due", every="CALL_TASKS_DUE_SECONDS")
def tasks_due_everywhere() -> None:
    """Each shop with tasks to tell gets its own job (its own unit, its tenant bound)."""
    with cross_tenant():
        shops = db.scalars(select(Task.tenant_id).where(*_to_tell(utcnow())).distinct()).all()
    for tenant_id in shops:
        enqueue("calls.tasks_due_shop", tenant_id)


@job("calls.tasks_due_shop")
def tasks_due_shop() -> None:
    # locked and skipped: two runs at once (a slow one and the next) tell each task once
    query = (
        select(Task)
        .where(*_to_tell(utcnow()))
        .order_by(Task.due_at, Task.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    for task in db.scalars(query).all():
        tasks.announce_if_due(task)
