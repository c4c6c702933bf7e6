"""The rules of chat: visitors and page views, conversations and their messages, assignment,
presence, the leave-message inbox. No Flask request objects; callers commit once."""

from __future__ import annotations

import fnmatch
import secrets
from datetime import datetime, timedelta
from typing import NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Engine, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from app.chat import signals, sources
from app.chat.models import (
    AgentState,
    Attachment,
    ChatSettings,
    Conversation,
    Group,
    GroupMember,
    LeftMessage,
    Message,
    PageView,
    Visitor,
)
from tenants.db import (
    autocommit_engine,
    cross_tenant,
    current_tenant_id,
    db,
    scoped_get,
    utcnow,
)
from tenants.errors import ServiceError
from tenants.models import Membership, Tenant
from tenants.service import normalize_email

MAX_TEXT = 5000
MAX_CLIENT_ID = 64
VISIT_GAP = timedelta(minutes=30)  # a new visit after half an hour away
ON_SITE = timedelta(seconds=70)  # the loader pings every 20 s while the page is visible
PRESENCE_TTL = timedelta(seconds=90)  # workers refresh their agents' seen_at every 30 s
STATUSES = ("online", "away", "offline")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --- visitor identity ------------------------------------------------------------------


def _token_serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="huike-visitor")


def visitor_token(secret: str, visitor: Visitor) -> str:
    return _token_serializer(secret).dumps([visitor.tenant_id, visitor.key])


def read_visitor_token(secret: str, token: str) -> tuple[int, str] | None:
    try:
        tenant_id, key = _token_serializer(secret).loads(token or "")
        return int(tenant_id), str(key)
    except (BadSignature, ValueError, TypeError):
        return None


def tenant_for_site_key(site_key: str) -> Tenant | None:
    with cross_tenant():
        return db.scalar(select(Tenant).where(Tenant.site_key == (site_key or "")[:32]))


def origin_allowed(origin: str | None, allowed: list[str]) -> bool:
    """A shop's widget answers its own domains (and their subdomains); none listed: any."""
    if not origin or not allowed:
        return True
    host = urlsplit(origin).hostname or ""
    return any(host == d or host.endswith("." + d) for d in allowed)


def visitor_by_key(key: str) -> Visitor | None:
    return db.scalar(select(Visitor).where(Visitor.key == key))


# --- settings, hours, presence ---------------------------------------------------------


def insert_or_nothing(table, dialect: str):
    """``INSERT … ON CONFLICT DO NOTHING`` in the database's own words (PostgreSQL, SQLite)."""
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return dialect_insert(table).on_conflict_do_nothing()


def settings() -> ChatSettings:
    """The shop's chat settings, made on first use. Concurrent first requests may both find
    none: the insert that loses the race does nothing, and both read the one row."""
    found = db.scalar(select(ChatSettings))
    if found is None:
        tenant_id = current_tenant_id()
        if tenant_id is None:
            raise RuntimeError("no tenant bound for chat settings")
        connection = db.connection()
        statement = insert_or_nothing(ChatSettings.__table__, connection.dialect.name)
        connection.execute(statement, {"tenant_id": tenant_id})  # the columns' defaults
        found = db.scalar(select(ChatSettings))
    return found


def in_hours(chat: ChatSettings, timezone: str, now: datetime | None = None) -> bool:
    """Inside the weekly schedule, in the shop's time zone (no schedule: always open)."""
    if not chat.schedule:
        return True
    local = (now or utcnow()).astimezone(ZoneInfo(timezone))
    hhmm = local.strftime("%H:%M")
    for start, end in chat.schedule.get(WEEKDAYS[local.weekday()], []):
        if start <= hhmm < end:
            return True
    return False


def agent_state(membership_id: int) -> AgentState:
    state = db.scalar(select(AgentState).where(AgentState.membership_id == membership_id))
    if state is None:
        state = AgentState(membership_id=membership_id)
        db.add(state)
        db.flush()
    return state


def online_agents(group_id: int | None = None) -> list[AgentState]:
    query = (
        select(AgentState)
        .join(Membership, AgentState.membership_id == Membership.id)
        .where(
            AgentState.status == "online",
            AgentState.connections > 0,
            AgentState.seen_at >= utcnow() - PRESENCE_TTL,
            Membership.status == "active",
        )
    )
    if group_id is not None and _group_has_members(group_id):
        query = query.join(
            GroupMember, GroupMember.membership_id == AgentState.membership_id
        ).where(GroupMember.group_id == group_id)
    return list(db.scalars(query))


