"""Recognising returning customers (熟客识别) from what visitors do in the chat: the shop's
login (``Huike.identify``), a phone or e-mail written in a chat or a left message, a new visit.

The CRM's listeners (``app.crm.listeners``) call these when the chat's events happen. They run
for every shop, so what a trial collects is there after an upgrade (only the console's side
panel is gated), and they cost nothing for a visitor who is not a customer beyond one regular
expression over a chat message.
"""

from __future__ import annotations

import re

import phonenumbers
from sqlalchemy import select, update

from app.chat import service as chat
from app.chat.models import Conversation, LeftMessage, PageView, Visitor
from app.crm import service as crm
from app.crm.models import Customer
from tenants.db import current_tenant_id, db, scoped_get
from tenants.errors import ServiceError
from tenants.models import Tenant
from tenants.service import normalize_email

# Most chat messages hold neither an "@" nor a run of digits: they stop here.
CONTACT_HINT = re.compile(r"@|\d[\d \-()]{5,}\d")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def identify(visitor: Visitor, tenant: Tenant, payload) -> Visitor:
    """``Huike.identify`` from the shop's page: refused unless the hash proves the id. Returns
    the visitor now bound: a new one when this browser was another signed-in buyer's (a shared
    computer), so one buyer's chats never join another's record."""
    if _signed_in_as_another(visitor, payload):
        visitor = chat.record_page_view(
            None,
            visitor.current_url,
            title=visitor.current_title,
            referrer=visitor.referrer,
            lang=visitor.lang,
            user_agent=visitor.user_agent,
            ip=visitor.ip,
        )
    customer = crm.identify(visitor, tenant.identity_secret, payload)
    # once per browser (the page identifies on every load): where the buyer signed in
    crm.add_entry(customer.id, "identify", ref_id=visitor.id, summary=visitor.current_url)
    _known(visitor, customer)
    return visitor


def _signed_in_as_another(visitor: Visitor, payload) -> bool:
    customer = customer_of(visitor)
    if customer is None or not customer.external_id or not isinstance(payload, dict):
        return False
    return customer.external_id != str(payload.get("id") or "").strip()


def left_message(visitor: Visitor | None, left: LeftMessage) -> Customer | None:
    """A left message names the customer by its phone or e-mail and joins their timeline."""
    if visitor is None:
        return None
    customer = crm.recognise(visitor, left.phone, left.email, left.name, source="left_message")
    customer = customer or customer_of(visitor)
    if customer is None:
        return None
    crm.add_left_message_entry(customer.id, left)
    _known(visitor, customer)
    return customer


def link(visitor: Visitor, phone: str, email: str) -> Customer:
    """An agent links the visitor by a phone or e-mail they gave: the customer who has it,
    else a new one. Each contact given must be valid."""
    phones = [crm.normalize_phone(phone, region())] if phone.strip() else []
    try:
        emails = [normalize_email(email)] if email.strip() else []
    except ServiceError as exc:
        raise ServiceError("email_invalid", field="email") from exc
    if not phones and not emails:
        raise ServiceError("contact_needed", field="phone")
    phone, email = (phones or [""])[0], (emails or [""])[0]
    customer = crm.recognise(visitor, phone, email, visitor.name, source="manual")
    _known(visitor, customer)
    return customer


def contacts_in(text: str | None, country: str) -> tuple[str, str] | None:
    """The first phone number (read in the shop's ``country``) and e-mail address written in a
    chat message, or None. No database: most messages end at the regular expression."""
    if not text or not CONTACT_HINT.search(text):
        return None
    phones = [
        phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        for match in phonenumbers.PhoneNumberMatcher(text, country)
    ]
    emails = EMAIL.findall(text)
    if not phones and not emails:
        return None
    return (phones[0] if phones else "", emails[0] if emails else "")


def chat_contacts(visitor_id: int, phone: str, email: str) -> Visitor | None:
    """A phone or e-mail the visitor wrote in the chat (``contacts_in``): the visitor, now known
    as a customer, or None."""
    visitor = scoped_get(Visitor, visitor_id)
    if visitor is None:
        return None
    customer = crm.recognise(visitor, phone, email, visitor.name, source="chat")
    if customer is None:
        return None
    _known(visitor, customer)
    return visitor


def conversation_started(conversation: Conversation) -> None:
    """A known customer's new chat goes on their timeline when it starts (not per message)."""
    customer_id = conversation.visitor.customer_id
    if customer_id is not None:
        crm.add_chat_entry(customer_id, conversation)


def page_viewed(visitor: Visitor) -> None:
    """A known customer's new visit (its first page) goes on their timeline."""
    if visitor.customer_id is not None and visitor.page_count == 1:
        note_visit(visitor)


def note_visit(visitor: Visitor) -> None:
    """The visitor's current visit on their customer's timeline, once: the entry is keyed by
    the visit's landing page view."""
    landing = db.scalar(
        select(PageView)
        .where(PageView.visitor_id == visitor.id, PageView.viewed_at >= visitor.visit_started_at)
        .order_by(PageView.viewed_at, PageView.id)
        .limit(1)
    )
    if landing is None or visitor.customer_id is None:
        return
    crm.add_entry(
        visitor.customer_id,
        "visit",
        ref_id=landing.id,
        summary=landing.title or landing.url,
        data={
            "url": landing.url,
            "source": visitor.source,
            "keyword": visitor.keyword,
            "referrer": visitor.referrer,
        },
        occurred_at=visitor.visit_started_at,
    )
    db.execute(
        update(Customer)
        .where(Customer.id == visitor.customer_id)
        .values(last_seen_at=visitor.last_seen_at)
    )


def known_before(visitor: Visitor) -> bool:
    """A customer the shop knew before this visit (earlier chats, orders, an import). Only a
    linked visitor costs a query."""
    customer = customer_of(visitor)
    return customer is not None and (
        customer.order_count > 0 or customer.created_at < visitor.visit_started_at
    )


def customer_of(visitor: Visitor) -> Customer | None:
    if visitor.customer_id is None:
        return None
    return crm.live(scoped_get(Customer, visitor.customer_id))


def _known(visitor: Visitor, customer: Customer) -> None:
    """Agents call a known visitor by the name on the customer's record, everywhere in the
    console (the chat is free, so names show on every plan); this visit joins the timeline."""
    if customer.name:
        visitor.name = customer.name
    note_visit(visitor)


def region() -> str:
    """The shop's country: phone numbers written without a country code are read in it."""
    tenant = scoped_get(Tenant, current_tenant_id())
    return tenant.country if tenant else "CN"
