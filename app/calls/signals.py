"""What the calls module publishes (tenants/events.py), the Call as the sender.

Sent inside the unit of work that recorded the provider's event; what must wait for the commit
(socket emits, jobs) is registered with ``after_commit`` by the receiver.
"""

from __future__ import annotations

from tenants.events import domain_event

# A call we had not heard of rings (inbound or outbound): screen pop.
call_ringing = domain_event("call_ringing")
# Someone took the call (the provider's answered event, or an agent's "I took it").
call_answered = domain_event("call_answered")
# The call reached a final status — ended, missed, busy or failed (``previous``: the status it
# had). Sent again if later events correct the final status (a lost "answered" arrives late).
call_ended = domain_event("call_ended")
# An agent saved the call's notes or outcome (the call page).
call_noted = domain_event("call_noted")
# A visitor asked for a free callback in the widget (sender: the CallbackRequest).
callback_requested = domain_event("callback_requested")