def _group_has_members(group_id: int) -> bool:
    return db.scalar(select(GroupMember.id).where(GroupMember.group_id == group_id)) is not None


def set_status(membership_id: int, status: str) -> AgentState:
    if status not in STATUSES:
        raise ServiceError("bad_status", field="status")
    state = agent_state(membership_id)
    state.status = status
    return state


def agent_connected(membership_id: int) -> AgentState:
    state = agent_state(membership_id)
    state.connections += 1
    state.seen_at = utcnow()
    return state


def agents_seen(membership_ids: list[int], now: datetime | None = None) -> None:
    """A worker's heartbeat for the agents connected to it."""
    db.execute(
        update(AgentState)
        .where(AgentState.membership_id.in_(membership_ids))
        .values(seen_at=now or utcnow())
    )


def agent_disconnected(membership_id: int) -> AgentState:
    state = agent_state(membership_id)
    state.connections = max(0, state.connections - 1)
    return state


# --- visitors and page views -----------------------------------------------------------


def _clip(value: str | None, length: int) -> str:
    return (value or "").strip()[:length]


def record_page_view(
    visitor: Visitor | None,
    url: str,
    title: str = "",
    referrer: str = "",
    lang: str = "",
    user_agent: str = "",
    ip: str = "",
    now: datetime | None = None,
) -> Visitor:
    """A page seen: a new visitor, a new visit after a long gap, or one more page."""
    now = now or utcnow()
    url, referrer = _clip(url, 1000), _clip(referrer, 1000)
    if not url.startswith(("http://", "https://")):
        raise ServiceError("bad_url", field="url")
    if visitor is None:
        visitor = Visitor(key=secrets.token_urlsafe(16), first_seen_at=now)
        db.add(visitor)
    own_host = urlsplit(url).hostname or ""
    new_visit = not visitor.visit_count or now - visitor.last_seen_at > VISIT_GAP
    if new_visit:
        visitor.visit_count = (visitor.visit_count or 0) + 1
        visitor.visit_started_at = now
        visitor.page_count = 0
        visitor.referrer = referrer
        visitor.source, visitor.keyword, visitor.utm = sources.classify(url, referrer, own_host)
    visitor.page_count = (visitor.page_count or 0) + 1
    visitor.last_seen_at = now
    visitor.current_url = url
    visitor.current_title = _clip(title, 300)
    visitor.lang = _clip(lang, 10) or visitor.lang
    visitor.user_agent = _clip(user_agent, 300) or visitor.user_agent
    visitor.ip = _clip(ip, 45) or visitor.ip
    db.flush()
    _, _, utm = sources.classify(url, referrer, own_host)
    db.add(
        PageView(
            visitor_id=visitor.id,
            url=url,
            title=visitor.current_title,
            referrer=referrer,
            utm=utm,
            viewed_at=now,
        )
    )
    return visitor


def touch(visitor: Visitor, url: str = "", now: datetime | None = None) -> None:
    visitor.last_seen_at = now or utcnow()
    if url.startswith(("http://", "https://")):
        visitor.current_url = _clip(url, 1000)


def visitors_on_site(now: datetime | None = None, limit: int = 200) -> list[Visitor]:
    since = (now or utcnow()) - ON_SITE
    return list(
        db.scalars(
            select(Visitor)
            .where(Visitor.last_seen_at >= since)
            .order_by(Visitor.last_seen_at.desc())
            .limit(limit)
        )
    )


def recent_pages(visitor_id: int, limit: int = 20) -> list[PageView]:
    return list(
        db.scalars(
            select(PageView)
            .where(PageView.visitor_id == visitor_id)
            .order_by(PageView.viewed_at.desc(), PageView.id.desc())
            .limit(limit)
        )
    )


def invite_visitor(visitor_id: int, agent_name: str, text: str) -> Visitor:
    visitor = scoped_get(Visitor, visitor_id)
    if visitor is None:
        raise ServiceError("not_found")
    visitor.invite = {"agent_name": agent_name, "text": _clip(text, 300)}
    return visitor


def take_invite(visitor: Visitor) -> dict | None:
    invite, visitor.invite = visitor.invite, None
    return invite


# --- conversations and messages --------------------------------------------------------


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


def _visitor_copy(visitor_id: int, client_id: str) -> Message | None:
    """The visitor's message stored under this client id, in whichever of their conversations
    (closed since, perhaps): a visitor's client id names one message for good."""
    return db.scalar(
        select(Message).where(Message.visitor_id == visitor_id, Message.client_id == client_id)
    )


