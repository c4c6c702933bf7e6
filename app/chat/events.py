"""Socket.IO handlers for ``/visitor`` and ``/agent`` (docs/realtime.md).

Each handler is one unit of work: it binds its tenant from the identity checked at connect,
writes, commits, and only then acknowledges and broadcasts (``emit_after_commit``): what a
client sees acknowledged is stored. Chat publishes what happened (``app.chat.signals``) and
imports no paid module: those listen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, g, request
from flask_babel import force_locale
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, join_room

from app.chat import flood, service, signals
from app.chat.payloads import conversation_json, message_json, visitor_json
from app.chat.peers import (
    AGENT,
    PEERS,
    VISITOR,
    Peer,
    agents_room,
    conversation_room,
    emit_after_commit,
    start_listening,
    visitor_room,
)
from app.edges import check_input
from app.extensions import socketio
from app.messages import message_for
from tenants.db import after_commit, bind_tenant, scoped_get, utcnow
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


def _start_heartbeat() -> None:
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
                    g.member = _member_still_allowed(peer)
                result = fn(peer, data)
    except ServiceError as error:
        return error_payload(error, peer.lang)
    except Exception:  # the client is still owed an answer: it would wait for it forever
        log.exception("socket event failed", extra={"event": event, "tenant_id": peer.tenant_id})
        return error_payload(ServiceError("server_error"), peer.lang)
    return result


def _int(value) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        raise ServiceError("bad_request") from None


# --- /visitor ----------------------------------------------------------------------------


def _refuse(code: str, lang: str = "en"):
    """The client sees ``err.message`` = the code and ``err.data`` = the worded error."""
    raise ConnectionRefusedError(code, error_payload(ServiceError(code), lang))


def _admit(peer: Peer) -> None:
    PEERS[(AGENT if peer.kind == "agent" else VISITOR, peer.sid)] = peer
    start_listening()


@socketio.on("connect", namespace=VISITOR)
@unit_of_work()
def visitor_connect(auth=None):
    auth = auth if isinstance(auth, dict) else {}
    lang = "zh_CN" if str(auth.get("lang", "")).startswith("zh") else "en"
    if not flood.allow("connect", request.remote_addr or "?"):
        _refuse("rate_limited", lang)
    try:
        check_input(auth)
    except ServiceError:
        _refuse("unauthorized", lang)
    tenant = service.tenant_for_site_key(str(auth.get("k", "")))
    parsed = service.read_visitor_token(current_app.config["SECRET_KEY"], str(auth.get("t", "")))
    if tenant is None or parsed is None or parsed[0] != tenant.id or tenant.status != "active":
        _refuse("unauthorized", lang)
    bind_tenant(tenant.id)
    if not service.origin_allowed(
        request.headers.get("Origin"), service.settings().allowed_domains
    ):
        _refuse("origin_not_allowed", lang)
    visitor = service.visitor_by_key(parsed[1])
    if visitor is None:
        _refuse("unauthorized", lang)
    peer = Peer(tenant.id, "visitor", visitor.id, auth["t"], lang, sid=request.sid)
    join_room(visitor_room(tenant.id, visitor.id))
    service.touch(visitor)
    conversation = service.open_conversation(visitor)
    peer.conversation_id = conversation.id if conversation is not None else None
    after_commit(lambda: _admit(peer))
    summary = visitor_json(visitor, conversation is not None)
    emit_after_commit("visitor", summary, agents_room(tenant.id), AGENT)


@socketio.on("disconnect", namespace=VISITOR)
def visitor_disconnect(*_args):
    PEERS.pop((VISITOR, request.sid), None)


def _visitor(peer: Peer):
    visitor = scoped_get(service.Visitor, peer.ident)
    if visitor is None:
        raise ServiceError("unauthorized")
    return visitor


def _visitor_text(peer: Peer, data: dict) -> dict | None:
    """The common case: text to the open conversation this socket knows (one round trip on
    PostgreSQL). None for the long way: a first message, a file, a closed chat, a retry."""
    if peer.conversation_id is None or data.get("attachment_id") is not None:
        return None
    message = service.append_visitor_text(
        peer.tenant_id, peer.conversation_id, data.get("client_id"), data.get("text")
    )
    if message is None:
        return None
    payload = message_json(message, {})  # no file: the visitor's copy is the same
    _deliver_visitor_message(peer, payload, payload)
    signals.message_created.send(message, visitor_id=peer.ident, tenant_id=peer.tenant_id)
    return {"message": payload}


@handler(VISITOR, "message", fast=_visitor_text)
def visitor_message(peer: Peer, data: dict):
    visitor = _visitor(peer)
    message, conversation, stored, started = service.visitor_message(
        visitor,
        data.get("client_id"),
        data.get("text"),
        attachment_id=_int(data.get("attachment_id")),
        group_id=_int(data.get("group_id")),
    )
    # a retry may answer from a closed chat: the next message must not aim at that one
    peer.conversation_id = conversation.id if conversation.status != "closed" else None
    # a visitor's message names no agent; only a new conversation's summary does
    names = service.agent_names() if started else {}
    mine = message_json(message, names, peer.token)
    if stored:
        _deliver_visitor_message(peer, message_json(message, names), mine)
        if started:
            signals.conversation_opened.send(conversation)
        signals.message_created.send(message, visitor_id=peer.ident, tenant_id=peer.tenant_id)
        if started:
            summary = conversation_json(conversation, names)
            emit_after_commit("conversation", summary, agents_room(peer.tenant_id), AGENT)
            emit_after_commit(
                "conversation",
                _visitor_view(summary),
                visitor_room(peer.tenant_id, peer.ident),
                VISITOR,
            )
    return {"message": mine}


def _deliver_visitor_message(peer: Peer, for_agents: dict, for_visitor: dict) -> None:
    """To the shop's agents, to the visitor's other tabs, and the end of their draft preview."""
    tid = peer.tenant_id
    emit_after_commit("message", for_agents, agents_room(tid), AGENT)
    emit_after_commit("message", for_visitor, visitor_room(tid, peer.ident), VISITOR)
    emit_after_commit(
        "preview",
        {"conversation_id": for_agents["conversation_id"], "visitor_id": peer.ident, "text": ""},
        agents_room(tid),
        AGENT,
    )


def _visitor_view(summary: dict) -> dict:
    return {k: summary[k] for k in ("id", "status", "agent_name")}


@handler(VISITOR, "history")
def visitor_history(peer: Peer, data: dict):
    visitor = _visitor(peer)
    conversation = service.latest_conversation(visitor)
    if conversation is None:
        return {"conversation": None, "messages": []}
    names = service.agent_names()
    messages = service.messages_since(conversation, _int(data.get("since")) or 0)
    return {
        "conversation": _visitor_view(conversation_json(conversation, names)),
        "messages": [message_json(m, names, peer.token) for m in messages],
    }


@handler(VISITOR, "draft")
def visitor_draft(peer: Peer, data: dict):
    text = data.get("text") if isinstance(data.get("text"), str) else ""
    visitor = _visitor(peer)
    conversation = service.open_conversation(visitor)
    emit_after_commit(
        "preview",
        {
            "conversation_id": conversation.id if conversation else None,
            "visitor_id": visitor.id,
            "text": text[: service.MAX_TEXT],
        },
        agents_room(peer.tenant_id),
        AGENT,
    )


@handler(VISITOR, "read")
def visitor_read(peer: Peer, data: dict):
    conversation = service.open_conversation(_visitor(peer))
    seq = _int(data.get("seq")) or 0
    if conversation is not None and service.mark_read(conversation, "visitor", seq):
        emit_after_commit(
            "read",
            {"conversation_id": conversation.id, "seq": conversation.visitor_read_seq},
            agents_room(peer.tenant_id),
            AGENT,
        )


@handler(VISITOR, "rate")
def visitor_rate(peer: Peer, data: dict):
    conversation = service.rate(
        _visitor(peer),
        _int(data.get("conversation_id")),
        data.get("score"),
        data.get("comment", ""),
    )
    emit_after_commit(
        "conversation",
        conversation_json(conversation, service.agent_names()),
        agents_room(peer.tenant_id),
        AGENT,
    )
    return {"ok": True}


# --- /agent ------------------------------------------------------------------------------


def _same_origin() -> bool:
    origin = request.headers.get("Origin")
    return not origin or urlsplit(origin).netloc == request.host


@socketio.on("connect", namespace=AGENT)
@unit_of_work()
def agent_connect(auth=None):
    if not _same_origin():  # no cross-site socket hijacking with the agent's cookie
        _refuse("origin_not_allowed")
    if not current_user.is_authenticated:
        _refuse("unauthorized")
    if current_user.tenant.status != "active":
        _refuse("suspended")
    member = current_user.membership
    tid = member.tenant_id
    user = current_user.user
    _admit(
        Peer(
            tid,
            "agent",
            member.id,
            lang=user.locale or "en",
            sid=request.sid,
            user_id=user.id,
            session_version=user.session_version,
        )
    )
    _start_heartbeat()
    join_room(agents_room(tid))
    state = service.agent_connected(member.id)
    assigned = service.drain_queue() if state.status == "online" else []
    names = service.agent_names()
    emit_after_commit("snapshot", _snapshot(member, names), request.sid, AGENT)
    for conversation in assigned:
        emit_after_commit(
            "conversation", conversation_json(conversation, names), agents_room(tid), AGENT
        )
    _announce_agent(member.id, state.status, state.connections)


def _announce_agent(membership_id: int, status: str, connections: int) -> None:
    member = scoped_get(Membership, membership_id)
    announcement = {
        "id": membership_id,
        "name": service.agent_names().get(membership_id),
        "status": status if connections else "offline",
        "role": member.role if member else None,
    }
    emit_after_commit("agent", announcement, agents_room(member.tenant_id), AGENT)


def _snapshot(member: Membership, names: dict[int, str]) -> dict:
    chatting = service.chatting_visitor_ids()
    return {
        "now": utcnow().isoformat(),  # the console measures time on site against this clock
        "me": {
            "id": member.id,
            "name": names.get(member.id),
            "role": member.role,
            "status": service.agent_state(member.id).status,
        },
        "agents": service.agents_summary(),
        "conversations": [conversation_json(c, names) for c in service.agent_conversations(member)],
        "visitors": [visitor_json(v, v.id in chatting) for v in service.visitors_on_site()],
    }


@socketio.on("disconnect", namespace=AGENT)
@unit_of_work()
def agent_disconnect(*_args):
    peer = PEERS.pop((AGENT, request.sid), None)
    if peer is None:
        return
    bind_tenant(peer.tenant_id)
    state = service.agent_disconnected(peer.ident)
    _announce_agent(peer.ident, state.status, state.connections)


def _member_still_allowed(peer: Peer) -> Membership:
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


@handler(AGENT, "status")
def agent_status(peer: Peer, data: dict):
    state = service.set_status(peer.ident, data.get("status"))
    names = service.agent_names()
    if state.status == "online":
        for conversation in service.drain_queue():
            emit_after_commit(
                "conversation",
                conversation_json(conversation, names),
                agents_room(peer.tenant_id),
                AGENT,
            )
    emit_after_commit(
        "agent",
        {"id": peer.ident, "name": names.get(peer.ident), "status": state.status},
        agents_room(peer.tenant_id),
        AGENT,
    )
    return {"status": state.status}


@handler(AGENT, "open")
def agent_open(peer: Peer, data: dict):
    conversation = service.conversation_or_404(_int(data.get("conversation_id")))
    join_room(conversation_room(peer.tenant_id, conversation.id), sid=peer.sid, namespace=AGENT)
    names = service.agent_names()
    visitor = conversation.visitor
    return {
        "conversation": conversation_json(conversation, names),
        "visitor": visitor_json(visitor, True, service.recent_pages(visitor.id)),
        "messages": [
            message_json(m, names)
            for m in service.messages_since(conversation, _int(data.get("since")) or 0, notes=True)
        ],
        "history": [conversation_json(c, names) for c in service.past_conversations(visitor)],
    }


@handler(AGENT, "send")
def agent_send(peer: Peer, data: dict):
    member = g.member
    was_queued = service.conversation_or_404(_int(data.get("conversation_id"))).status
    message, conversation, stored = service.agent_message(
        member,
        _int(data.get("conversation_id")),
        data.get("client_id"),
        data.get("text"),
        attachment_id=_int(data.get("attachment_id")),
        note=bool(data.get("note")),
    )
    names = service.agent_names()
    payload = message_json(message, names)
    if stored:
        signals.message_created.send(
            message, visitor_id=conversation.visitor_id, tenant_id=peer.tenant_id
        )
        tid = peer.tenant_id
        emit_after_commit("message", payload, agents_room(tid), AGENT)
        if message.sender != "note":
            token = service.visitor_token(current_app.config["SECRET_KEY"], conversation.visitor)
            room = visitor_room(tid, conversation.visitor_id)
            emit_after_commit("message", message_json(message, names, token), room, VISITOR)
            emit_after_commit(
                "typing", {"typing": False, "agent_name": names.get(member.id)}, room, VISITOR
            )
        if was_queued != conversation.status:
            _broadcast_conversation(peer, conversation, names)
    return {"message": payload}


def _broadcast_conversation(peer: Peer, conversation, names) -> None:
    summary = conversation_json(conversation, names)
    emit_after_commit("conversation", summary, agents_room(peer.tenant_id), AGENT)
    emit_after_commit(
        "conversation",
        _visitor_view(summary),
        visitor_room(peer.tenant_id, conversation.visitor_id),
        VISITOR,
    )


@handler(AGENT, "typing")
def agent_typing(peer: Peer, data: dict):
    conversation = service.conversation_or_404(_int(data.get("conversation_id")))
    emit_after_commit(
        "typing",
        {"typing": bool(data.get("typing")), "agent_name": service.agent_names().get(peer.ident)},
        visitor_room(peer.tenant_id, conversation.visitor_id),
        VISITOR,
    )


@handler(AGENT, "read")
def agent_read(peer: Peer, data: dict):
    conversation = service.conversation_or_404(_int(data.get("conversation_id")))
    if service.mark_read(conversation, "agent", _int(data.get("seq")) or 0):
        emit_after_commit(
            "read",
            {"seq": conversation.agent_read_seq},
            visitor_room(peer.tenant_id, conversation.visitor_id),
            VISITOR,
        )
        emit_after_commit(
            "read",
            {"conversation_id": conversation.id, "agent_seq": conversation.agent_read_seq},
            agents_room(peer.tenant_id),
            AGENT,
        )


@handler(AGENT, "take")
def agent_take(peer: Peer, data: dict):
    conversation = service.take(g.member, _int(data.get("conversation_id")))
    names = service.agent_names()
    _broadcast_conversation(peer, conversation, names)
    return {"conversation": conversation_json(conversation, names)}


@handler(AGENT, "transfer")
def agent_transfer(peer: Peer, data: dict):
    conversation = service.transfer(
        g.member,
        _int(data.get("conversation_id")),
        _int(data.get("agent_id")),
        _int(data.get("group_id")),
    )
    names = service.agent_names()
    _broadcast_conversation(peer, conversation, names)
    return {"conversation": conversation_json(conversation, names)}


@handler(AGENT, "close")
def agent_close(peer: Peer, data: dict):
    conversation = service.close(_int(data.get("conversation_id")))
    names = service.agent_names()
    _broadcast_conversation(peer, conversation, names)
    emit_after_commit(
        "closed",
        {"conversation_id": conversation.id, "ask_rating": True},
        visitor_room(peer.tenant_id, conversation.visitor_id),
        VISITOR,
    )
    for queued in service.drain_queue():
        _broadcast_conversation(peer, queued, names)
    return {"conversation": conversation_json(conversation, names)}


@handler(AGENT, "invite")
def agent_invite(peer: Peer, data: dict):
    name = service.agent_names().get(peer.ident) or ""
    text = data.get("text") if isinstance(data.get("text"), str) else ""
    visitor = service.invite_visitor(_int(data.get("visitor_id")), name, text)
    emit_after_commit("invite", visitor.invite, visitor_room(peer.tenant_id, visitor.id), VISITOR)
    return {"ok": True}
