"""The socket machinery under the chat's handlers (docs/realtime.md): who may connect, one
unit of work per event, the refusal every client is owed, and the agents' presence heartbeat.

Each event is one unit of work: it binds its tenant from the identity checked at connect,
writes, commits, and only then acknowledges and broadcasts (``emit_after_commit``): what a
client sees acknowledged is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, g, request
from flask_babel import force_locale
from flask_socketio import ConnectionRefusedError

from app.chat import flood, service
from app.chat.peers import (
    AGENT,
    PEERS,
    VISITOR,
    Peer,
    start_listening,
)
from app.edges import check_input
from app.extensions import socketio
from app.messages import message_for
from tenants.db import bind_tenant, scoped_get
from tenants.errors import ServiceError
from tenants.models import ROLES, Membership
from tenants.work import unit_of_work

log = logging.getLogger("huike.chat")


_heartbeat: list = []  # this worker's presence task, started with its first agent


def _keep_agents_present(app) -> None:
    """Every so often, tell the database which agents this worker still holds a socket for."""
    interval = app.config["AGENT_HEARTBEAT_SECONDS"]
    while True:
        socketio.sleep(interval)
        by_tenant: dict[int, list[int]] = {}
        for (namespace, _sid), peer in list(PEERS.items()):
            if namespace == AGENT:
                by_tenant.setdefault(peer.tenant_id, []).append(peer.ident)
        with app.app_context():
            for tenant_id, member_ids in by_tenant.items():
                with unit_of_work():
                    bind_tenant(tenant_id)
                    service.agents_seen(member_ids)


def start_heartbeat() -> None:
    if not _heartbeat and current_app.config["AGENT_HEARTBEAT_SECONDS"]:
        app = current_app._get_current_object()
        _heartbeat.append(socketio.start_background_task(_keep_agents_present, app))


def error_payload(error: ServiceError, lang: str = "en") -> dict:
    with force_locale(lang):
        return {"error": error.code, "message": message_for(error), "field": error.field}


def handler(namespace: str, event: str, fast: Callable | None = None) -> Callable:
    """Limit the rate, then one unit of work: bind the tenant, run, commit; then acknowledge
    and broadcast.

    Registered with python-socketio directly, inside an app context but without the Flask
    request context Flask-SocketIO builds per event (request object, URL matching, cookie
    session): a handler knows its client by the ``Peer`` checked at connect, and that context
    was a seventh of the CPU of a chat message.

    ``fast(peer, data)``: the common case done without the ORM session (its SQL names the
    tenant itself), committed before it returns; None hands over to the handler.
    """

    def decorate(fn):
        @wraps(fn)
        def run(sid, data=None):
            environ = socketio.server.get_environ(sid, namespace=namespace)
            if not environ:
                return error_payload(ServiceError("unauthorized"))
            with environ["flask.app"].app_context():
                return _run(fn, fast, namespace, event, sid, data)

        if socketio.server:
            socketio.server.on(event, run, namespace=namespace)
        else:  # registered again by every init_app (as Flask-SocketIO's own handlers are)
            socketio.handlers.append((event, run, namespace))
        return fn

    return decorate


def _run(fn: Callable, fast: Callable | None, namespace: str, event: str, sid: str, data):
    peer = PEERS.get((namespace, sid))
    if peer is None:
        return error_payload(ServiceError("unauthorized"))
    kind = event if event in ("message", "draft") and peer.kind == "visitor" else "event"
    if not flood.allow(kind, f"{peer.kind}:{peer.tenant_id}:{peer.ident}"):
        refusal = error_payload(ServiceError("rate_limited"), peer.lang)
        socketio.emit("error", refusal, to=sid, namespace=namespace)
        return refusal
    try:
        check_input(data)
        data = data if isinstance(data, dict) else {}
        with unit_of_work():
            result = fast(peer, data) if fast is not None else None
            if result is None:
                bind_tenant(peer.tenant_id)
                if peer.kind == "agent":  # handlers act as g.member
                    g.member = member_still_allowed(peer)
                result = fn(peer, data)
    except ServiceError as error:
        return error_payload(error, peer.lang)
    except Exception:  # the client is still owed an answer: it would wait for it forever
        log.exception("socket event failed", extra={"event": event, "tenant_id": peer.tenant_id})
        return error_payload(ServiceError("server_error"), peer.lang)
    return result


def as_int(value) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        raise ServiceError("bad_request") from None


def refuse(code: str, lang: str = "en"):
    """The client sees ``err.message`` = the code and ``err.data`` = the worded error."""
    raise ConnectionRefusedError(code, error_payload(ServiceError(code), lang))


def admit(peer: Peer) -> None:
    PEERS[(AGENT if peer.kind == "agent" else VISITOR, peer.sid)] = peer
    start_listening()


def same_origin() -> bool:
    origin = request.headers.get("Origin")
    return not origin or urlsplit(origin).netloc == request.host


def member_still_allowed(peer: Peer) -> Membership:
    """Checked on every agent event, not only at connect: a member disabled, a person logged
    out or reset, a shop suspended since is refused, and the socket closed."""
    member = scoped_get(Membership, peer.ident)
    if (
        member is None
        or member.status != "active"
        or member.role not in ROLES
        or member.user.session_version != peer.session_version
        or member.tenant.status != "active"
    ):
        socketio.start_background_task(_close_after_answer, peer.sid)
        raise ServiceError("unauthorized")
    return member


def _close_after_answer(sid: str) -> None:
    """Closed a moment later: closing at once could drop the refusal still being sent."""
    socketio.sleep(0.5)
    socketio.server.disconnect(sid, namespace=AGENT)
