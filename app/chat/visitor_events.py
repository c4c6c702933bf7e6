"""The visitor's Socket.IO events (``/visitor``): connect, messages, history, drafts, read and
rating. The chat publishes what happened (``app.chat.signals``); paid modules listen."""

from __future__ import annotations

from flask import current_app, request
from flask_socketio import join_room

from app.chat import automation, flood, service, signals
from app.chat.payloads import conversation_json, message_json, visitor_json, visitor_view
from app.chat.peers import (
    AGENT,
    PEERS,
    VISITOR,
    Peer,
    agents_room,
    emit_after_commit,
    visitor_room,
)
from app.chat.responders import HELD
from app.chat.sockets import admit, as_int, handler, refuse
from app.edges import check_input
from app.extensions import socketio
from tenants.db import after_commit, bind_tenant, scoped_get
from tenants.errors import ServiceError
from tenants.work import unit_of_work


@socketio.on("connect", namespace=VISITOR)
@unit_of_work()
def visitor_connect(auth=None):
    auth = auth if isinstance(auth, dict) else {}
    lang = "zh_CN" if str(auth.get("lang", "")).startswith("zh") else "en"
    if not flood.allow("connect", request.remote_addr or "?"):
        refuse("rate_limited", lang)
    try:
        check_input(auth)
    except ServiceError:
        refuse("unauthorized", lang)
    tenant = service.tenant_for_site_key(str(auth.get("k", "")))
    parsed = service.read_visitor_token(current_app.config["SECRET_KEY"], str(auth.get("t", "")))
    if tenant is None or parsed is None or parsed[0] != tenant.id or tenant.status != "active":
        refuse("unauthorized", lang)
    bind_tenant(tenant.id)
    if not service.origin_allowed(
        request.headers.get("Origin"), service.settings().allowed_domains
    ):
        refuse("origin_not_allowed", lang)
    visitor = service.visitor_by_key(parsed[1])
    if visitor is None:
        refuse("unauthorized", lang)
    peer = Peer(tenant.id, "visitor", visitor.id, auth["t"], lang, tenant.country, sid=request.sid)
    join_room(visitor_room(tenant.id, visitor.id))
    service.touch(visitor)
    conversation = service.open_conversation(visitor)
    peer.conversation_id = conversation.id if conversation is not None else None
    after_commit(lambda: admit(peer))
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
    signals.message_created.send(
        message, visitor_id=peer.ident, tenant_id=peer.tenant_id, country=peer.country
    )
    if message.held:
        automation.respond(peer.tenant_id, message.conversation_id, message)
    return {"message": payload}


@handler(VISITOR, "message", fast=_visitor_text)
def visitor_message(peer: Peer, data: dict):
    visitor = _visitor(peer)
    message, conversation, stored, started = service.visitor_message(
        visitor,
        data.get("client_id"),
        data.get("text"),
        attachment_id=as_int(data.get("attachment_id")),
        group_id=as_int(data.get("group_id")),
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
        signals.message_created.send(
            message, visitor_id=peer.ident, tenant_id=peer.tenant_id, country=peer.country
        )
        if started:
            summary = conversation_json(conversation, names)
            emit_after_commit("conversation", summary, agents_room(peer.tenant_id), AGENT)
            emit_after_commit(
                "conversation",
                visitor_view(summary),
                visitor_room(peer.tenant_id, peer.ident),
                VISITOR,
            )
        if conversation.status == HELD:
            automation.respond(peer.tenant_id, conversation.id, message)
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


@handler(VISITOR, "history")
def visitor_history(peer: Peer, data: dict):
    visitor = _visitor(peer)
    conversation = service.latest_conversation(visitor)
    if conversation is None:
        return {"conversation": None, "messages": []}
    names = service.agent_names()
    messages = service.messages_since(conversation, as_int(data.get("since")) or 0)
    return {
        "conversation": visitor_view(conversation_json(conversation, names)),
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
    seq = as_int(data.get("seq")) or 0
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
        as_int(data.get("conversation_id")),
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
