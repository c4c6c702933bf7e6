"""The robot's suggestions to agents: the knowledge base's top answers beside a visitor's
message, for the agents who have that conversation open, to insert into their reply.

The visitor's message is on the chat's hot path, so the listener only queues a job (after the
message's commit): nothing the robot does can slow or fail the visitor's message. The job
decides (the shop's plan and robot mode, the conversation's state), asks the robot (the log's
channel "suggest": the shop's figures count suggestions) and tells the conversation's room.
An agent who opens the conversation later asks for the same with ``robot_suggestions``.
"""

from __future__ import annotations

from sqlalchemy import select

from app.chat import service as chat
from app.chat import signals as chat_signals
from app.chat.peers import AGENT, Peer, conversation_room, emit_after_commit
from app.chat.sockets import as_int, handler
from app.features import gated_events
from app.robot.models import RobotEntry, RobotSettings
from app.robot.service import Reply, ask, consider, thresholds
from tenants.db import current_tenant_id, db, scoped_get
from tenants.errors import ServiceError
from tenants.jobs import enqueue, job
from tenants.models import Tenant
from tenants.plans import entitlements

SUGGEST_JOB = "robot.suggest"
SHOWN = 3  # suggestions an agent sees at most (Alt+1..3 inserts them)
robot_event = gated_events("robot", handler)


@chat_signals.message_created.connect
def _on_message_created(message, tenant_id: int, **_) -> None:
    """Sent on the visitor's hot path: no query here, only a job queued after the commit."""
    if message.sender == "visitor" and message.body.strip():
        enqueue(SUGGEST_JOB, tenant_id, message.conversation_id, message.id)


@job(SUGGEST_JOB, max_retries=0)  # a suggestion retried minutes later is for a chat gone on
def suggest(conversation_id: int, message_id: int) -> None:
    try:
        conversation = chat.conversation_or_404(conversation_id)
    except ServiceError:  # gone with its visitor since
        return
    shop = _suggesting(conversation)
    message = chat.last_message(conversation) if shop else None
    if message is None or message.id != message_id:  # answered, or a newer message has its own
        return
    payload = suggestions_json(
        shop, conversation.id, message.id, ask(message.body, "suggest", conversation.id)
    )
    if payload["suggestions"]:
        emit_after_commit(
            "robot_suggestions",
            payload,
            conversation_room(current_tenant_id(), conversation.id),
            AGENT,
        )


@robot_event(AGENT, "robot_suggestions")
def robot_suggestions(peer: Peer, data: dict):
    """The suggestions for the conversation's last message, if it is the visitor's and waits
    for an answer (an agent opening the chat, or reloading the page). Not logged again."""
    conversation = chat.conversation_or_404(as_int(data.get("conversation_id")))
    shop = _suggesting(conversation)
    message = chat.last_message(conversation) if shop else None
    if message is None or message.sender != "visitor":
        return {"conversation_id": conversation.id, "message_id": None, "suggestions": []}
    return suggestions_json(shop, conversation.id, message.id, consider(message.body))


def _suggesting(conversation) -> RobotSettings | None:
    """The shop's robot settings if it suggests in this chat: in suggest mode every open chat;
    where the robot answers first, a chat a person took. Read, not made: a shop that never
    set its robot up has it off."""
    if conversation.status == "closed":
        return None
    if not entitlements(scoped_get(Tenant, conversation.tenant_id)).has("robot"):
        return None
    shop = db.scalar(select(RobotSettings))
    if shop is None:
        return None
    if shop.mode == "suggest" or (
        shop.mode in ("answer_first", "offline") and conversation.assignee_id is not None
    ):
        return shop
    return None


def suggestions_json(
    shop: RobotSettings, conversation_id: int, message_id: int, reply: Reply
) -> dict:
    """The candidates the robot finds plausible (at least the shop's suggest threshold), with
    their answers: a handover with nothing near shows nothing."""
    floor = thresholds(shop).suggest
    chosen = [c for c in reply.candidates if c.confidence >= floor][:SHOWN]
    ids = [c.entry_id for c in chosen]
    entries = {e.id: e for e in db.scalars(select(RobotEntry).where(RobotEntry.id.in_(ids)))}
    shown = [
        {
            "entry_id": c.entry_id,
            "question": entries[c.entry_id].question,
            "answer": entries[c.entry_id].answer,
            "confidence": c.confidence,
        }
        for c in chosen
        if c.entry_id in entries
    ]
    return {"conversation_id": conversation_id, "message_id": message_id, "suggestions": shown}
