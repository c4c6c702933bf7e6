"""Automated responders: the chat's extension point for a program that answers visitors before
people do (a chatbot; the paid robot module registers one at init). The chat knows none.

A responder may *hold* a new conversation (status ``held``, Chatwoot's ``pending``): it stays
out of the agents' queue and assignment, agents still see it and may take it (then it is
``open`` and the responder is silent for good, as after ``automation.hand_over``). While a
conversation is held, each message its visitor sends is handed to the responders, in the
same unit of work, after the message is stored: they answer with ``automation.post``.
"""

from __future__ import annotations

from typing import Protocol

from app.chat.models import Conversation

HELD = "held"


class Responder(Protocol):
    def holds(self, conversation: Conversation) -> bool:
        """A conversation just opened (tenant bound): answer it first?"""

    def answer(self, conversation: Conversation, message) -> None:
        """A visitor's message (a ``Message``, or the fast path's ``VisitorText``) in a held
        conversation. Silent when it is not this responder's to answer."""

    def answers_when_away(self) -> bool:
        """Does it chat with the bound shop's visitors while nobody is online? (The widget
        then shows the chat instead of the leave-message form.)"""


RESPONDERS: list[Responder] = []


def register(responder: Responder) -> None:
    """Called once at init by the module that answers."""
    if responder not in RESPONDERS:
        RESPONDERS.append(responder)


def hold(conversation: Conversation) -> bool:
    """A new conversation: held (kept from the agents) if a responder answers it first."""
    if any(responder.holds(conversation) for responder in RESPONDERS):
        conversation.status = HELD
        return True
    return False


def answers_when_away() -> bool:
    return any(responder.answers_when_away() for responder in RESPONDERS)
