"""What the CRM does when the chat's things happen: recognise returning customers (熟客识别)
and keep their timelines. They run for every shop, so what a trial collects is there after an
upgrade (only the console's pages are gated)."""

from __future__ import annotations

from app.chat import payloads
from app.chat import signals as chat
from app.chat.widget import announce_visitor
from app.crm import recognition
from tenants.db import bind_tenant

payloads.returning_checks.append(recognition.known_before)


@chat.page_viewed.connect
def _on_page_viewed(visitor, **_) -> None:
    recognition.page_viewed(visitor)


@chat.conversation_opened.connect
def _on_conversation_opened(conversation, **_) -> None:
    recognition.conversation_started(conversation)


@chat.message_created.connect
def _on_message_created(message, visitor_id: int, tenant_id: int, country="CN", **_) -> None:
    """A phone or e-mail in a visitor's message names the customer. Most messages hold
    neither and end before any query (a pattern, then the phone matcher): the hot path."""
    if message.sender != "visitor":
        return
    contacts = recognition.contacts_in(message.body, country)
    if contacts is None:
        return
    bind_tenant(tenant_id)
    visitor = recognition.chat_contacts(visitor_id, *contacts)
    if visitor is not None:
        announce_visitor(visitor)


@chat.left_message_created.connect
def _on_left_message(left, visitor, **_) -> None:
    recognition.left_message(visitor, left)
