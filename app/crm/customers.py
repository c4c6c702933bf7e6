"""Customers and their contacts: finding one, the rules of their data, saving and forgetting."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select, update

from app.chat.models import Visitor
from app.crm import signals
from app.crm.fields import check_field_value, custom_fields
from app.crm.models import Customer, CustomerEmail, CustomerPhone, CustomerTag
from app.crm.schemas import (
    MAX_EMAILS,
    MAX_PHONES,
    MAX_TAGS,  # noqa: F401  (app/crm/service.py names it from here)
    CustomerInput,
)
from app.crm.values import shop_country
from app.schemas import checked
from tenants.db import db, scoped_get, utcnow
from tenants.errors import ServiceError
from tenants.models import Membership


def customer_or_404(customer_id) -> Customer:
    try:
        customer = scoped_get(Customer, int(customer_id))
    except (TypeError, ValueError):
        customer = None
    if customer is None:
        raise ServiceError("not_found", field="customer_id")
    return customer


def live(customer: Customer | None) -> Customer | None:
    """Follow merges to the customer that lives on."""
    seen = 0
    while customer is not None and customer.merged_into_id and seen < 20:
        customer, seen = scoped_get(Customer, customer.merged_into_id), seen + 1
    return customer


def find_by_contact(
    external_id: str | None = None, phones: Iterable[str] = (), emails: Iterable[str] = ()
) -> Customer | None:
    """The customer with this external id, else one of these (normalised) phones or e-mails."""
    if external_id:
        found = db.scalar(select(Customer).where(Customer.external_id == external_id))
        if found is not None:
            return live(found)
    phones, emails = list(phones), list(emails)
    if phones:
        found = db.scalar(
            select(Customer).join(CustomerPhone).where(CustomerPhone.e164.in_(phones)).limit(1)
        )
        if found is not None:
            return live(found)
    if emails:
        found = db.scalar(
            select(Customer).join(CustomerEmail).where(CustomerEmail.email.in_(emails)).limit(1)
        )
        if found is not None:
            return live(found)
    return None


def customer_names(ids: Iterable[int | None]) -> dict[int, str]:
    """Customer id -> name for the customers a list of other things names (one query)."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(db.execute(select(Customer.id, Customer.name).where(Customer.id.in_(wanted))).all())


def has_identity(customer: Customer) -> bool:
    """Something that names the customer: a name, external id, phone or e-mail (a company
    or tags alone name nobody)."""
    return bool(customer.name or customer.external_id or customer.phones or customer.emails)


def _owner_id(raw) -> int | None:
    if raw in (None, ""):
        return None
    try:
        member = scoped_get(Membership, int(raw))
    except (TypeError, ValueError):
        member = None
    if member is None or member.status != "active":
        raise ServiceError("owner_invalid", field="owner_id")
    return member.id


# What null stores, for a key where it is not None.
STORED_FOR_NULL = {"name": "", "company": "", "phones": [], "emails": [], "tags": [], "fields": {}}


def _clean(data: dict, customer: Customer | None) -> dict:
    """Validate every given key of a customer's data; raise on the first bad one. Its shape
    and the rules of each field are the customer's model's (app/crm/schemas.py); here, what
    needs the shop's data: an external id, phone or e-mail no other customer has, known
    custom fields, an active member as owner (given as a form gives it: text or a number)."""
    given = {key: _distinct(value) for key, value in data.items() if key != "owner_id"}
    valid = checked(CustomerInput, given, {"region": shop_country()})
    clean = {
        key: STORED_FOR_NULL.get(key) if value is None else value
        for key, value in valid.model_dump(exclude_unset=True).items()
    }
    external_id = clean.get("external_id")
    if external_id:
        other = _held_by_another(Customer.id, Customer.external_id, external_id, customer)
        if other:
            raise ServiceError(
                "external_id_taken", field="external_id", value=external_id, customer_id=other
            )
    for phone in clean.get("phones", ()):
        other = _held_by_another(CustomerPhone.customer_id, CustomerPhone.e164, phone, customer)
        if other:
            raise ServiceError("phone_taken", field="phones", value=phone, customer_id=other)
    for email in clean.get("emails", ()):
        other = _held_by_another(CustomerEmail.customer_id, CustomerEmail.email, email, customer)
        if other:
            raise ServiceError(
                "email_taken_customer", field="emails", value=email, customer_id=other
            )
    if "fields" in clean:
        clean["fields"] = _field_values(clean["fields"], customer)
    if "owner_id" in data:
        clean["owner_id"] = _owner_id(data["owner_id"])
    return clean


