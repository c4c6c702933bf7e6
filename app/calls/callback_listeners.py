"""What the free callback does when the calls module's events happen."""

from __future__ import annotations

from app.calls.callback_jobs import queue_task
from app.calls.models import Call, CallbackRequest
from app.calls.signals import call_ended
from tenants.db import scoped_get


@call_ended.connect
def _agent_leg_ended(call: Call, previous: str = "", **_) -> None:
    """Ringing the agent ended without an answer (busy, missed, failed, or swept by the
    clock): the visitor still waits for a call, so it becomes a task."""
    if call.kind != "callback" or call.callback_id is None or call.answered_at is not None:
        return
    callback = scoped_get(CallbackRequest, call.callback_id)
    if callback is not None and callback.status == "calling":
        queue_task(callback, call)
