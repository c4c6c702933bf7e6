"""The JSON shapes of docs/realtime.md, built in one place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from app.chat.models import Attachment, Conversation, Message, PageView, Visitor
from app.chat.presence import display_name
from tenants.models import Membership

# What else makes a visitor "returning" beyond a second visit, each a check a module adds
# (the CRM: a customer the shop knew before this visit). The chat knows none of them.
returning_checks: list[Callable[[Visitor], bool]] = []


def is_returning(visitor: Visitor) -> bool:
    return (visitor.visit_count or 0) > 1 or any(check(visitor) for check in returning_checks)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def attachment_json(attachment: Attachment | None, token: str | None = None) -> dict | None:
    if attachment is None:
        return None
    url = f"/w/files/{attachment.id}" + (f"?t={token}" if token else "")
    return {
        "id": attachment.id,
        "name": attachment.name,
        "type": attachment.content_type,
        "size": attachment.size,
        "url": url,
    }


def message_json(message: Message, agent_names: dict[int, str], token: str | None = None) -> dict:
    """``token``: the visitor's, so the visitor's copy links files they may fetch."""
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "client_id": message.client_id,
        "sender": message.sender,
        "agent_name": agent_names.get(message.agent_id) if message.agent_id else None,
        "kind": message.kind,
        "text": message.body,
        "attachment": attachment_json(message.attachment, token),
        "options": message.options,
        "created_at": _iso(message.created_at),
    }


def member_name(member: Membership | None) -> str | None:
    if member is None:
        return None
    return display_name(member)


def conversation_json(conversation: Conversation, agent_names: dict[int, str]) -> dict:
    return {
        "id": conversation.id,
        "visitor_id": conversation.visitor_id,
        "visitor_name": visitor_label(conversation.visitor),
        "visitor_returning": is_returning(conversation.visitor),
        "status": conversation.status,
        "assignee_id": conversation.assignee_id,
        "agent_name": agent_names.get(conversation.assignee_id),
        "group_id": conversation.group_id,
        "last_seq": conversation.last_seq,
        "last_message": {"sender": conversation.last_sender, "text": conversation.last_text},
        "agent_read_seq": conversation.agent_read_seq,
        "visitor_read_seq": conversation.visitor_read_seq,
        "page_url": conversation.page_url,
        "rating": conversation.rating,
        "rating_comment": conversation.rating_comment,
        "created_at": _iso(conversation.created_at),
        "last_message_at": _iso(conversation.last_message_at),
        "closed_at": _iso(conversation.closed_at),
    }


def visitor_label(visitor: Visitor) -> str:
    return visitor.name or f"#{visitor.id}"


def visitor_json(visitor: Visitor, chatting: bool = False, pages: list[PageView] = ()) -> dict:
    return {
        "id": visitor.id,
        "name": visitor_label(visitor),
        "email": visitor.email,
        "phone": visitor.phone,
        "current_url": visitor.current_url,
        "current_title": visitor.current_title,
        "referrer": visitor.referrer,
        "source": visitor.source,
        "keyword": visitor.keyword,
        "utm": visitor.utm,
        "visit_count": visitor.visit_count,
        "page_count": visitor.page_count,
        "visit_started_at": _iso(visitor.visit_started_at),
        "last_seen_at": _iso(visitor.last_seen_at),
        "first_seen_at": _iso(visitor.first_seen_at),
        "lang": visitor.lang,
        "user_agent": visitor.user_agent,
        "chatting": chatting,
        # the CRM customer this visitor is (its name is the visitor's name once known)
        "customer_id": visitor.customer_id,
        "returning": is_returning(visitor),
        "pages": [{"url": p.url, "title": p.title, "at": _iso(p.viewed_at)} for p in pages],
    }


def visitor_view(summary: dict) -> dict:
    """What a visitor's widget is told of their conversation (``conversation_json``)."""
    return {k: summary[k] for k in ("id", "status", "agent_name")}
