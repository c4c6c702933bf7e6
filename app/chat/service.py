"""The rules of chat as the rest of Huike calls them: one name to import (``from app.chat import
service``) instead of knowing which room a rule lives in. No Flask request objects; callers
commit once.

The rooms: visitors.py (a browser's token, its pages and visits, invitations), presence.py (the
chat settings and hours, agents online), conversations.py, messages.py (every message stored
once; one function stores a visitor's), assignment.py, inbox.py (left messages), uploads.py
(attachments). They import each other directly, so what depends on what shows.
"""

from __future__ import annotations

from app.chat.assignment import drain_queue, take, transfer
from app.chat.conversations import (
    agent_conversations,
    chatting_visitor_ids,
    close,
    conversation_or_404,
    last_message,
    latest_conversation,
    mark_read,
    messages_since,
    open_conversation,
    past_conversations,
    rate,
    search_conversations,
    unanswered_since,
    waiting_chats,
)
from app.chat.inbox import check_left_message, leave_message
from app.chat.messages import (
    MAX_TEXT,
    agent_message,
    append_visitor_text,
    messages_per_quarter_hour,
    visitor_message,
)
from app.chat.models import Group, Visitor  # events.py and widget.py still reach them here
from app.chat.presence import (
    WEEKDAYS,
    agent_connected,
    agent_disconnected,
    agent_names,
    agent_state,
    agents_seen,
    agents_summary,
    chosen_status,
    forget_view,
    in_hours,
    in_sight,
    online_agents,
    queue_members,
    reachable_status,
    set_status,
    set_view,
    settings,
)
from app.chat.visitors import (
    invite_visitor,
    origin_allowed,
    read_visitor_token,
    recent_pages,
    record_page_view,
    take_invite,
    tenant_for_site_key,
    touch,
    visitor_by_key,
    visitor_token,
    visitors_on_site,
)

__all__ = [
    "MAX_TEXT",
    "WEEKDAYS",
    "Group",
    "Visitor",
    "agent_connected",
    "agent_conversations",
    "agent_disconnected",
    "agent_message",
    "agent_names",
    "agent_state",
    "agents_seen",
    "agents_summary",
    "append_visitor_text",
    "chatting_visitor_ids",
    "check_left_message",
    "chosen_status",
    "close",
    "conversation_or_404",
    "drain_queue",
    "forget_view",
    "in_hours",
    "in_sight",
    "invite_visitor",
    "last_message",
    "latest_conversation",
    "leave_message",
    "mark_read",
    "messages_per_quarter_hour",
    "messages_since",
    "online_agents",
    "queue_members",
    "open_conversation",
    "origin_allowed",
    "past_conversations",
    "rate",
    "reachable_status",
    "read_visitor_token",
    "recent_pages",
    "record_page_view",
    "search_conversations",
    "set_status",
    "set_view",
    "settings",
    "take",
    "take_invite",
    "tenant_for_site_key",
    "touch",
    "transfer",
    "unanswered_since",
    "visitor_by_key",
    "visitor_message",
    "visitor_token",
    "visitors_on_site",
    "waiting_chats",
]
