"""Conversations: finding them, their messages and read marks, closing and rating them, and
the lists the console shows."""

from __future__ import annotations

import fnmatch
from datetime import datetime

from sqlalchemy import func, or_, select

from app.chat import signals
from app.chat.models import Conversation, Group, Message, Visitor
from app.chat.visitors import clip
from tenants.db import db, scoped_get, utcnow
from tenants.errors import ServiceError
from tenants.models import Membership


def open_conversation(visitor: Visitor) -> Conversation | None:
    return db.scalar(
        select(Conversation)
        .where(Conversation.visitor_id == visitor.id, Conversation.status != "closed")
        .order_by(Conversation.id.desc())
    )


def latest_conversation(visitor: Visitor) -> Conversation | None:
    return db.scalar(
        select(Conversation)
        .where(Conversation.visitor_id == visitor.id)
        .order_by(Conversation.id.desc())
    )


def group_for_page(url: str, chosen: int | None) -> int | None:
    groups = list(db.scalars(select(Group).order_by(Group.position, Group.id)))
    if chosen is not None:
        if any(g.id == chosen for g in groups):
            return chosen
        raise ServiceError("not_found", field="group_id")
    for group in groups:
        if group.url_pattern and fnmatch.fnmatch(url or "", group.url_pattern):
            return group.id
    return None


def conversation_or_404(conversation_id) -> Conversation:
    conversation = scoped_get(Conversation, conversation_id) if conversation_id else None
    if conversation is None:
        raise ServiceError("not_found", field="conversation_id")
    return conversation


def messages_since(conversation: Conversation, since: int = 0, notes: bool = False):
    query = select(Message).where(
        Message.conversation_id == conversation.id, Message.seq > max(0, int(since or 0))
    )
    if not notes:
        query = query.where(Message.sender != "note")
    return list(db.scalars(query.order_by(Message.seq)))


def last_message(conversation: Conversation) -> Message | None:
    """The conversation's newest message the visitor can see (notes skipped): what is waiting
    for an answer when it is the visitor's (the robot's suggestions are for that one)."""
    return db.scalar(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.sender != "note")
        .order_by(Message.seq.desc())
        .limit(1)
    )


def mark_read(conversation: Conversation, who: str, seq: int) -> bool:
    seq = min(max(0, int(seq)), conversation.last_seq)
    field = "visitor_read_seq" if who == "visitor" else "agent_read_seq"
    if seq <= getattr(conversation, field):
        return False
    setattr(conversation, field, seq)
    return True


def close(conversation_id: int, now: datetime | None = None) -> Conversation:
    conversation = conversation_or_404(conversation_id)
    if conversation.status != "closed":
        conversation.status = "closed"
        conversation.closed_at = now or utcnow()
        signals.conversation_closed.send(conversation)
    return conversation


def rate(visitor: Visitor, conversation_id, score, comment: str = "") -> Conversation:
    conversation = conversation_or_404(conversation_id)
    if conversation.visitor_id != visitor.id:
        raise ServiceError("not_found")
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise ServiceError("bad_score", field="score")
    conversation.rating = score
    conversation.rating_comment = clip(comment if isinstance(comment, str) else "", 1000)
    signals.conversation_rated.send(conversation)
    return conversation


def unanswered_since(conversation_id: int, before_seq: int) -> datetime | None:
    """When the visitor's oldest message still unanswered before message ``before_seq`` was
    written: the first of theirs after the last answer (an agent's or the robot's). None when
    the visitor was waiting for nothing. For response times; one query on the seq index."""
    last_answer = (
        select(func.coalesce(func.max(Message.seq), 0))
        .where(
            Message.conversation_id == conversation_id,
            Message.seq < before_seq,
            Message.sender.in_(("agent", "robot")),
        )
        .scalar_subquery()
    )
    return db.scalar(
        select(func.min(Message.created_at)).where(
            Message.conversation_id == conversation_id,
            Message.seq < before_seq,
            Message.seq > last_answer,
            Message.sender == "visitor",
        )
    )


def agent_conversations(member: Membership) -> list[Conversation]:
    """What the console shows: the queue and every open chat (small shops see them all)."""
    return list(
        db.scalars(
            select(Conversation)
            .where(Conversation.status != "closed")
            .order_by(Conversation.last_message_at.desc())
        )
    )


def waiting_chats(limit: int = 20) -> tuple[list[Conversation], list[Conversation]]:
    """For the console home, longest waiting first: chats in the queue, and open chats whose
    last word is the visitor's."""
    waiting = select(Conversation).order_by(Conversation.last_message_at).limit(limit)
    queued = db.scalars(waiting.where(Conversation.status == "queued"))
    unanswered = db.scalars(
        waiting.where(Conversation.status == "open", Conversation.last_sender == "visitor")
    )
    return list(queued), list(unanswered)


def search_conversations(query: str, limit: int = 50) -> list[Conversation]:
    query = clip(query, 100)
    statement = select(Conversation).order_by(Conversation.last_message_at.desc()).limit(limit)
    if query:
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        matching = select(Message.conversation_id).where(
            Message.body.ilike(like, escape="\\"), Message.sender != "system"
        )
        statement = statement.join(Visitor, Conversation.visitor_id == Visitor.id).where(
            or_(
                Conversation.id.in_(matching),
                Visitor.name.ilike(like, escape="\\"),
                Visitor.email.ilike(like, escape="\\"),
                Visitor.phone.ilike(like, escape="\\"),
            )
        )
    return list(db.scalars(statement))


def chatting_visitor_ids() -> set[int]:
    return set(db.scalars(select(Conversation.visitor_id).where(Conversation.status != "closed")))


def past_conversations(visitor: Visitor, limit: int = 20) -> list[Conversation]:
    return list(
        db.scalars(
            select(Conversation)
            .where(Conversation.visitor_id == visitor.id)
            .order_by(Conversation.id.desc())
            .limit(limit)
        )
    )
