"""Messages: a visitor's, an agent's, an internal note and the system's, each stored once
under its client id with the conversation's next seq."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Engine, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from app.chat.assignment import assign, assign_to
from app.chat.conversations import conversation_or_404, group_for_page, open_conversation
from app.chat.models import Attachment, Conversation, Message, Visitor
from app.chat.presence import insert_or_nothing
from app.chat.responders import HELD, hold
from app.chat.uploads import attachment_for_message, message_kind
from tenants.db import autocommit_engine, bind_tenant, current_tenant_id, db, scoped_get, utcnow
from tenants.errors import ServiceError
from tenants.models import Membership
from tenants.timezones import quarter_hour

MAX_TEXT = 5000
MAX_CLIENT_ID = 64


def _check_client_id(client_id: str) -> str:
    if not isinstance(client_id, str) or not client_id or len(client_id) > MAX_CLIENT_ID:
        raise ServiceError("bad_client_id", field="client_id")
    return client_id


def _check_body(text: str | None, attachment: Attachment | None) -> str:
    text = (text or "").strip() if isinstance(text, str | None) else None
    if text is None:
        raise ServiceError("bad_request", field="text")
    if len(text) > MAX_TEXT:
        raise ServiceError("too_long", field="text", max=MAX_TEXT)
    if not text and attachment is None:
        raise ServiceError("empty", field="text")
    return text


def _summary(text: str, attachment: Attachment | None) -> str:
    """What the console's list shows of a conversation's last message."""
    return (text or (attachment.name if attachment else ""))[:200]


# --- a visitor's message: one way in ------------------------------------------------------


class VisitorText(NamedTuple):
    """A stored visitor text message, with the attributes ``payloads.message_json`` reads."""

    id: int
    conversation_id: int
    seq: int
    client_id: str
    body: str
    created_at: datetime
    sender: str = "visitor"
    agent_id: int | None = None
    kind: str = "text"
    attachment: None = None
    options: None = None
    held: bool = False  # its conversation is held by an automated responder (responders.py)


_conversations, _messages = Conversation.__table__, Message.__table__
# The conversation's next seq and its last-message summary, in one statement that also says
# whether it is still open. Core, built once: its compiled form is cached, and no ORM unit of
# work runs. The tenant is in the WHERE clause itself (the ORM filter does not see Core).
_NEXT_VISITOR_SEQ = (
    update(_conversations)
    .where(
        _conversations.c.id == bindparam("conversation"),
        _conversations.c.tenant_id == bindparam("tenant"),
        _conversations.c.status != "closed",
    )
    .values(
        last_seq=_conversations.c.last_seq + 1,
        last_message_at=bindparam("at"),
        last_sender="visitor",
        last_text=bindparam("summary"),
    )
    .returning(_conversations.c.last_seq, _conversations.c.visitor_id, _conversations.c.status)
)
_INSERT_MESSAGE = {
    dialect: insert_or_nothing(_messages, dialect).returning(_messages.c.id)
    for dialect in ("postgresql", "sqlite")
}
# PostgreSQL, in one round trip: a simple query of several statements runs as one implicit
# transaction, committed before the answer comes back. The first sets the tenant for row
# security (local to that transaction); the second bumps the seq of the conversation if it is
# open and inserts the message with it, as its visitor's. A client id the visitor stored before,
# in this conversation or an older one, violates its unique constraint and undoes both (the
# caller then finds the stored copy): no seq is ever skipped.
_APPEND_IN_ONE_ROUND_TRIP = """\
SELECT set_config('app.tenant_id', %(tenant_setting)s, true),
       set_config('app.cross_tenant', 'off', true);
WITH bumped AS (
    UPDATE chat_conversations
       SET last_seq = last_seq + 1, last_message_at = %(at)s, last_sender = 'visitor',
           last_text = %(summary)s
     WHERE id = %(conversation)s AND tenant_id = %(tenant)s AND status <> 'closed'
 RETURNING last_seq, visitor_id, status
)
INSERT INTO chat_messages (tenant_id, conversation_id, seq, sender, agent_id, visitor_id,
                           client_id, kind, body, attachment_id, created_at)
