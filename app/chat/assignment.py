"""Who answers a chat: round-robin among the group's online agents under their limit, the
queue when none has room, and taking or transferring a chat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.chat import signals
from app.chat.conversations import conversation_or_404
from app.chat.models import Conversation, Group
from app.chat.presence import agent_state, live_load, online_agents, settings
from tenants.db import db, scoped_get, utcnow
from tenants.errors import ServiceError
from tenants.models import Membership


def assign(conversation: Conversation, now: datetime | None = None) -> int | None:
    """Round-robin among the group's online agents under their limit of live chats (a chat
    whose visitor left a while ago does not count); else queue."""
    limit = settings().max_chats_per_agent
    candidates = [
        s for s in online_agents(conversation.group_id) if live_load(s.membership_id, now) < limit
    ]
    if not candidates:
        conversation.status = "queued"
        return None
    epoch = datetime.min.replace(tzinfo=(now or utcnow()).tzinfo)
    chosen = min(candidates, key=lambda s: (s.last_assigned_at or epoch, s.membership_id))
    assign_to(conversation, chosen.membership_id, now)
    return chosen.membership_id


def assign_to(conversation: Conversation, membership_id: int, now: datetime | None) -> None:
    conversation.assignee_id = membership_id
    conversation.status = "open"
    agent_state(membership_id).last_assigned_at = now or utcnow()
    signals.conversation_assigned.send(conversation)


def drain_queue(now: datetime | None = None) -> list[Conversation]:
    """Hand queued chats, oldest first, to agents who have room now."""
    assigned = []
    queued = db.scalars(
        select(Conversation).where(Conversation.status == "queued").order_by(Conversation.id)
    )
    for conversation in list(queued):
        if assign(conversation, now) is None:
            break
        assigned.append(conversation)
    return assigned


def take(member: Membership, conversation_id: int) -> Conversation:
    conversation = conversation_or_404(conversation_id)
    if conversation.status == "closed":
        raise ServiceError("closed")
    assign_to(conversation, member.id, None)
    return conversation


def transfer(
    member: Membership, conversation_id: int, agent_id: int | None, group_id: int | None
) -> Conversation:
    conversation = conversation_or_404(conversation_id)
    if conversation.status == "closed":
        raise ServiceError("closed")
    if agent_id is not None:
        target = scoped_get(Membership, agent_id)
        if target is None or target.status != "active":
            raise ServiceError("not_found", field="agent_id")
        assign_to(conversation, target.id, None)
        return conversation
    if group_id is not None:
        if scoped_get(Group, group_id) is None:
            raise ServiceError("not_found", field="group_id")
        conversation.group_id = group_id
        conversation.assignee_id = None
        assign(conversation)
        return conversation
    raise ServiceError("bad_request", field="agent_id")
