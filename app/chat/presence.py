"""The shop's chat settings and hours, and its agents' presence: who is online, connected and
how many chats each has open."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import force_locale, gettext
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.chat.models import (
    NEW_AGENT_STATUS,
    AgentState,
    AgentView,
    ChatSettings,
    Conversation,
    GroupMember,
    Visitor,
)
from app.chat.visitors import ON_SITE
from tenants.db import current_tenant_id, db, utcnow
from tenants.errors import ServiceError
from tenants.models import Membership

PRESENCE_TTL = timedelta(seconds=90)  # workers refresh their agents' seen_at every 30 s
LIVE_WINDOW = timedelta(minutes=10)  # a chat with a message this recent is live
STATUSES = ("online", "away", "offline")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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


def chosen_status(membership_id: int) -> str:
    """The status the agent last chose, read without making their row."""
    status = db.scalar(select(AgentState.status).where(AgentState.membership_id == membership_id))
    return status or NEW_AGENT_STATUS


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


def queue_members(group_id: int | None) -> list[int]:
    """The active agents a chat queued for ``group_id`` waits for (everyone, when the group
    has no members of its own)."""
    query = select(Membership.id).where(Membership.status == "active")
    if group_id is not None and _group_has_members(group_id):
        query = query.join(GroupMember, GroupMember.membership_id == Membership.id).where(
            GroupMember.group_id == group_id
        )
    return list(db.scalars(query.order_by(Membership.id)))


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
    """A worker's heartbeat for the agents connected to it (and their tabs' views)."""
    for table in (AgentState, AgentView):
        db.execute(
            update(table)
            .where(table.membership_id.in_(membership_ids))
            .values(seen_at=now or utcnow())
        )


def reachable_status(membership_id: int, now: datetime | None = None) -> str:
    """The agent's status as a notification sees it: their chosen one while a console tab is
    connected, else offline."""
    state = db.scalar(select(AgentState).where(AgentState.membership_id == membership_id))
    if state is None or not state.connections or state.seen_at is None:
        return "offline"
    if state.seen_at < (now or utcnow()) - PRESENCE_TTL:
        return "offline"
    return state.status


def set_view(sid: str, membership_id: int, visible: bool) -> None:
    """Whether the agent's tab ``sid`` is in sight now."""
    stale = AgentView.seen_at < utcnow() - PRESENCE_TTL  # tabs of a worker that died
    db.execute(delete(AgentView).where(AgentView.membership_id == membership_id, stale))
    view = db.scalar(select(AgentView).where(AgentView.sid == sid))
    if view is None:
        view = AgentView(sid=sid, membership_id=membership_id)
        db.add(view)
    view.visible = visible
    view.seen_at = utcnow()
    db.flush()


def forget_view(sid: str) -> None:
    db.execute(delete(AgentView).where(AgentView.sid == sid))


def in_sight(membership_id: int) -> bool:
    """Whether one of the agent's console tabs is in sight."""
    query = select(AgentView.id).where(
        AgentView.membership_id == membership_id,
        AgentView.visible.is_(True),
        AgentView.seen_at >= utcnow() - PRESENCE_TTL,
    )
    return db.scalar(query.limit(1)) is not None


def agent_disconnected(membership_id: int) -> AgentState:
    state = agent_state(membership_id)
    state.connections = max(0, state.connections - 1)
    return state


def open_load(membership_id: int) -> int:
    return db.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.assignee_id == membership_id, Conversation.status == "open")
    )


def live_load(membership_id: int, now: datetime | None = None) -> int:
    """The agent's live chats, what their chat limit counts: open, and the visitor still
    there (a ping or a socket within ``ON_SITE``) or someone wrote within ``LIVE_WINDOW``. A
    visitor who wrote and left ten minutes ago no longer takes the place of a new one."""
    now = now or utcnow()
    return db.scalar(
        select(func.count())
        .select_from(Conversation)
        .join(Visitor, Conversation.visitor_id == Visitor.id)
        .where(
            Conversation.assignee_id == membership_id,
            Conversation.status == "open",
            or_(
                Visitor.last_seen_at >= now - ON_SITE,
                Conversation.last_message_at >= now - LIVE_WINDOW,
            ),
        )
    )


def agent_names() -> dict[int, str]:
    members = db.scalars(select(Membership).order_by(Membership.id))
    return {m.id: m.user.name or _stand_in(m, n) for n, m in enumerate(members, 1)}


def display_name(member: Membership) -> str:
    """What visitors and colleagues see of a member: their name, else the shop's stand-in
    ("客服3": the third member of the shop), never a part of their private e-mail."""
    return member.user.name or stand_in_name(member)


def stand_in_name(member: Membership) -> str:
    """The name the shop gives a member who has not set one."""
    number = db.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.tenant_id == member.tenant_id, Membership.id <= member.id)
    )
    return _stand_in(member, number)


def _stand_in(member: Membership, number: int) -> str:
    with force_locale(member.tenant.locale):  # the shop's language: visitors see it
        return gettext("Agent %(number)d", number=number)


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
                "name": display_name(member),
                "role": member.role,
                "status": state.status if live else "offline",
                "open_chats": open_load(member.id),
            }
        )
    return summary