SELECT %(tenant)s, %(conversation)s, last_seq, 'visitor', NULL, visitor_id, %(client_id)s,
       %(kind)s, %(body)s, %(attachment)s, %(at)s
  FROM bumped
RETURNING id, seq, (SELECT status FROM bumped)"""


def store_visitor_message(
    tenant_id: int,
    conversation_id: int,
    client_id: str,
    text: str,
    attachment: Attachment | None = None,
    now: datetime | None = None,
) -> tuple[int, int, str] | None:
    """The one way a visitor's message is stored (the socket's fast path and its long way
    both come here): the conversation's next seq and last-message summary, and the row, only
    while the conversation is open and the visitor's client id is new. Returns (id, seq, the
    conversation's status), or None with nothing written.

    On PostgreSQL, when the session has no transaction under way, that is one round trip,
    committed at once. Otherwise it runs in the session's transaction: what the session did
    before (a conversation it just opened) must be seen by it, and undone with it."""
    values = {
        "tenant": tenant_id,
        "conversation": conversation_id,
        "client_id": client_id,
        "body": text,
        "kind": message_kind(attachment),
        "attachment": attachment.id if attachment is not None else None,
        "summary": _summary(text, attachment),
        "at": now or utcnow(),
    }
    bind = db.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql" and not db().in_transaction():
        return _append_in_one_round_trip(bind, values)
    if current_tenant_id() != tenant_id:  # the fast path binds none; row security needs it
        bind_tenant(tenant_id)
    return _append_in_session(values)  # SQLite, a session at work, or the tests' outer one


def _append_in_one_round_trip(engine: Engine, values: dict) -> tuple[int, int, str] | None:
    """Straight through the pooled DBAPI connection: SQLAlchemy's statement and result
    objects would cost more than the round trip itself."""
    pool = autocommit_engine(engine)
    dbapi = pool.dialect.loaded_dbapi
    connection = pool.raw_connection()
    cursor = connection.cursor()
    try:
        cursor.execute(
            _APPEND_IN_ONE_ROUND_TRIP, {**values, "tenant_setting": str(values["tenant"])}
        )
        return cursor.fetchone()
    except dbapi.IntegrityError:  # this client id is stored already: nothing was written
        return None
    except dbapi.Error as error:
        if pool.dialect.is_disconnect(error, connection.dbapi_connection, cursor):
            connection.invalidate(error)  # not back into the pool
        raise
    finally:
        cursor.close()
        connection.close()


def _append_in_session(values: dict) -> tuple[int, int, str] | None:
    """Two statements in the session's transaction, in a savepoint: the next seq, then the row.
    A client id stored before undoes the seq it took."""
    savepoint = db.begin_nested()
    connection = db.connection()
    bumped = connection.execute(
        _NEXT_VISITOR_SEQ, {k: values[k] for k in ("conversation", "tenant", "at", "summary")}
    ).first()
    if bumped is None:
        savepoint.rollback()
        return None
    seq, visitor_id, status = bumped
    message_id = connection.execute(
        _INSERT_MESSAGE[connection.dialect.name],
        {
            "tenant_id": values["tenant"],
            "conversation_id": values["conversation"],
            "seq": seq,
            "sender": "visitor",
            "agent_id": None,
            "visitor_id": visitor_id,
            "client_id": values["client_id"],
            "kind": values["kind"],
            "body": values["body"],
            "attachment_id": values["attachment"],
            "created_at": values["at"],
        },
    ).scalar()
    if message_id is None:  # a retry
        savepoint.rollback()
        return None
    savepoint.commit()
    return message_id, seq, status


def append_visitor_text(
    tenant_id: int,
    conversation_id: int,
    client_id: str,
    text: str | None,
    now: datetime | None = None,
) -> VisitorText | None:
    """A visitor's text message to the open conversation their socket knows: the common case
    of the chat, so it skips the ORM. None when the long way (``visitor_message``) must
    decide: the conversation is closed or gone, or the client id was stored before (a retry)
    — either way nothing was written."""
    client_id = _check_client_id(client_id)
    text = _check_body(text, None)
    now = now or utcnow()
    stored = store_visitor_message(tenant_id, conversation_id, client_id, text, now=now)
    if stored is None:
        return None
    message_id, seq, status = stored
    return VisitorText(message_id, conversation_id, seq, client_id, text, now, held=status == HELD)


def visitor_message(
    visitor: Visitor,
    client_id: str,
    text: str | None,
    attachment_id: int | None = None,
    group_id: int | None = None,
    now: datetime | None = None,
) -> tuple[Message, Conversation, bool, bool]:
    """(message, conversation, stored now?, conversation new?). A retry stores nothing: it
    answers the stored copy, in whichever conversation that went to (closed since, too).

    Copies racing in on other connections (a resend, another tab) are settled by the
    database: one open conversation per visitor, one message per visitor and client id."""
    client_id = _check_client_id(client_id)
    found = _visitor_copy(visitor.id, client_id)
    if found is not None:
        return found, scoped_get(Conversation, found.conversation_id), False, False
    attachment = attachment_for_message(attachment_id, visitor)
    text = _check_body(text, attachment)
    now = now or utcnow()
    for _ in range(2):  # again if the chat was closed in between: then in a new one
        attempt = db.begin_nested()
        conversation, started = _conversation_for(visitor, group_id, now)
        db.flush()  # the conversation, before SQL that the ORM does not see
        stored = store_visitor_message(
            visitor.tenant_id, conversation.id, client_id, text, attachment, now
        )
        if stored is not None:
            attempt.commit()
            return _loaded(stored, conversation, now), conversation, True, started
        attempt.rollback()  # keep nothing of this attempt (not a conversation it opened)
        found = _visitor_copy(visitor.id, client_id)
        if found is not None:  # a copy beat this one
            return found, scoped_get(Conversation, found.conversation_id), False, False
    raise ServiceError("closed")


def _conversation_for(
    visitor: Visitor, group_id: int | None, now: datetime | None
) -> tuple[Conversation, bool]:
    """(the visitor's open conversation, opened now?). Two first messages at once both find
    none: the partial unique index lets one insert through; the other reads the winner's."""
    conversation = open_conversation(visitor)
    if conversation is not None:
        return conversation, False
    conversation = Conversation(
        visitor=visitor,
        group_id=group_for_page(visitor.current_url, group_id),
        page_url=visitor.current_url,
        created_at=now or utcnow(),
    )
    savepoint = db.begin_nested()
    try:
        db.add(conversation)
        db.flush()
        savepoint.commit()
    except IntegrityError:  # another connection opened one first (committed: it waited)
        savepoint.rollback()
        winner = open_conversation(visitor)
        if winner is None:
            raise
        return winner, False
    if not hold(conversation):
        assign(conversation, now)
    return conversation, True


def _loaded(stored: tuple[int, int, str], conversation: Conversation, now: datetime) -> Message:
    """The stored message as an ORM object; the conversation's summary as the SQL set it,
    without another query."""
    message_id, seq, _status = stored
    message = scoped_get(Message, message_id)
    set_committed_value(conversation, "last_seq", seq)
    set_committed_value(conversation, "last_message_at", now)
    set_committed_value(conversation, "last_sender", "visitor")
    set_committed_value(conversation, "last_text", _summary(message.body, message.attachment))
    return message


def _visitor_copy(visitor_id: int, client_id: str) -> Message | None:
    """The visitor's message stored under this client id, in whichever of their conversations
    (closed since, perhaps): a visitor's client id names one message for good."""
    return db.scalar(
        select(Message).where(Message.visitor_id == visitor_id, Message.client_id == client_id)
    )


# --- an agent's message, a note, the system's ---------------------------------------------


def _next_seq(conversation: Conversation) -> int:
    seq = db.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(last_seq=Conversation.last_seq + 1)
        .returning(Conversation.last_seq)
    ).scalar_one()
    conversation.last_seq = seq
    return seq


