"""How conversations ended, for the paid modules' figures (the robot's "resolved alone"):
they ask through here instead of reading the chat's tables."""

from __future__ import annotations

from sqlalchemy import Select, exists, func, select

from app.chat.models import Conversation, Message
from tenants.db import db


def closed_without_agent(conversation_ids: Select, sender: str) -> int:
    """How many of the conversations ``conversation_ids`` selects are closed, hold a message
    of ``sender`` (e.g. "robot") and none from an agent."""
    spoke = exists().where(Message.conversation_id == Conversation.id, Message.sender == sender)
    agent_spoke = exists().where(
        Message.conversation_id == Conversation.id, Message.sender == "agent"
    )
    return db.scalar(
        select(func.count()).where(
            Conversation.id.in_(conversation_ids),
            Conversation.status == "closed",
            spoke,
            ~agent_spoke,
        )
    )
