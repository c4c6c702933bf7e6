"""The robot's Socket.IO events on ``/visitor``, behind the ``robot`` feature: a click on one
of the robot's buttons, and "talk to a person"."""

from __future__ import annotations

from app.chat import automation
from app.chat.conversations import conversation_or_404
from app.chat.peers import VISITOR, Peer
from app.chat.sockets import as_int, handler
from app.features import gated_events
from app.robot import responder

robot_event = gated_events("robot", handler)


@robot_event(VISITOR, "robot_option")
def robot_option(peer: Peer, data: dict):
    """``{message_id, option}``: a "did you mean" question, a rating, or "talk to a person";
    each button is taken once."""
    option = data.get("option")
    message = automation.choose(peer.ident, as_int(data.get("message_id")), option)
    conversation = conversation_or_404(message.conversation_id)
    kind = message.options.get("kind")
    if kind == "choose":
        responder.chosen(conversation, message.id, option)
    elif kind == "rate":
        responder.rated(conversation, message.id, option)
    elif kind == "person":
        _hand_over(conversation)
    return {"ok": True, "options": message.options}


@robot_event(VISITOR, "robot_person")
def robot_person(peer: Peer, data: dict):
    """The "talk to a person" button, shown while the robot holds the chat."""
    _hand_over(automation.held_by(peer.ident))
    return {"ok": True}


def _hand_over(conversation) -> None:
    if conversation.status == "held":  # else people have it already
        responder.offer_person(conversation, asked=True)