def _existing(conversation_id: int, sender: str, client_id: str) -> Message | None:
    return db.scalar(
        select(Message).where(
            Message.conversation_id == conversation_id,
            Message.sender == sender,
            Message.client_id == client_id,
        )
    )


def _store(
    conversation: Conversation,
    sender: str,
    client_id: str,
    text: str,
    attachment: Attachment | None = None,
    agent_id: int | None = None,
    now: datetime | None = None,
    options: dict | None = None,
) -> tuple[Message, bool]:
    """Store an agent's message, a note, the system's or an automated responder's (callers
    have looked for its client id already); a copy that raced in on another connection is
    found instead."""
    now = now or utcnow()
    savepoint = db.begin_nested()
    try:
        message = Message(
            conversation_id=conversation.id,
            seq=_next_seq(conversation),
            sender=sender,
            agent_id=agent_id,
            client_id=client_id,
            kind=message_kind(attachment),
            body=text,
            attachment=attachment,
            options=options,
            created_at=now,
        )
        db.add(message)
        db.flush()
        savepoint.commit()
    except IntegrityError:  # the same client id raced in on another connection
        savepoint.rollback()
        found = _existing(conversation.id, sender, client_id)
        if found is None:  # not a copy: another constraint refused the row
            raise
        return found, False
    if sender != "note":
        conversation.last_message_at = now
        conversation.last_sender = sender
        conversation.last_text = _summary(text, attachment)
    return message, True


