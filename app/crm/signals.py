"""What the CRM publishes (tenants/events.py), each with the changed object as the sender."""

from __future__ import annotations

from tenants.events import domain_event

# A visitor is now known as a customer (sender: the Visitor; ``customer``), however it came to
# be: the shop's login, a phone or e-mail in a chat or a left message, an agent's link.
visitor_identified = domain_event("visitor_identified")
# Two records of one person became one (sender: the kept Customer; ``source_id``: the other).
customer_merged = domain_event("customer_merged")
# A new order (sender: the Order), from the API, an import or the demo data.
order_recorded = domain_event("order_recorded")
# An order's status changed (sender: the Order; ``previous``: the status it had). A new
# order's first status comes with ``order_recorded``.
order_status_changed = domain_event("order_status_changed")
# An order's status, total or items changed (sender: the Order), after any status event.
order_changed = domain_event("order_changed")
# A customer has phone numbers they did not have (sender: the Customer; ``phones``: E.164),
# entered, linked by an agent, or learnt from a chat, an order or the API: what other modules
# knew of those numbers (calls) can join the customer.
phones_added = domain_event("phones_added")
