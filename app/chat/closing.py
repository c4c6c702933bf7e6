"""Idle chats close themselves, and only live chats count against an agent's limit.

What *live* means is ``presence.live_load``'s: open, and its visitor still there or a message
within ten minutes.

A chat (open or queued) whose visitor left and in which nobody wrote for the shop's
``auto_close_minutes`` (ChatSettings; 0: never) is closed by the clock through the one close
path (``conversations.close``, so ``conversation_closed`` fires), with a system message the
visitor sees if they come back, and the agents' consoles told at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app.chat.assignment import drain_queue
from app.chat.conversations import close
from app.chat.messages import system_message
from app.chat.models import Conversation, Visitor
from app.chat.payloads import conversation_json, message_json, visitor_view
from app.chat.peers import AGENT, VISITOR, agents_room, emit_after_commit, visitor_room
from app.chat.presence import agent_names, settings
from tenants.clock import periodic
from tenants.db import cross_tenant, current_tenant_id, db, utcnow
from tenants.jobs import enqueue, job
from tenants.models import Tenant


def close_idle(now: datetime | None = None) -> list[Conversation]:
    """Close the bound shop's chats idle past its setting; returns the ones closed."""
    minutes = settings().auto_close_minutes
    if not minutes:
        return []
    now = now or utcnow()
    quiet_since = now - timedelta(minutes=minutes)
    idle = db.scalars(
        select(Conversation)
        .join(Visitor, Conversation.visitor_id == Visitor.id)
        .where(
            Conversation.status != "closed",
            Conversation.last_message_at <= quiet_since,
            Visitor.last_seen_at <= quiet_since,
        )
        .order_by(Conversation.id)
    ).all()
    if not idle:
        return []
    shop_locale = db.scalar(select(Tenant.locale).where(Tenant.id == current_tenant_id()))
    names = agent_names()
    for conversation in idle:
        lang = conversation.visitor.lang or shop_locale
        with force_locale("zh_CN" if lang.lower().startswith("zh") else "en"):
            text = _(
                "This chat was closed after %(minutes)d minutes without messages. "
                "Write again any time.",
                minutes=minutes,
            )
        note = system_message(conversation, text)
        close(conversation.id, now)
        _tell(conversation, message_json(note, names), names)
    for queued in drain_queue(now):
        _tell(queued, None, names)
    return idle


def _tell(conversation: Conversation, note: dict | None, names: dict[int, str]) -> None:
    """The agents' consoles and the visitor's tabs, once the unit commits."""
    tenant_id, visitor_id = conversation.tenant_id, conversation.visitor_id
    summary = conversation_json(conversation, names)
    if note is not None:
        emit_after_commit("message", note, agents_room(tenant_id), AGENT)
        emit_after_commit("message", note, visitor_room(tenant_id, visitor_id), VISITOR)
    emit_after_commit("conversation", summary, agents_room(tenant_id), AGENT)
    emit_after_commit(
        "conversation", visitor_view(summary), visitor_room(tenant_id, visitor_id), VISITOR
    )
    if conversation.status == "closed":
        emit_after_commit(
            "closed",
            {"conversation_id": conversation.id, "ask_rating": False},
            visitor_room(tenant_id, visitor_id),
            VISITOR,
        )


@periodic("chat.close_idle", every="CHAT_IDLE_CHECK_SECONDS")
def close_idle_everywhere() -> None:
    """Each shop with a chat quiet for a minute or more gets its own job (its own setting,
    its own unit of work)."""
    quiet = utcnow() - timedelta(minutes=1)
    with cross_tenant():
        shops = db.scalars(
            select(Conversation.tenant_id)
            .where(Conversation.status != "closed", Conversation.last_message_at <= quiet)
            .distinct()
        ).all()
    for tenant_id in shops:
        enqueue("chat.close_idle_shop", tenant_id)


@job("chat.close_idle_shop")
def close_idle_shop() -> None:
    close_idle()