def agent_message(
    member: Membership,
    conversation_id: int,
    client_id: str,
    text: str | None,
    attachment_id: int | None = None,
    note: bool = False,
    now: datetime | None = None,
) -> tuple[Message, Conversation, bool]:
    client_id = _check_client_id(client_id)
    conversation = conversation_or_404(conversation_id)
    sender = "note" if note else "agent"
    found = _existing(conversation.id, sender, client_id)
    if found is not None:
        return found, conversation, False
    if conversation.status == "closed" and not note:
        raise ServiceError("closed")
    attachment = attachment_for_message(attachment_id)
    text = _check_body(text, attachment)
    now = now or utcnow()
    if not note:
        if conversation.assignee_id is None:  # answering a queued chat takes it
            assign_to(conversation, member.id, now)
        if conversation.first_response_at is None:
            conversation.first_response_at = now
    message, stored = _store(conversation, sender, client_id, text, attachment, member.id, now)
    return message, conversation, stored


def system_message(conversation: Conversation, text: str) -> Message:
    message, _ = _store(conversation, "system", f"sys-{secrets.token_hex(8)}", text)
    return message


def automated_message(
    conversation: Conversation, text: str, options: dict | None = None
) -> Message:
    """An automated responder's message (``sender="robot"``), with its quick replies."""
    message, _ = _store(conversation, "robot", f"bot-{secrets.token_hex(8)}", text, options=options)
    return message


def messages_per_quarter_hour(start: datetime, end: datetime) -> dict[int, int]:
    """How many messages visitors, agents and the robot wrote between ``start`` and ``end``,
    per UTC quarter hour (``tenants.timezones.quarter_hour``): the shop's volume by hour."""
    quarter = quarter_hour(Message.created_at)
    rows = db.execute(
        select(quarter, func.count())
        .where(
            Message.created_at >= start,
            Message.created_at < end,
            Message.sender.in_(("visitor", "agent", "robot")),
        )
        .group_by(quarter)
    )
    return {int(q): n for q, n in rows}
