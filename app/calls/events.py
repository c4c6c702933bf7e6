"""The calls module's Socket.IO events on ``/agent``, behind the ``calls`` feature."""

from __future__ import annotations

from app.calls import records
from app.calls.models import Call
from app.chat.peers import AGENT, Peer
from app.chat.sockets import as_int, handler
from app.features import gated_events
from tenants.db import scoped_get
from tenants.errors import ServiceError

calls_event = gated_events("calls", handler)


@calls_event(AGENT, "call_take")
def call_take(peer: Peer, data: dict):
    """The agent says "I took it": they answered a ringing call on a phone the provider does not
    report (call_answered then tells every online agent, so the others' cards go)."""
    call = scoped_get(Call, as_int(data.get("call_id")) or 0)
    if call is None:
        raise ServiceError("not_found")
    if not records.took(call, peer.ident):
        raise ServiceError("call_not_ringing")
    return {"ok": True, "call_id": call.id}
