"""The CRM's rules as the rest of Huike calls them: one name to import (``from app.crm import
service as crm``) instead of knowing which room a rule lives in.

The rooms: customers.py (customers and their contacts), fields.py (custom fields),
timeline.py, orders.py, linking.py (which customer a visitor is: identity and recognition),
merge.py, search.py, values.py (phones, tags, amounts and times as they are read). They import
each other directly, so what depends on what shows; everything else calls this module.

Everything here runs inside the bound tenant. Recognition and identity run for every shop, so
what a trial collects is there when the shop upgrades; only the console and the API are gated.
"""

from __future__ import annotations

from app.crm.customers import (
    MAX_EMAILS,
    MAX_PHONES,
    MAX_TAGS,
    add_contacts,
    customer_names,
    customer_or_404,
    delete_customer,
    find_by_contact,
    has_identity,
    live,
    owners,
    save_customer,
)
from app.crm.facts import customer_facts, latest_visitor
from app.crm.fields import (
    custom_fields,
    delete_custom_field,
    save_custom_field,
)
from app.crm.linking import (
    identify,
    identity_hash,
    link_visitor,
    recognise,
    rotate_identity_secret,
    visit_summary,
)
from app.crm.merge import merge
from app.crm.orders import order_by_external_id, update_order, upsert_order
from app.crm.search import FILTER_KEYS, search
from app.crm.timeline import (
    TIMELINE_PAGE,
    add_chat_entry,
    add_entry,
    add_left_message_entry,
    add_note,
    timeline,
    update_entry,
)
from app.crm.values import MAX_AMOUNT, normalize_phone, normalize_tag, parse_datetime

__all__ = [
    "FILTER_KEYS",
    "MAX_AMOUNT",
    "MAX_EMAILS",
    "MAX_PHONES",
    "MAX_TAGS",
    "TIMELINE_PAGE",
    "add_chat_entry",
    "add_contacts",
    "add_entry",
    "add_left_message_entry",
    "add_note",
    "custom_fields",
    "customer_facts",
    "customer_names",
    "customer_or_404",
    "delete_custom_field",
    "delete_customer",
    "find_by_contact",
    "has_identity",
    "identify",
    "identity_hash",
    "latest_visitor",
    "link_visitor",
    "live",
    "merge",
    "normalize_phone",
    "normalize_tag",
    "order_by_external_id",
    "owners",
    "parse_datetime",
    "recognise",
    "rotate_identity_secret",
    "save_custom_field",
    "save_customer",
    "search",
    "timeline",
    "update_entry",
    "update_order",
    "upsert_order",
    "visit_summary",
]
