"""Which customer a visitor is: proven by the shop's signed identity (``Huike.identify``) or
told by a contact the visitor gave. A linked visitor's chats and left messages join the
customer's timeline."""

from __future__ import annotations

import contextlib
import hashlib
import hmac

from sqlalchemy import func, select

from app.chat.models import Conversation, LeftMessage, Visitor
from app.crm import signals
from app.crm.customers import add_contacts, find_by_contact, live, save_customer
from app.crm.models import Customer
from app.crm.timeline import add_chat_entry, add_entry, add_left_message_entry, note_duplicate
from app.crm.values import names_differ, normalize_phone, shop_country
from tenants.db import db, scoped_get
from tenants.errors import ServiceError
from tenants.models import Tenant, new_identity_secret
from tenants.service import normalize_email


def identity_hash(secret: str, external_id: str) -> str:
    """What the shop's server computes: hex HMAC-SHA256 of its user id under the shop's secret."""
    return hmac.new(secret.encode(), str(external_id).encode(), hashlib.sha256).hexdigest()


def link_visitor(visitor: Visitor, customer: Customer) -> None:
    """The visitor is this customer: bring their chats and left messages onto the timeline."""
    if visitor.customer_id == customer.id:
        return
    visitor.customer_id = customer.id
    customer.last_seen_at = max(filter(None, (customer.last_seen_at, visitor.last_seen_at)))
    for conversation in db.scalars(
        select(Conversation).where(Conversation.visitor_id == visitor.id)
    ):
        add_chat_entry(customer.id, conversation)
    for left in db.scalars(select(LeftMessage).where(LeftMessage.visitor_id == visitor.id)):
        add_left_message_entry(customer.id, left)
    db.flush()
    signals.visitor_identified.send(visitor, customer=customer)


def visit_summary(customer_id: int) -> dict:
    """What the customer's visitors (browsers) add up to: visits, last seen, where from."""
    linked = Visitor.customer_id == customer_id
    visits, last_seen = db.execute(
        select(
            func.coalesce(func.sum(Visitor.visit_count), 0), func.max(Visitor.last_seen_at)
        ).where(linked)
    ).one()
    sources = db.execute(
        select(Visitor.source, func.count(Visitor.id))
        .where(linked)
        .group_by(Visitor.source)
        .order_by(func.count(Visitor.id).desc())
    ).all()
    return {"visits": visits, "last_seen_at": last_seen, "sources": [tuple(s) for s in sources]}


def _contacts_if_valid(phone, email) -> tuple[list[str], list[str]]:
    phones, emails = [], []
    with contextlib.suppress(ServiceError):
        phones = [normalize_phone(str(phone), shop_country())] if phone else []
    with contextlib.suppress(ServiceError):
        emails = [normalize_email(str(email))] if email else []
    return phones, emails


def identify(visitor: Visitor, secret: str, payload: dict) -> Customer:
    """``Huike.identify``: bind the visitor to the shop's user when the hash proves it."""
    if not isinstance(payload, dict):
        raise ServiceError("identity_invalid")
    external_id = str(payload.get("id") or "").strip()
    given = str(payload.get("hash") or "").strip().lower()
    if not external_id or len(external_id) > 128:
        raise ServiceError("identity_invalid", field="id")
    if not given or not hmac.compare_digest(given, identity_hash(secret, external_id)):
        raise ServiceError("identity_hash_invalid", field="hash")
    # a badly written phone or e-mail does not undo a proven identity
    phones, emails = _contacts_if_valid(payload.get("phone"), payload.get("email"))
    name = " ".join(str(payload.get("name") or "").split())[:120]
    customer = live(db.scalar(select(Customer).where(Customer.external_id == external_id)))
    if customer is None:
        customer = _for_new_id(external_id, name, phones, emails)
    elif name and name != customer.name:  # the shop's own user renamed: on the timeline
        add_entry(customer.id, "renamed", data={"from": customer.name, "to": name})
        customer.name, customer.name_key = name, name.lower()
    add_contacts(customer, phones, emails)
    link_visitor(visitor, customer)
    return customer


def _for_new_id(external_id: str, name: str, phones: list[str], emails: list[str]) -> Customer:
    """The customer a user id the shop has not sent before is: the one its phone or e-mail
    names when that one has no user id yet and no other name (the shop's user signing in
    for the first time), else a new customer. A record that is another user's, or another
    person's by name, is never taken over: both timelines note the possible duplicate."""
    found = find_by_contact(None, phones, emails)
    if found is not None and not found.external_id and not names_differ(name, found.name):
        found.external_id = external_id
        if name and not found.name:  # filled in; a name written otherwise is kept as it was
            found.name, found.name_key = name, name.lower()
        add_entry(found.id, "identity", data={"external_id": external_id, "linked": True})
        return found
    customer = save_customer(None, {"name": name}, source="identify")
    customer.external_id = external_id
    add_entry(customer.id, "identity", data={"external_id": external_id, "linked": False})
    if found is not None:
        note_duplicate(customer.id, found.id, "identify")
    return customer


def recognise(visitor: Visitor, phone: str = "", email: str = "", name: str = "", source="chat"):
    """A visitor gave a phone or e-mail (a chat form, a left message): match or add the customer.
    An identified visitor keeps their customer; the contact is added to it when free."""
    phones, emails = _contacts_if_valid(phone, email)
    if not phones and not emails:
        return None
    customer = live(scoped_get(Customer, visitor.customer_id)) if visitor.customer_id else None
    if customer is None:
        customer = find_by_contact(None, phones, emails)
    if customer is None:
        customer = save_customer(None, {"name": name}, source=source)
    add_contacts(customer, phones, emails)
    if name and not customer.name:
        customer.name, customer.name_key = name[:120], name[:120].lower()
    link_visitor(visitor, customer)
    return customer


def rotate_identity_secret(tenant: Tenant) -> str:
    tenant.identity_secret = new_identity_secret()
    db.flush()
    return tenant.identity_secret
