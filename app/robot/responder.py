"""The robot in the visitor's chat: the chat's automated responder (app/chat/responders.py).

In the modes ``answer_first`` and ``offline`` (the latter only while nobody can answer) it
holds a new conversation and answers each of the visitor's messages from the knowledge base:
the answer with helpful / not helpful buttons, "did you mean" buttons, or a handover to
people (the leave-message form when nobody is online). A conversation an agent took, or that
was handed over, is never the robot's again. On a plan without the robot it holds nothing.
"""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from app.chat import automation
from app.chat.models import Conversation
from app.robot import service
from app.robot.models import RobotEntry, RobotQuestion, RobotSettings
from tenants.db import current_tenant_id, db, scoped_get
from tenants.errors import ServiceError
from tenants.models import Tenant
from tenants.plans import entitlements

ANSWERING = ("answer_first", "offline")
SUGGESTIONS = 3  # "did you mean" buttons at most


def mode() -> str:
    """The bound shop's mode, "off" without the robot feature (read without writing: the
    widget's pings ask it)."""
    chosen = db.scalar(select(RobotSettings.mode)) or "off"
    if chosen == "off" or not entitlements(scoped_get(Tenant, current_tenant_id())).has("robot"):
        return "off"
    return chosen


def _locale(conversation: Conversation) -> str:
    lang = conversation.visitor.lang or ""
    return "zh_CN" if lang.lower().startswith("zh") else "en"


def _rating_options() -> dict:
    return {
        "kind": "rate",
        "items": [
            {"id": "helpful", "label": _("Helpful")},
            {"id": "unhelpful", "label": _("Not helpful")},
        ],
        "chosen": None,
    }


def answer_with(conversation: Conversation, entry: RobotEntry, question: RobotQuestion) -> None:
    """The entry's answer (plain text: the widget shows links as links, never HTML)."""
    with force_locale(_locale(conversation)):
        message = automation.post(conversation, entry.answer, _rating_options())
    question.message_id = message.id


def offer_person(conversation: Conversation, asked: bool) -> int:
    """Hand the chat to people (``asked``: the visitor asked for one; else the robot is unsure):
    a short word saying so, and when nobody can answer now, the leave-message form offered
    instead. The robot's message id."""
    with force_locale(_locale(conversation)):
        if automation.someone_can_answer(conversation.group_id):
            if asked:
                said = _("Of course. A person will answer you shortly.")
            else:
                said = _("I am not sure I can answer that. A person will answer you shortly.")
            message = automation.post(conversation, said)
        else:
            message = automation.post(
                conversation,
                _("Nobody is online right now. Leave a message and we will reply soon."),
                {
                    "kind": "leave",
                    "items": [{"id": "leave", "label": _("Leave a message")}],
                    "chosen": None,
                },
            )
    automation.hand_over(conversation)
    return message.id


class Robot:
    def holds(self, conversation: Conversation) -> bool:
        chosen = mode()
        if chosen == "offline":
            return not automation.someone_can_answer(conversation.group_id)
        return chosen == "answer_first"

    def answers_when_away(self) -> bool:
        return mode() in ANSWERING

    def answer(self, conversation: Conversation, message) -> None:
        if mode() not in ANSWERING:  # switched off or the plan lapsed: people take it
            automation.hand_over(conversation)
            return
        reply = service.ask(message.body or "", "chat", conversation.id)
        question = scoped_get(RobotQuestion, reply.question_id)
        if reply.decision == "answer":
            answer_with(conversation, reply.entry, question)
        elif reply.decision == "suggest":
            with force_locale(_locale(conversation)):
                items = [{"id": str(c.entry_id), "label": c.question} for c in reply.offered]
                options = {"kind": "choose", "items": items[:SUGGESTIONS], "chosen": None}
                question.message_id = automation.post(conversation, _("Did you mean:"), options).id
        else:
            asked = reply.reason == "asked_for_person"
            question.message_id = offer_person(conversation, asked)


def chosen(conversation: Conversation, message_id: int, entry_id: str) -> None:
    """A "did you mean" button: that entry answers the question it was offered for (logged
    as answered, "chosen")."""
    if conversation.status != "held":
        raise ServiceError("robot_handed_over")
    question = db.scalar(select(RobotQuestion).where(RobotQuestion.message_id == message_id))
    entry = scoped_get(RobotEntry, int(entry_id))
    if question is None or entry is None or not entry.enabled:
        raise ServiceError("not_found", field="option")
    question.decision, question.reason, question.entry_id = "answer", "chosen", entry.id
    answer_with(conversation, entry, question)


def rated(conversation: Conversation, message_id: int, rating: str) -> None:
    """Helpful / not helpful, once per answer; after "not helpful" the visitor is offered a
    person (or the leave-message form)."""
    done = db.execute(
        update(RobotQuestion)
        .where(RobotQuestion.message_id == message_id, RobotQuestion.rating.is_(None))
        .values(rating=rating)
    )
    if not done.rowcount:
        raise ServiceError("option_taken", field="option")
    if rating == "unhelpful" and conversation.status == "held":
        with force_locale(_locale(conversation)):
            automation.post(
                conversation,
                _("Sorry that did not help. Would you like to talk to a person?"),
                {
                    "kind": "person",
                    "items": [{"id": "person", "label": _("Talk to a person")}],
                    "chosen": None,
                },
            )


robot = Robot()
