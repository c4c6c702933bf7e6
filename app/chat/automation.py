"""What an automated responder (responders.py) may do in a conversation, as small public
functions: post its message with quick replies, take a visitor's click on one (once), hand
the conversation over to people, and ask whether anyone could answer now. Each writes in the
caller's unit of work and tells the consoles and the visitor's tabs after it commits."""

from __future__ import annotations

from sqlalchemy import select

from app.chat import signals
from app.chat.assignment import assign
from app.chat.messages import automated_message
from app.chat.models import Conversation, Message
from app.chat.payloads import conversation_json, message_json, visitor_view
from app.chat.peers import AGENT, VISITOR, agents_room, emit_after_commit, visitor_room
from app.chat.presence import agent_names, in_hours, online_agents, settings
from app.chat.responders import HELD, RESPONDERS
from tenants.db import bind_tenant, current_tenant_id, db, scoped_get
from tenants.errors import ServiceError
from tenants.models import Tenant


def respond(tenant_id: int, conversation_id: int, message) -> None:
    """A visitor's message was stored in a held conversation: the responders answer it."""
    if current_tenant_id() != tenant_id:  # the fast path binds none
        bind_tenant(tenant_id)
    conversation = scoped_get(Conversation, conversation_id)
    if conversation is None or conversation.status != HELD:
        return
    for responder in RESPONDERS:
        responder.answer(conversation, message)


def post(conversation: Conversation, text: str, options: dict | None = None) -> Message:
    """The responder's message (``sender="robot"``), to the consoles and the visitor."""
    message = automated_message(conversation, text, options)
    signals.message_created.send(
        message, visitor_id=conversation.visitor_id, tenant_id=conversation.tenant_id
    )
    payload = message_json(message, {})
    emit_after_commit("message", payload, agents_room(conversation.tenant_id), AGENT)
    room = visitor_room(conversation.tenant_id, conversation.visitor_id)
    emit_after_commit("message", payload, room, VISITOR)
    return message


def held_by(visitor_id: int) -> Conversation:
    """The visitor's open conversation while a responder holds it; else not_found."""
    conversation = db.scalar(
        select(Conversation).where(
            Conversation.visitor_id == visitor_id, Conversation.status == HELD
        )
    )
    if conversation is None:
        raise ServiceError("not_found", field="conversation_id")
    return conversation


def choose(visitor_id: int, message_id, item_id) -> Message:
    """The visitor clicked a quick reply of a message in their own conversation: taken once (a
    second click answers option_taken). Another visitor's message answers not_found, like a
    missing one."""
    # locked: two clicks racing on one button, the second waits and finds it taken
    message = (
        db.scalar(select(Message).where(Message.id == message_id).with_for_update(of=Message))
        if isinstance(message_id, int)
        else None
    )
    owner = message and db.scalar(
        select(Conversation.visitor_id).where(Conversation.id == message.conversation_id)
    )
    if message is None or owner != visitor_id or not message.options:
        raise ServiceError("not_found", field="message_id")
    options = message.options
    if str(item_id) not in {str(item.get("id")) for item in options.get("items", [])}:
        raise ServiceError("not_found", field="option")
    if options.get("chosen") is not None:
        raise ServiceError("option_taken", field="option")
    message.options = {**options, "chosen": str(item_id)}  # a new dict: JSON is not tracked
    emit_after_commit(
        "options",
        {"message_id": message.id, "options": message.options},
        visitor_room(message.tenant_id, visitor_id),
        VISITOR,
    )
    return message


def hand_over(conversation: Conversation) -> None:
    """Give a held conversation to people as any new chat is (an agent, or the queue); the
    responders are silent in it from now on."""
    if conversation.status != HELD:
        return
    assign(conversation)
    signals.conversation_handed_over.send(conversation)
    summary = conversation_json(conversation, agent_names())
    emit_after_commit("conversation", summary, agents_room(conversation.tenant_id), AGENT)
    emit_after_commit(
        "conversation",
        visitor_view(summary),
        visitor_room(conversation.tenant_id, conversation.visitor_id),
        VISITOR,
    )


def someone_can_answer(group_id: int | None = None) -> bool:
    """In the shop's hours with an agent online (in the group): what the widget shows too."""
    timezone = db.scalar(select(Tenant.timezone).where(Tenant.id == current_tenant_id()))
    return in_hours(settings(), timezone) and bool(online_agents(group_id))
