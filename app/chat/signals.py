"""What the chat publishes (tenants/events.py): paid modules listen, the chat imports none.

Each is sent with the changed object as the sender, inside the unit of work that made it.
"""

from __future__ import annotations

from tenants.events import domain_event

# A visitor loaded a page of the shop (sender: the Visitor, its page count already counted).
page_viewed = domain_event("page_viewed")
# A conversation began with the visitor's first message (sender: the Conversation).
conversation_opened = domain_event("conversation_opened")
# A message was stored (sender: the Message; ``visitor_id``, ``tenant_id``, and for a visitor's
# ``country``: the shop's, to read phone numbers in). Sent on the hot path: a receiver that
# needs the database binds the tenant itself, and only when it has something to do.
message_created = domain_event("message_created")
# An agent took, was given or was transferred a conversation (sender: the Conversation).
conversation_assigned = domain_event("conversation_assigned")
# A conversation ended (sender: the Conversation).
conversation_closed = domain_event("conversation_closed")
# The visitor rated the conversation, or changed their rating (sender: the Conversation).
conversation_rated = domain_event("conversation_rated")
# An automated responder (the robot) gave its held conversation to people (sender: the
# Conversation).
conversation_handed_over = domain_event("conversation_handed_over")
# A visitor left a message while nobody answered (sender: the LeftMessage; ``visitor``).
left_message_created = domain_event("left_message_created")