def _store(
    conversation: Conversation,
    sender: str,
    client_id: str,
    text: str,
    attachment: Attachment | None = None,
    agent_id: int | None = None,
    now: datetime | None = None,
) -> tuple[Message, bool]:
    """Store one message (callers have looked for its client id already); a copy that raced
    in on another connection is found instead (a visitor's: in any of their conversations)."""
    now = now or utcnow()
    visitor_id = conversation.visitor_id if sender == "visitor" else None
    savepoint = db.begin_nested()
    try:
        message = Message(
            conversation_id=conversation.id,
            seq=_next_seq(conversation),
            sender=sender,
            agent_id=agent_id,
            visitor_id=visitor_id,
            client_id=client_id,
            kind=_kind(attachment),
            body=text,
            attachment=attachment,
            created_at=now,
        )
        db.add(message)
        db.flush()
        savepoint.commit()
    except IntegrityError:  # the same client id raced in on another connection
        savepoint.rollback()
        if visitor_id is not None:
            found = _visitor_copy(visitor_id, client_id)
        else:
            found = _existing(conversation.id, sender, client_id)
        if found is None:  # not a copy: another constraint refused the row
            raise
        return found, False
    if sender != "note":
        conversation.last_message_at = now
        conversation.last_sender = sender
        conversation.last_text = (text or (attachment.name if attachment else ""))[:200]
    return message, True


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
    .returning(_conversations.c.last_seq, _conversations.c.visitor_id)
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
 RETURNING last_seq, visitor_id
)
INSERT INTO chat_messages (tenant_id, conversation_id, seq, sender, agent_id, visitor_id,
                           client_id, kind, body, attachment_id, created_at)
SELECT %(tenant)s, %(conversation)s, last_seq, 'visitor', NULL, visitor_id, %(client_id)s,
       'text', %(body)s, NULL, %(at)s
  FROM bumped
RETURNING id, seq"""


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
    values = {
        "tenant": tenant_id,
        "conversation": conversation_id,
        "client_id": client_id,
        "body": text,
        "summary": text[:200],
        "at": now,
    }
    bind = db.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        stored = _append_in_one_round_trip(bind, values)
    else:  # SQLite, or a session joined to an outer transaction (the tests)
        stored = _append_in_session(values)
    if stored is None:
        return None
    message_id, seq = stored
    return VisitorText(message_id, conversation_id, seq, client_id, text, now)


def _append_in_one_round_trip(engine: Engine, values: dict) -> tuple[int, int] | None:
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


def _append_in_session(values: dict) -> tuple[int, int] | None:
    """Two statements in the session's transaction: the next seq, then the row."""
    connection = db.connection()
    bumped = connection.execute(
        _NEXT_VISITOR_SEQ, {k: values[k] for k in ("conversation", "tenant", "at", "summary")}
    ).first()
    if bumped is None:
        return None
    seq, visitor_id = bumped
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
            "kind": "text",
            "body": values["body"],
            "attachment_id": None,
            "created_at": values["at"],
        },
    ).scalar()
    if message_id is None:  # a retry: undo the seq it took
        db.rollback()
        return None
    return message_id, seq


def _kind(attachment: Attachment | None) -> str:
    if attachment is None:
        return "text"
    return "image" if attachment.content_type.startswith("image/") else "file"


def _attachment(attachment_id: int | None, visitor: Visitor | None = None) -> Attachment | None:
    if attachment_id is None:
        return None
    attachment = scoped_get(Attachment, attachment_id)
    if attachment is None or (visitor is not None and attachment.visitor_id != visitor.id):
        raise ServiceError("not_found", field="attachment_id")
    return attachment


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
    attachment = _attachment(attachment_id, visitor)
    text = _check_body(text, attachment)
    attempt = db.begin_nested()
    conversation, started = _conversation_for(visitor, group_id, now)
    message, stored = _store(conversation, "visitor", client_id, text, attachment, now=now)
    if not stored:  # a copy beat this one: keep nothing of it (not a conversation it opened)
        attempt.rollback()
        return message, scoped_get(Conversation, message.conversation_id), False, False
    attempt.commit()
    return message, conversation, True, started


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
    assign(conversation, now)
    return conversation, True


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
    attachment = _attachment(attachment_id)
    text = _check_body(text, attachment)
    now = now or utcnow()
    if not note:
        if conversation.assignee_id is None:  # answering a queued chat takes it
            _assign_to(conversation, member.id, now)
        if conversation.first_response_at is None:
            conversation.first_response_at = now
    message, stored = _store(conversation, sender, client_id, text, attachment, member.id, now)
    return message, conversation, stored


