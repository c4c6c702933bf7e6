"""What the chat's events tell agents' devices. A listener only queues a job (the visitor's
message is on the hot path: no query there); the job reads the conversation as it is by then
and picks who hears of it (``service.send`` skips who already sees it)."""

from __future__ import annotations

from dataclasses import replace

from flask_babel import gettext as _

from app.chat import service as chat
from app.chat import signals
from app.chat.payloads import visitor_label
from app.push.service import Notice, page_path, send
from tenants.errors import ServiceError
from tenants.jobs import enqueue, job

PREVIEW_CHARS = 200  # the job is handed the message's start, not the message


@signals.conversation_opened.connect
def _opened(conversation, **_) -> None:
    enqueue("push.chat_waiting", conversation.tenant_id, conversation.id)


@signals.conversation_assigned.connect
def _assigned(conversation, **_) -> None:
    enqueue("push.chat_assigned", conversation.tenant_id, conversation.id, conversation.assignee_id)


@signals.message_created.connect
def _message(message, tenant_id: int, **_) -> None:
    # the first message opens the chat: its notice is the new chat's
    if message.sender == "visitor" and message.seq > 1:
        preview = message.body[:PREVIEW_CHARS] if message.body.strip() else ""
        enqueue("push.message", tenant_id, message.conversation_id, message.seq, preview)


@signals.left_message_created.connect
def _left_message(left, **_) -> None:
    enqueue("push.left_message", left.tenant_id, left.id, left.name, left.body[:PREVIEW_CHARS])


@job("push.chat_waiting", max_retries=3)
def chat_waiting(conversation_id: int) -> None:
    """A new chat nobody could take: everyone its queue waits for."""
    conversation = _conversation(conversation_id)
    if conversation is not None and conversation.status == "queued":
        send(_new_chat(conversation), chat.queue_members(conversation.group_id))


@job("push.chat_assigned", max_retries=3)
def chat_assigned(conversation_id: int, assignee_id: int) -> None:
    conversation = _conversation(conversation_id)
    if conversation is None or conversation.status != "open":
        return
    if conversation.assignee_id == assignee_id:  # not handed on since
        send(_new_chat(conversation), [assignee_id])


@job("push.message", max_retries=3)
def message(conversation_id: int, seq: int, preview: str) -> None:
    """A visitor's message in an agent's chat, to that agent."""
    conversation = _conversation(conversation_id)
    if conversation is None or conversation.status != "open" or conversation.assignee_id is None:
        return
    name = _visitor_name(conversation)

    def words():
        return name(), _message_text(preview)

    notice = Notice("message", f"c-{conversation.id}", _chat_url(conversation.id), words)
    send(replace(notice, conversation_id=conversation.id, seq=seq), [conversation.assignee_id])


@job("push.left_message", max_retries=3)
def left_message(left_message_id: int, name: str, preview: str) -> None:
    url = page_path("chat.inbox", status="all") + f"#m{left_message_id}"

    def words():
        return _("Left message from %(name)s", name=name), _message_text(preview)

    send(Notice("left_message", "left", url, words), chat.queue_members(None))


def _new_chat(conversation) -> Notice:
    name = _visitor_name(conversation)
    preview = conversation.last_text if conversation.last_sender == "visitor" else ""

    def words():
        return _("New chat from %(name)s", name=name()), _message_text(preview)

    topic, url = f"c-{conversation.id}", _chat_url(conversation.id)
    return Notice("chat", topic, url, words, conversation.id)


def _message_text(preview: str) -> str:
    if not chat.settings().push_message_text:
        return _("Open Huike to read it.")
    return preview or _("Sent a file.")


def _visitor_name(conversation):
    visitor = conversation.visitor
    return lambda: visitor.name or _("Visitor %(label)s", label=visitor_label(visitor))


def _conversation(conversation_id: int):
    try:
        return chat.conversation_or_404(conversation_id)
    except ServiceError:  # gone with its visitor since
        return None


def _chat_url(conversation_id: int) -> str:
    return page_path("chat.conversations") + f"#c{conversation_id}"