def _distinct(value):
    """A list once each: the console may repeat an entry (a tag added twice), which counts once
    against a list's limit here (the API's document counts entries as sent)."""
    if isinstance(value, list) and all(isinstance(entry, str) for entry in value):
        return list(dict.fromkeys(value))
    return value


def _field_values(given: dict, customer: Customer | None) -> dict:
    """The customer's custom fields with the given keys set (None clears one)."""
    known = {f.key: f for f in custom_fields()}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ServiceError("field_unknown", field="fields", key=unknown[0])
    values = dict(customer.fields or {}) if customer else {}
    for key, raw in given.items():
        value = check_field_value(known[key], raw)
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return values


def _held_by_another(owner_id, key, value, customer: Customer | None) -> int | None:
    """The id of the other customer of the shop whose ``key`` is ``value`` (one owner each)."""
    other = db.scalar(select(owner_id).where(key == value))
    return other if other and (customer is None or other != customer.id) else None


def save_customer(
    customer: Customer | None, data: dict, source: str = "manual", author_id: int | None = None
) -> Customer:
    """Create (customer None) or change a customer from the keys present in ``data``."""
    clean = _clean(data, customer)
    created = customer is None
    if created:
        customer = Customer(source=source)
        db.add(customer)
    for key in ("name", "company", "external_id", "owner_id", "fields"):
        if key in clean:
            setattr(customer, key, clean[key])
    customer.name_key = (customer.name or "").lower()
    added_phones = []
    if "phones" in clean:
        added_phones = _replace(
            customer.phones, clean["phones"], lambda v: CustomerPhone(e164=v), "e164"
        )
    if "emails" in clean:
        _replace(customer.emails, clean["emails"], lambda v: CustomerEmail(email=v), "email")
    if "tags" in clean:
        _replace(customer.tags, clean["tags"], lambda v: CustomerTag(tag=v), "tag")
    customer.updated_at = utcnow()
    db.flush()
    if added_phones:
        signals.phones_added.send(customer, phones=added_phones)
    return customer


def _replace(rows: list, values: list[str], make, attr: str) -> list[str]:
    """Make ``rows`` hold ``values``; returns the values that are new."""
    keep = set(values)
    for row in [r for r in rows if getattr(r, attr) not in keep]:
        rows.remove(row)
    have = {getattr(r, attr) for r in rows}
    # deletes first, so a value moving between rows never trips the unique constraint
    db.flush()
    added = [v for v in values if v not in have]
    rows.extend(make(v) for v in added)
    return added


def add_contacts(customer: Customer, phones: Iterable[str] = (), emails: Iterable[str] = ()):
    """Add the phones and e-mails not yet anyone's; those another customer has stay theirs."""
    added_phones = []
    for phone in phones:
        taken = db.scalar(select(CustomerPhone.id).where(CustomerPhone.e164 == phone))
        if phone and not taken and len(customer.phones) < MAX_PHONES:
            customer.phones.append(CustomerPhone(e164=phone))
            added_phones.append(phone)
    for email in emails:
        taken = db.scalar(select(CustomerEmail.id).where(CustomerEmail.email == email))
        if email and not taken and len(customer.emails) < MAX_EMAILS:
            customer.emails.append(CustomerEmail(email=email))
    db.flush()
    if added_phones:
        signals.phones_added.send(customer, phones=added_phones)


def customer_snapshot(customer: Customer) -> dict:
    return {
        "id": customer.id,
        "name": customer.name,
        "external_id": customer.external_id,
        "company": customer.company,
        "phones": [p.e164 for p in customer.phones],
        "emails": [e.email for e in customer.emails],
        "tags": [t.tag for t in customer.tags],
        "fields": dict(customer.fields or {}),
    }


def owners() -> list[Membership]:
    return list(
        db.scalars(select(Membership).where(Membership.status == "active").order_by(Membership.id))
    )


def delete_customer(customer: Customer) -> None:
    """Forget a customer (a privacy request): their visitors stay, unlinked."""
    db.execute(update(Visitor).where(Visitor.customer_id == customer.id).values(customer_id=None))
    db.execute(delete(Customer).where(Customer.merged_into_id == customer.id))
    db.delete(customer)
    db.flush()