def system_message(conversation: Conversation, text: str) -> Message:
    message, _ = _store(conversation, "system", f"sys-{secrets.token_hex(8)}", text)
    return message


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


def mark_read(conversation: Conversation, who: str, seq: int) -> bool:
    seq = min(max(0, int(seq)), conversation.last_seq)
    field = "visitor_read_seq" if who == "visitor" else "agent_read_seq"
    if seq <= getattr(conversation, field):
        return False
    setattr(conversation, field, seq)
    return True


# --- assignment ------------------------------------------------------------------------


def open_load(membership_id: int) -> int:
    return db.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.assignee_id == membership_id, Conversation.status == "open")
    )


def assign(conversation: Conversation, now: datetime | None = None) -> int | None:
    """Round-robin among the group's online agents under their chat limit; else queue."""
    limit = settings().max_chats_per_agent
    candidates = [
        s for s in online_agents(conversation.group_id) if open_load(s.membership_id) < limit
    ]
    if not candidates:
        conversation.status = "queued"
        return None
    epoch = datetime.min.replace(tzinfo=(now or utcnow()).tzinfo)
    chosen = min(candidates, key=lambda s: (s.last_assigned_at or epoch, s.membership_id))
    _assign_to(conversation, chosen.membership_id, now)
    return chosen.membership_id


def _assign_to(conversation: Conversation, membership_id: int, now: datetime | None) -> None:
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
    _assign_to(conversation, member.id, None)
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
        _assign_to(conversation, target.id, None)
        return conversation
    if group_id is not None:
        if scoped_get(Group, group_id) is None:
            raise ServiceError("not_found", field="group_id")
        conversation.group_id = group_id
        conversation.assignee_id = None
        assign(conversation)
        return conversation
    raise ServiceError("bad_request", field="agent_id")


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
    conversation.rating_comment = _clip(comment if isinstance(comment, str) else "", 1000)
    return conversation


def agent_conversations(member: Membership) -> list[Conversation]:
    """What the console shows: the queue and every open chat (small shops see them all)."""
    return list(
        db.scalars(
            select(Conversation)
            .where(Conversation.status != "closed")
            .order_by(Conversation.last_message_at.desc())
        )
    )


def search_conversations(query: str, limit: int = 50) -> list[Conversation]:
    query = _clip(query, 100)
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


# --- leave a message -------------------------------------------------------------------


def check_left_message(
    name: str, text: str, phone: str = "", email: str = ""
) -> tuple[str, str, str, str]:
    """(name, text, phone, email) as they would be stored, or the ServiceError a user fixes."""
    name, text = _clip(name, 120), (text or "").strip()
    phone, email = _clip(phone, 40), _clip(email, 254)
    if not name:
        raise ServiceError("required", field="name")
    if not phone and not email:
        raise ServiceError("contact_required", field="phone")
    if email:
        email = normalize_email(email)
    if phone and not all(c.isdigit() or c in "+-() " for c in phone):
        raise ServiceError("phone_invalid", field="phone")
    if not text:
        raise ServiceError("required", field="text")
    if len(text) > MAX_TEXT:
        raise ServiceError("too_long", field="text", max=MAX_TEXT)
    return name, text, phone, email


def leave_message(
    visitor: Visitor | None,
    name: str,
    text: str,
    phone: str = "",
    email: str = "",
    page_url: str = "",
) -> LeftMessage:
    name, text, phone, email = check_left_message(name, text, phone, email)
    if visitor is not None:
        visitor.name = visitor.name or name
        visitor.email = visitor.email or email
        visitor.phone = visitor.phone or phone
    left = LeftMessage(
        visitor_id=visitor.id if visitor else None,
        name=name,
        phone=phone,
        email=email,
        body=text,
        page_url=_clip(page_url, 1000),
    )
    db.add(left)
    db.flush()
    return left


# --- what the console shows -----------------------------------------------------------


def agent_names() -> dict[int, str]:
    rows = db.scalars(select(Membership))
    return {m.id: m.user.name or m.user.email.split("@")[0] for m in rows}


def agents_summary() -> list[dict]:
    states = {s.membership_id: s for s in db.scalars(select(AgentState))}
    fresh = utcnow() - PRESENCE_TTL
    summary = []
    for member in db.scalars(select(Membership).where(Membership.status == "active")):
        state = states.get(member.id)
        live = state is not None and state.connections > 0 and (state.seen_at or fresh) > fresh
        summary.append(
            {
                "id": member.id,
                "name": member.user.name or member.user.email.split("@")[0],
                "role": member.role,
                "status": state.status if live else "offline",
                "open_chats": open_load(member.id),
            }
        )
    return summary


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
