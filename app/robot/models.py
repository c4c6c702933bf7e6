"""Robot tables: the shop's knowledge base (entries with their phrasings), its settings (mode,
thresholds, synonyms, user words and the version every worker's index is checked against), and
every question the robot was asked with what it decided and how the visitor rated it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenants.db import Base, TenantScoped, utcnow

# off: the robot says nothing; suggest: agents see its top answers; answer_first: it answers
# every new conversation first; offline: it answers only when nobody is online
MODES = ("off", "suggest", "answer_first", "offline")
DECISIONS = ("answer", "suggest", "handover")
RATINGS = ("helpful", "unhelpful")
# where a question came from: the widget's chat, a shop's own channel through the API, or
# the agents' suggestions
CHANNELS = ("chat", "api", "suggest")


class RobotEntry(TenantScoped, Base):
    """One answer of the knowledge base and the ways visitors ask for it: its question first,
    then the alternative phrasings."""

    __tablename__ = "robot_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id", name="uq_robot_entry_external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # the shop's own id for the entry (bulk API posts are idempotent on it)
    external_id: Mapped[str | None] = mapped_column(String(100))
    question: Mapped[str] = mapped_column(String(500))
    alternatives: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)  # plain text; links are made clickable when shown
    category: Mapped[str] = mapped_column(String(80), default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def phrasings(self) -> list[str]:
        return [self.question, *self.alternatives]


class RobotSettings(TenantScoped, Base):
    """One row per shop. ``version`` grows with every change of the entries, synonyms or words:
    each worker keeps the index it built with the version it saw and rebuilds when it moved, so
    an entry answers in every worker from the moment the request that made it returns."""

    __tablename__ = "robot_settings"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_robot_settings_tenant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mode: Mapped[str] = mapped_column(String(15), default="off")
    # None: the matcher's defaults (app/robot/matcher.py DEFAULT_THRESHOLDS)
    answer_threshold: Mapped[float | None]
    suggest_threshold: Mapped[float | None]
    margin: Mapped[float | None]
    # groups of equivalent terms, one group a line: "运费险 = 退货运费险 = 退货险"
    synonyms: Mapped[str] = mapped_column(Text, default="")
    # words the Chinese tokenizer must keep whole, one a line: "山茶小铺"
    words: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RobotQuestion(TenantScoped, Base):
    """A question the robot was asked and what it decided: the shop's figures and, for the
    handovers and the answers rated not helpful, the log of unanswered questions."""

    __tablename__ = "robot_questions"
    __table_args__ = (
        Index("ix_robot_questions_tenant_created", "tenant_id", "created_at"),
        Index("ix_robot_questions_conversation", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    question: Mapped[str] = mapped_column(String(1000))
    decision: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(20), default="")
    entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("robot_entries.id", ondelete="SET NULL")
    )
    confidence: Mapped[float] = mapped_column(default=0.0)
    # the chat's conversation and the robot's message answering it (chat channel only)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_conversations.id", ondelete="SET NULL")
    )
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_messages.id", ondelete="SET NULL")
    )
    rating: Mapped[str | None] = mapped_column(String(10))
    # the unanswered log: set when the question was added to an entry or dismissed
    settled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RobotImport(TenantScoped, Base):
    """A CSV of entries uploaded for its preview: the file waits here (decoded) until the
    admin confirms it, so a big file is sent once, then the counts of what it did."""

    __tablename__ = "robot_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending/done
    created_count: Mapped[int] = mapped_column(default=0)
    updated_count: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
