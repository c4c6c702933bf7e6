"""Chat tables: visitors and their page views, conversations and messages, the console's
settings (groups, quick replies, hours, invitation rules) and the leave-message inbox."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenants.db import Base, TenantScoped, utcnow


class ChatSettings(TenantScoped, Base):
    """One row per shop: how the widget looks and when the shop answers."""

    __tablename__ = "chat_settings"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_chat_settings_tenant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    color: Mapped[str] = mapped_column(String(16), default="#1f6feb")
    greeting: Mapped[str] = mapped_column(String(200), default="")
    offline_text: Mapped[str] = mapped_column(String(300), default="")
    allowed_domains: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty = any
    # {"mon": [["09:00", "18:00"]], ...}; empty = always open
    schedule: Mapped[dict] = mapped_column(default=dict)
    max_chats_per_agent: Mapped[int] = mapped_column(default=4)
    # Where the chat button sits, in px from the bottom and from its side: clear of a shop's
    # own sticky bars (app/chat/widget.py loader_config hands it to the loader).
    launcher_side: Mapped[str] = mapped_column(String(5), default="right")  # or "left"
    launcher_bottom: Mapped[int] = mapped_column(default=20)
    launcher_offset: Mapped[int] = mapped_column(default=20)
    # a chat closes itself this long after the visitor left and nobody wrote (0: never)
    auto_close_minutes: Mapped[int] = mapped_column(default=30, server_default="30")
    # the visitor's words in agents' phone notifications (off: "New message" only)
    push_message_text: Mapped[bool] = mapped_column(default=True, server_default=true())


class Group(TenantScoped, Base):
    __tablename__ = "chat_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    url_pattern: Mapped[str] = mapped_column(String(300), default="")  # page rule, * glob
    position: Mapped[int] = mapped_column(default=0)


class GroupMember(TenantScoped, Base):
    __tablename__ = "chat_group_members"
    __table_args__ = (UniqueConstraint("group_id", "membership_id", name="uq_group_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("chat_groups.id", ondelete="CASCADE"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id", ondelete="CASCADE"))


class AgentView(TenantScoped, Base):
    """Whether one of an agent's console tabs is in sight (one row per socket): an agent
    looking at the console hears of news there, not on their phone too."""

    __tablename__ = "chat_agent_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    visible: Mapped[bool] = mapped_column(default=False)
    # refreshed by the worker's heartbeat as the agent's presence is (a crashed worker's tabs
    # stop counting after PRESENCE_TTL)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


NEW_AGENT_STATUS = "online"  # a new agent is ready to chat; the choice is theirs from then on


class AgentState(TenantScoped, Base):
    """An agent's chosen status (kept across connections: their tabs only count as connected)
    and their place in the round-robin."""

    __tablename__ = "chat_agent_states"
    __table_args__ = (UniqueConstraint("membership_id", name="uq_agent_state_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default=NEW_AGENT_STATUS)
    connections: Mapped[int] = mapped_column(default=0)
    # Refreshed by every worker for the agents connected to it: a crashed worker's agents
    # stop counting as online once this is older than PRESENCE_TTL.
    seen_at: Mapped[datetime | None]
    last_assigned_at: Mapped[datetime | None]


class Visitor(TenantScoped, Base):
    __tablename__ = "chat_visitors"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_visitor_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32))  # random, carried in the signed token
    name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    lang: Mapped[str] = mapped_column(String(10), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    visit_count: Mapped[int] = mapped_column(default=0)
    page_count: Mapped[int] = mapped_column(default=0)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    visit_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    current_url: Mapped[str] = mapped_column(String(1000), default="")
    current_title: Mapped[str] = mapped_column(String(300), default="")
    # where this visit came from
    referrer: Mapped[str] = mapped_column(String(1000), default="")
    source: Mapped[str] = mapped_column(String(40), default="")  # baidu, google, direct, …
    keyword: Mapped[str] = mapped_column(String(200), default="")
    utm: Mapped[dict] = mapped_column(default=dict)
    invite: Mapped[dict | None] = mapped_column(JSON)  # {"agent_name", "text"} pending
    # the CRM customer this visitor is known to be (identified, or gave a known phone/e-mail)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_customers.id", ondelete="SET NULL"), index=True
    )


class PageView(TenantScoped, Base):
    __tablename__ = "chat_page_views"
    __table_args__ = (Index("ix_page_views_tenant_at", "tenant_id", "viewed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visitor_id: Mapped[int] = mapped_column(
        ForeignKey("chat_visitors.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(1000))
    title: Mapped[str] = mapped_column(String(300), default="")
    referrer: Mapped[str] = mapped_column(String(1000), default="")
    utm: Mapped[dict] = mapped_column(default=dict)
    viewed_at: Mapped[datetime] = mapped_column(default=utcnow)


OPEN = text("status <> 'closed'")


class Conversation(TenantScoped, Base):
    __tablename__ = "chat_conversations"
    __table_args__ = (
        Index("ix_conversations_tenant_status", "tenant_id", "status"),
        # A visitor has one conversation at a time: first messages racing in from two tabs
        # (or one resent) land in the same one. The loser's insert fails and reads the winner.
        Index(
            "uq_conversations_one_open_per_visitor",
            "visitor_id",
            unique=True,
            postgresql_where=OPEN,
            sqlite_where=OPEN,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visitor_id: Mapped[int] = mapped_column(
        ForeignKey("chat_visitors.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int | None] = mapped_column(ForeignKey("chat_groups.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL"), index=True
    )
    # queued/open/closed, or held: an automated responder answers it first (responders.py)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    last_seq: Mapped[int] = mapped_column(default=0)
    # the newest visible message, for the conversation list without a query per row
    last_sender: Mapped[str] = mapped_column(String(10), default="")
    last_text: Mapped[str] = mapped_column(String(200), default="")
    visitor_read_seq: Mapped[int] = mapped_column(default=0)
    agent_read_seq: Mapped[int] = mapped_column(default=0)
    page_url: Mapped[str] = mapped_column(String(1000), default="")
    rating: Mapped[int | None]
    rating_comment: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[datetime | None]
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    # when the shop's agents were mailed that nobody answered it (app/chat/notices.py)
    missed_notice_at: Mapped[datetime | None]

    visitor: Mapped[Visitor] = relationship(lazy="joined")


class Attachment(TenantScoped, Base):
    __tablename__ = "chat_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    visitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_visitors.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(TenantScoped, Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", name="uq_message_seq"),
        UniqueConstraint("conversation_id", "sender", "client_id", name="uq_message_client_id"),
        # A visitor's client id names their message for good, in whichever conversation it
        # went to: a resend after the chat was closed, or from another tab, is the stored one.
        UniqueConstraint("visitor_id", "client_id", name="uq_message_visitor_client_id"),
        CheckConstraint("(sender = 'visitor') = (visitor_id IS NOT NULL)", name="visitor_id"),
        Index("ix_messages_tenant_created", "tenant_id", "created_at"),  # volume by hour
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("chat_conversations.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int]
    sender: Mapped[str] = mapped_column(String(10))  # visitor/agent/system/note/robot
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("memberships.id", ondelete="SET NULL"))
    # the sender of a visitor's message (its conversation's visitor), else None
    visitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_visitors.id", ondelete="CASCADE")
    )
    client_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10), default="text")
    body: Mapped[str] = mapped_column(Text, default="")
    attachment_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_attachments.id", ondelete="SET NULL")
    )
    # quick replies the visitor may click (an automated responder's): {"kind", "items":
    # [{"id", "label"}], "chosen": id or None} — a click is taken once (automation.py)
    options: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    attachment: Mapped[Attachment | None] = relationship(lazy="joined")


SHARED = text("owner_id IS NULL")


class QuickReply(TenantScoped, Base):
    """A shortcut is unique per owner: the shop for shared replies, the agent for their own
    (an agent's own may have a shared one's shortcut)."""

    __tablename__ = "chat_quick_replies"
    __table_args__ = (
        UniqueConstraint("owner_id", "shortcut", name="uq_quick_reply_owner_shortcut"),
        Index(
            "uq_quick_reply_shared_shortcut",
            "tenant_id",
            "shortcut",
            unique=True,
            postgresql_where=SHARED,
            sqlite_where=SHARED,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(  # None: shared by the whole shop
        ForeignKey("memberships.id", ondelete="CASCADE")
    )
    shortcut: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(String(5000))  # as long as a chat message may be


class InvitationRule(TenantScoped, Base):
    __tablename__ = "chat_invitation_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    url_pattern: Mapped[str] = mapped_column(String(300))
    seconds: Mapped[int] = mapped_column(default=30)
    text: Mapped[str] = mapped_column(String(300))
    enabled: Mapped[bool] = mapped_column(default=True)


class LeftMessage(TenantScoped, Base):
    """A message left through the widget when nobody could answer (留言)."""

    __tablename__ = "chat_left_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    visitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_visitors.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    body: Mapped[str] = mapped_column(Text)
    page_url: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[str] = mapped_column(String(10), default="new")  # new/handled
    reply: Mapped[str] = mapped_column(Text, default="")
    handled_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    handled_at: Mapped[datetime | None]


class WidgetRefusal(TenantScoped, Base):
    """Page views the widget refused because the page's host is not an allowed website: one
    counter per shop, host and day (the shop's day), for the console home to tell the owner."""

    __tablename__ = "chat_widget_refusals"
    __table_args__ = (
        UniqueConstraint("tenant_id", "host", "day", name="uq_chat_widget_refusals_host_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(253))
    day: Mapped[date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(default=0)
    dismissed: Mapped[bool] = mapped_column(default=False)
