"""Calls on agents' phones (app/push): a ringing inbound call and a task that fell due, for
an agent away from the console. Each is a job (the ring arrives in the provider's webhook)."""

from __future__ import annotations

from flask_babel import gettext as _

from app.calls import pop
from app.calls.models import Call, Task
from app.calls.signals import call_ringing
from app.chat import service as chat
from app.push.service import Notice, page_path, send
from tenants.db import scoped_get
from tenants.jobs import enqueue, job
from tenants.models import Tenant
from tenants.plans import entitlements


@call_ringing.connect
def _on_ringing(call, **_) -> None:
    if call.direction == "in":
        enqueue("calls.push_ringing", call.tenant_id, call.id)


@job("calls.push_ringing", max_retries=0)  # a ring told a minute late is a missed call
def push_ringing(call_id: int) -> None:
    call = scoped_get(Call, call_id)
    if call is None or call.status != "ringing" or not _calls_on(call.tenant_id):
        return
    customer = pop.caller(call)
    tenant = scoped_get(Tenant, call.tenant_id)
    number = pop.readable(call.customer_number, tenant.country)
    who = customer.name if customer and customer.name else number

    def words():
        return _("Incoming call from %(caller)s", caller=who), number

    notice = Notice("call", f"call-{call.id}", page_path("calls.call", call_id=call.id), words)
    send(notice, [call.agent_id] if call.agent_id else chat.queue_members(None))


@job("calls.push_task_due", max_retries=3)  # queued by tasks.announce_if_due
def push_task_due(task_id: int) -> None:
    task = scoped_get(Task, task_id)
    if task is None or task.status == "done" or not _calls_on(task.tenant_id):
        return

    def words():
        return _("A call task is due"), task.title or task.phone

    url = page_path("calls.tasks") + f"#task-{task.id}"
    who = [task.assignee_id] if task.assignee_id else chat.queue_members(None)
    send(Notice("task", f"task-{task.id}", url, words), who)


def _calls_on(tenant_id: int) -> bool:
    tenant = scoped_get(Tenant, tenant_id)
    return tenant is not None and entitlements(tenant).has("calls")
