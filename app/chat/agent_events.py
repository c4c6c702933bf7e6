"""The agents' Socket.IO events (``/agent``): connect and presence, open, send, typing, read,
take, transfer, close and invite. The chat publishes what happened (``app.chat.signals``)."""

from __future__ import annotations

from flask import current_app, g, request
from flask_login import current_user
from flask_socketio import join_room

from app.chat import invitations, service, signals
from app.chat.payloads import conversation_json, message_json, visitor_json, visitor_view
from app.chat.peers import (
    AGENT,
    PEERS,
    VISITOR,
    Peer,
    agents_room,
    conversation_room,
    emit_after_commit,
    member_room,
    visitor_room,
)
from app.chat.sockets import (
    admit,
    as_int,
    handler,
    refuse,
    same_origin,
    start_heartbeat,
)
from app.extensions import socketio
from tenants.db import bind_tenant, scoped_get, utcnow
from tenants.models import Membership
from tenants.work import unit_of_work


@socketio.on("connect", namespace=AGENT)
@unit_of_work()
def agent_connect(auth=None):
    if not same_origin():  # no cross-site socket hijacking with the agent's cookie
        refuse("origin_not_allowed")
    if not current_user.is_authenticated:
        refuse("unauthorized")
    if current_user.tenant.status != "active":
        refuse("suspended")
    member = current_user.membership
    tid = member.tenant_id
    user = current_user.user
    admit(
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
    start_heartbeat()
    join_room(agents_room(tid))
    join_room(member_room(tid, member.id))
    state = service.agent_connected(member.id)
    if isinstance(auth, dict) and "visible" in auth:  # before the queue is handed out below
        service.set_view(request.sid, member.id, auth["visible"] is True)
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
    service.forget_view(request.sid)
    state = service.agent_disconnected(peer.ident)
    _announce_agent(peer.ident, state.status, state.connections)


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


@handler(AGENT, "view")
def agent_view(peer: Peer, data: dict):
    """The tab is in sight, or hidden (phone notifications skip an agent looking)."""
    service.set_view(peer.sid, peer.ident, data.get("visible") is True)
    return {"ok": True}


@handler(AGENT, "open")
def agent_open(peer: Peer, data: dict):
    conversation = service.conversation_or_404(as_int(data.get("conversation_id")))
    join_room(conversation_room(peer.tenant_id, conversation.id), sid=peer.sid, namespace=AGENT)
    names = service.agent_names()
    visitor = conversation.visitor
    return {
        "conversation": conversation_json(conversation, names),
        "visitor": visitor_json(visitor, True, service.recent_pages(visitor.id)),
        "messages": [
            message_json(m, names)
            for m in service.messages_since(
                conversation, as_int(data.get("since")) or 0, notes=True
            )
        ],
        "history": [conversation_json(c, names) for c in service.past_conversations(visitor)],
    }


@handler(AGENT, "send")
def agent_send(peer: Peer, data: dict):
    member = g.member
    was_queued = service.conversation_or_404(as_int(data.get("conversation_id"))).status
    message, conversation, stored = service.agent_message(
        member,
        as_int(data.get("conversation_id")),
        data.get("client_id"),
        data.get("text"),
        attachment_id=as_int(data.get("attachment_id")),
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
        visitor_view(summary),
        visitor_room(peer.tenant_id, conversation.visitor_id),
        VISITOR,
    )


@handler(AGENT, "typing")
def agent_typing(peer: Peer, data: dict):
    conversation = service.conversation_or_404(as_int(data.get("conversation_id")))
    emit_after_commit(
        "typing",
        {"typing": bool(data.get("typing")), "agent_name": service.agent_names().get(peer.ident)},
        visitor_room(peer.tenant_id, conversation.visitor_id),
        VISITOR,
    )


@handler(AGENT, "read")
def agent_read(peer: Peer, data: dict):
    conversation = service.conversation_or_404(as_int(data.get("conversation_id")))
    if service.mark_read(conversation, "agent", as_int(data.get("seq")) or 0):
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
    conversation = service.take(g.member, as_int(data.get("conversation_id")))
    names = service.agent_names()
    _broadcast_conversation(peer, conversation, names)
    return {"conversation": conversation_json(conversation, names)}


@handler(AGENT, "transfer")
def agent_transfer(peer: Peer, data: dict):
    conversation = service.transfer(
        g.member,
        as_int(data.get("conversation_id")),
        as_int(data.get("agent_id")),
        as_int(data.get("group_id")),
    )
    names = service.agent_names()
    _broadcast_conversation(peer, conversation, names)
    return {"conversation": conversation_json(conversation, names)}


@handler(AGENT, "close")
def agent_close(peer: Peer, data: dict):
    conversation = service.close(as_int(data.get("conversation_id")))
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
    visitor = service.invite_visitor(as_int(data.get("visitor_id")), name, text)
    emit_after_commit("invite", visitor.invite, visitor_room(peer.tenant_id, visitor.id), VISITOR)
    invitations.notify(peer.tenant_id, visitor.key)  # the loader's waiting ping, no socket yet
    return {"ok": True}
