"""The team's reporting events (Chatwoot's ``reporting_events``), written when things happen:
the report (team.py) reads them raw, because percentiles cannot be summed from rollups.

Every closed conversation gets exactly one outcome: ``resolved`` (a person answered it),
``robot_resolved`` (the robot spoke, was never asked to hand over, and no person spoke) or
``missed`` (queued for people and never answered by one, however it closed: the idle timer
after the visitor left, or an agent closing it unanswered). A left message is not a missed
chat: the visitor chose the shop's offline channel, no agent was asked, and the inbox answers
it later; the report counts left messages on their own line.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, literal, select

from app.analytics import recording
from app.analytics.models import AnalyticsEvent
from app.calls import signals as calls
from app.chat import service as chat_service
from app.chat import signals as chat
from app.chat.outcomes import closed_without_agent
from tenants.db import db, utcnow

CALL_ANSWERED = ("answered", "ended")
CALL_MISSED = ("missed", "busy", "failed")
# how far apart a call's provider events may start it (its first ringing seen late)
CALL_EVENTS_SPREAD = timedelta(days=1)


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def _handed_over_at(conversation) -> datetime | None:
    """When the robot gave the conversation to people (our own ``robot_handover`` row)."""
    return db.scalar(
        select(AnalyticsEvent.at)
        .where(
            AnalyticsEvent.name == "robot_handover",
            AnalyticsEvent.at >= conversation.created_at,
            AnalyticsEvent.conversation_id == conversation.id,
        )
        .order_by(AnalyticsEvent.at.desc())
        .limit(1)
    )


@chat.message_created.connect
def _on_agent_message(message, **_) -> None:
    """An agent's reply (never the visitor's hot path: it returns before any query). The first
    one times the first response — from the robot's handover when the robot held the chat, the
    time people were asked — and every one that answered a waiting visitor, the response time."""
    if message.sender != "agent":
        return
    conversation = chat_service.conversation_or_404(message.conversation_id)
    at = message.created_at
    if conversation.first_response_at == at:
        start = _handed_over_at(conversation) or conversation.created_at
        recording.event(
            "first_response",
            at,
            agent_id=message.agent_id,
            conversation_id=conversation.id,
            value=_seconds(start, at),
        )
    waiting_since = chat_service.unanswered_since(conversation.id, message.seq)
    if waiting_since is not None:
        recording.event(
            "reply",
            at,
            agent_id=message.agent_id,
            conversation_id=conversation.id,
            value=_seconds(waiting_since, at),
        )


@chat.conversation_closed.connect
def _on_conversation_closed(conversation, **_) -> None:
    at = conversation.closed_at or utcnow()
    fields = {"agent_id": conversation.assignee_id, "conversation_id": conversation.id}
    if conversation.first_response_at is not None:
        recording.event("resolved", at, value=_seconds(conversation.created_at, at), **fields)
    elif _handed_over_at(conversation) is None and closed_without_agent(
        select(literal(conversation.id)), "robot"
    ):
        recording.event("robot_resolved", at, conversation_id=conversation.id)
    else:
        recording.event("missed", at, **fields)


@chat.conversation_handed_over.connect
def _on_handed_over(conversation, **_) -> None:
    recording.event("robot_handover", utcnow(), conversation_id=conversation.id)


@chat.conversation_rated.connect
def _on_rated(conversation, **_) -> None:
    """The visitor's rating (1–5) for the agent the chat was with; a changed rating replaces
    the earlier one."""
    db.execute(
        delete(AnalyticsEvent).where(
            AnalyticsEvent.name == "rated",
            AnalyticsEvent.at >= conversation.created_at,
            AnalyticsEvent.conversation_id == conversation.id,
        )
    )
    recording.event(
        "rated",
        utcnow(),
        agent_id=conversation.assignee_id,
        conversation_id=conversation.id,
        value=float(conversation.rating),
    )


@calls.call_answered.connect
@calls.call_ended.connect
def _on_call(call, **_) -> None:
    """An inbound call's outcome for the agent it rang for, as the call's facts say now:
    ``call_ended`` comes again when a late event corrects them, and the new outcome replaces
    the old one."""
    if call.kind != "call" or call.direction != "in":
        return
    if call.status in CALL_ANSWERED:
        name = "call_answered"
    elif call.status in CALL_MISSED:
        name = "call_missed"
    else:
        return
    # the call's start only moves earlier (an earlier event arriving late): its old outcome
    # is at or after the start now, and within the day the index is read for
    db.execute(
        delete(AnalyticsEvent).where(
            AnalyticsEvent.name.in_(("call_answered", "call_missed")),
            AnalyticsEvent.at >= call.started_at,
            AnalyticsEvent.at <= call.started_at + CALL_EVENTS_SPREAD,
            AnalyticsEvent.ref_id == call.id,
        )
    )
    recording.event(name, call.started_at, agent_id=call.agent_id, ref_id=call.id)
