"""Customers, their contacts and timeline, orders, recognition and merge.

Everything here runs inside the bound tenant. Recognition and identity run for every shop, so
what a trial collects is there when the shop upgrades; only the console and the API are gated.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import (
    JSON,
    Integer,
    Select,
    Text,
    any_,
    cast,
    delete,
    exists,
    func,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from app.chat.models import Conversation, LeftMessage, Visitor
from app.crm.models import (
    FIELD_KINDS,
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomerTag,
    CustomField,
    Order,
    TimelineEntry,
)
from tenants.db import current_tenant_id, db, scoped_get, utcnow
from tenants.errors import ServiceError
from tenants.models import Membership, Tenant, new_identity_secret
from tenants.service import normalize_email

MAX_PHONES = MAX_EMAILS = 10
MAX_TAGS = 30
MAX_TAG = 40
MAX_NOTE = 5000
TIMELINE_PAGE = 50


# --- input -----------------------------------------------------------------------------


def normalize_phone(raw: str, region: str = "CN") -> str:
    """E.164 (+8613812345678); a number without a country code is read in the shop's country."""
    try:
        number = phonenumbers.parse((raw or "").strip(), region or "CN")
    except phonenumbers.NumberParseException as exc:
        raise ServiceError("phone_invalid", field="phones", value=raw) from exc
    if not phonenumbers.is_valid_number(number):
        raise ServiceError("phone_invalid", field="phones", value=raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def looks_like_phone(text: str) -> bool:
    digits = sum(c.isdigit() for c in text)
    return digits >= 5 and all(c.isdigit() or c in "+-() ." for c in text.strip())


def normalize_tag(raw: str) -> str:
    tag = " ".join((raw or "").split())[:MAX_TAG]
    return tag


# The largest amount, in major units: its minor units fit the integer columns (2^31 - 1 on
# PostgreSQL), where 10^12 overflowed into a 500.
MAX_AMOUNT = 10_000_000


def parse_money(raw, field: str = "total") -> int:
    """A decimal amount in major units ("199.5", 199.5) to minor units (19950)."""
    try:
        amount = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ServiceError("amount_invalid", field=field) from exc
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise ServiceError("amount_invalid", field=field)
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_datetime(raw, field: str) -> datetime:
    if isinstance(raw, datetime):
        value = raw
    else:
        try:
            value = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ServiceError("datetime_invalid", field=field) from exc
    if value.tzinfo is None:
        raise ServiceError("datetime_invalid", field=field)
    return value


def _tenant() -> Tenant | None:
    tenant_id = current_tenant_id()
    return scoped_get(Tenant, tenant_id) if tenant_id else None


def _country() -> str:
    tenant = _tenant()
    return tenant.country if tenant else "CN"


# --- custom fields -----------------------------------------------------------------------


def custom_fields() -> list[CustomField]:
    return list(db.scalars(select(CustomField).order_by(CustomField.position, CustomField.id)))


def check_field_value(field: CustomField, raw):
    """A custom field's value as stored (JSON): text, number, ISO date or one of the choices."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    key = f"fields.{field.key}"
    if field.kind == "number":
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation as exc:
            raise ServiceError("number_expected", field=key) from exc
        if not number.is_finite():
            raise ServiceError("number_expected", field=key)
        return int(number) if number == number.to_integral_value() else float(number)
    if field.kind == "date":
        try:
            return date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError as exc:
            raise ServiceError("date_invalid", field=key) from exc
    text = str(raw).strip()[:1000]
    if field.kind == "choice" and text not in field.choices:
        raise ServiceError("choice_invalid", field=key, choices=", ".join(field.choices))
    return text


def save_custom_field(
    field: CustomField | None, key: str, label: str, kind: str, choices: Iterable[str] = ()
) -> CustomField:
    key, label = (key or "").strip().lower(), (label or "").strip()
    if field is None:
        if not key or not key.replace("_", "").isalnum() or not key[0].isalpha() or len(key) > 40:
            raise ServiceError("field_key_invalid", field="key")
        if db.scalar(select(CustomField.id).where(CustomField.key == key)):
            raise ServiceError("field_key_taken", field="key")
    if not label:
        raise ServiceError("required", field="label")
    if kind not in FIELD_KINDS:
        raise ServiceError("field_kind_invalid", field="kind")
    options = [c.strip()[:80] for c in choices if c and c.strip()]
    if kind == "choice" and not options:
        raise ServiceError("choices_required", field="choices")
    if field is None:
        position = db.scalar(select(func.count(CustomField.id))) or 0
        field = CustomField(key=key, position=position)
        db.add(field)
    field.label, field.kind = label[:80], kind
    field.choices = list(dict.fromkeys(options)) if kind == "choice" else []
    db.flush()
    return field


def delete_custom_field(field: CustomField) -> None:
    """Remove the field and its values from every customer, so a later field may reuse the key
    with another kind. The customers keep their place in the list (``updated_at`` stays)."""
    if db.connection().dialect.name == "postgresql":
        holds = cast(Customer.fields, JSONB).has_key(field.key)
        without = cast(cast(Customer.fields, JSONB).op("-")(field.key), JSON)
    else:
        path = f"$.{field.key}"  # a key is letters, digits and _: nothing to quote
        holds = func.json_type(Customer.fields, path).is_not(None)
        without = func.json_remove(Customer.fields, path)
    db.execute(update(Customer).where(holds).values(fields=without, updated_at=Customer.updated_at))
    db.delete(field)
    db.flush()


# --- customers -----------------------------------------------------------------------------


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


def _clean(data: dict, customer: Customer | None) -> dict:
    """Validate every given key of a customer's data; raise on the first bad one."""
    clean: dict = {}
    if "name" in data:
        name = " ".join(str(data["name"] or "").split())
        if len(name) > 120:
            raise ServiceError("too_long", field="name", max=120)
        clean["name"] = name
    if "company" in data:
        company = str(data["company"] or "").strip()
        if len(company) > 200:
            raise ServiceError("too_long", field="company", max=200)
        clean["company"] = company
    if "external_id" in data:
        external_id = str(data["external_id"] or "").strip() or None
        if external_id and len(external_id) > 128:
            raise ServiceError("too_long", field="external_id", max=128)
        if external_id:
            other = _held_by_another(Customer.id, Customer.external_id, external_id, customer)
            if other:
                raise ServiceError(
                    "external_id_taken", field="external_id", value=external_id, customer_id=other
                )
        clean["external_id"] = external_id
    if "phones" in data:
        region = _country()
        given = [p for p in data["phones"] or () if p and p.strip()]  # blank: no phone
        phones = list(dict.fromkeys(normalize_phone(p, region) for p in given))
        if len(phones) > MAX_PHONES:
            raise ServiceError("too_many", field="phones", max=MAX_PHONES)
        for phone in phones:
            other = _held_by_another(CustomerPhone.customer_id, CustomerPhone.e164, phone, customer)
            if other:
                raise ServiceError("phone_taken", field="phones", value=phone, customer_id=other)
        clean["phones"] = phones
    if "emails" in data:
        emails = []
        for raw in data["emails"] or ():
            if raw and raw.strip():  # blank: no e-mail
                try:
                    emails.append(normalize_email(raw))
                except ServiceError as exc:
                    raise ServiceError("email_invalid", field="emails", value=raw) from exc
        emails = list(dict.fromkeys(emails))
        if len(emails) > MAX_EMAILS:
            raise ServiceError("too_many", field="emails", max=MAX_EMAILS)
        for email in emails:
            other = _held_by_another(
                CustomerEmail.customer_id, CustomerEmail.email, email, customer
            )
            if other:
                raise ServiceError(
                    "email_taken_customer", field="emails", value=email, customer_id=other
                )
        clean["emails"] = emails
    if "tags" in data:
        tags = list(dict.fromkeys(t for t in map(normalize_tag, data["tags"] or ()) if t))
        if len(tags) > MAX_TAGS:
            raise ServiceError("too_many", field="tags", max=MAX_TAGS)
        clean["tags"] = tags
    if "fields" in data:
        given = data["fields"] or {}
        if not isinstance(given, dict):
            raise ServiceError("fields_invalid", field="fields")
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
        clean["fields"] = values
    if "owner_id" in data:
        clean["owner_id"] = _owner_id(data["owner_id"])
    return clean


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
    if "phones" in clean:
        _replace(customer.phones, clean["phones"], lambda v: CustomerPhone(e164=v), "e164")
    if "emails" in clean:
        _replace(customer.emails, clean["emails"], lambda v: CustomerEmail(email=v), "email")
    if "tags" in clean:
        _replace(customer.tags, clean["tags"], lambda v: CustomerTag(tag=v), "tag")
    customer.updated_at = utcnow()
    db.flush()
    return customer


def _replace(rows: list, values: list[str], make, attr: str) -> None:
    keep = set(values)
    for row in [r for r in rows if getattr(r, attr) not in keep]:
        rows.remove(row)
    have = {getattr(r, attr) for r in rows}
    # deletes first, so a value moving between rows never trips the unique constraint
    db.flush()
    rows.extend(make(v) for v in values if v not in have)


def add_contacts(customer: Customer, phones: Iterable[str] = (), emails: Iterable[str] = ()):
    """Add the phones and e-mails not yet anyone's; those another customer has stay theirs."""
    for phone in phones:
        taken = db.scalar(select(CustomerPhone.id).where(CustomerPhone.e164 == phone))
        if phone and not taken and len(customer.phones) < MAX_PHONES:
            customer.phones.append(CustomerPhone(e164=phone))
    for email in emails:
        taken = db.scalar(select(CustomerEmail.id).where(CustomerEmail.email == email))
        if email and not taken and len(customer.emails) < MAX_EMAILS:
            customer.emails.append(CustomerEmail(email=email))
    db.flush()


# --- timeline --------------------------------------------------------------------------------


def add_entry(
    customer_id: int,
    kind: str,
    *,
    ref_id: int | None = None,
    summary: str = "",
    data: dict | None = None,
    occurred_at: datetime | None = None,
    author_id: int | None = None,
) -> TimelineEntry | None:
    """One interaction on the customer's timeline; an entry about the same row is added once."""
    if ref_id is not None:
        found = db.scalar(
            select(TimelineEntry).where(
                TimelineEntry.customer_id == customer_id,
                TimelineEntry.kind == kind,
                TimelineEntry.ref_id == ref_id,
            )
        )
        if found is not None:
            return found
    entry = TimelineEntry(
        customer_id=customer_id,
        kind=kind,
        ref_id=ref_id,
        summary=(summary or "")[:2000],
        data=data or {},
        occurred_at=occurred_at or utcnow(),
        author_id=author_id,
    )
    db.add(entry)
    db.flush()
    return entry


def add_note(customer: Customer, author_id: int, text: str) -> TimelineEntry:
    text = (text or "").strip()
    if not text:
        raise ServiceError("required", field="text")
    if len(text) > MAX_NOTE:
        raise ServiceError("too_long", field="text", max=MAX_NOTE)
    customer.updated_at = utcnow()
    return add_entry(customer.id, "note", summary=text, author_id=author_id)


def timeline(
    customer_id: int, before: tuple[datetime, int] | None = None, limit: int = TIMELINE_PAGE
) -> list[TimelineEntry]:
    """Newest first, paged by (occurred_at, id) of the last entry seen: fast at any depth."""
    query = select(TimelineEntry).where(TimelineEntry.customer_id == customer_id)
    if before is not None:
        # a row comparison, so the index (customer_id, occurred_at, id) starts at the cursor;
        # the equivalent OR form read every newer entry first (all 5,000 at the last page)
        query = query.where(tuple_(TimelineEntry.occurred_at, TimelineEntry.id) < tuple(before))
    query = query.order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc())
    return list(db.scalars(query.limit(max(1, min(limit, 200)))))


# --- orders --------------------------------------------------------------------------------

ORDER_STATUS_MAX = 32


def _order_customer(given: dict) -> Customer:
    """The order's customer by external id, phone or e-mail; a new one when none matches."""
    if not isinstance(given, dict):
        raise ServiceError("customer_required", field="customer")
    external_id = str(given.get("external_id") or "").strip() or None
    region = _country()
    phones = []
    if given.get("phone"):
        try:
            phones = [normalize_phone(given["phone"], region)]
        except ServiceError as exc:
            raise ServiceError(
                "phone_invalid", field="customer.phone", value=given["phone"]
            ) from exc
    emails = []
    if given.get("email"):
        try:
            emails = [normalize_email(given["email"])]
        except ServiceError as exc:
            raise ServiceError("email_invalid", field="customer.email") from exc
    if not (external_id or phones or emails):
        raise ServiceError("customer_required", field="customer")
    customer = find_by_contact(external_id, phones, emails)
    if customer is not None and external_id and customer.external_id not in (None, external_id):
        customer = None  # the contact is another of the shop's users: this order is not theirs
    if customer is None:
        data = {"name": given.get("name") or "", "external_id": external_id}
        customer = save_customer(None, data, source="order")
    add_contacts(customer, phones, emails)
    if given.get("name") and not customer.name:
        customer.name, customer.name_key = given["name"][:120], given["name"][:120].lower()
    return customer


def _status(raw) -> str:
    status = str(raw or "").strip().lower()
    if not status or len(status) > ORDER_STATUS_MAX:
        raise ServiceError("status_invalid", field="status")
    return status


def _items(raw) -> list:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list) or len(raw) > 200:
        raise ServiceError("items_invalid", field="items")
    items = []
    for item in raw:
        if not isinstance(item, dict) or not str(item.get("name") or "").strip():
            raise ServiceError("items_invalid", field="items")
        try:
            quantity = int(item.get("quantity", 1))
        except (TypeError, ValueError) as exc:
            raise ServiceError("items_invalid", field="items") from exc
        price = item.get("price")
        items.append(
            {
                "name": str(item["name"]).strip()[:200],
                "quantity": quantity,
                "price": parse_money(price, "items") if price not in (None, "") else None,
            }
        )
    return items


def upsert_order(payload: dict) -> tuple[Order, bool]:
    """Create the order, or, when the shop's order id is known, apply what changed (a status
    change lands on the timeline). Returns (order, created). Sending the same order twice
    changes nothing the second time."""
    if not isinstance(payload, dict):
        raise ServiceError("body_invalid")
    external_id = str(payload.get("order_id") or "").strip()
    if not external_id or len(external_id) > 128:
        raise ServiceError("required", field="order_id")
    order = db.scalar(select(Order).where(Order.external_id == external_id))
    if order is not None:
        changes = {k: payload[k] for k in ("status", "total", "items") if k in payload}
        update_order(order, changes)
        return order, False
    status = _status(payload.get("status") or "placed")
    total = parse_money(payload.get("total", 0))
    currency = str(payload.get("currency") or "CNY").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ServiceError("currency_invalid", field="currency")
    placed_at = (
        parse_datetime(payload["placed_at"], "placed_at") if payload.get("placed_at") else utcnow()
    )
    items = _items(payload.get("items"))
    customer = _order_customer(payload.get("customer"))
    order = Order(
        external_id=external_id,
        customer_id=customer.id,
        status=status,
        total=total,
        currency=currency,
        items=items,
        placed_at=placed_at,
    )
    db.add(order)
    db.flush()
    add_entry(
        customer.id,
        "order",
        ref_id=order.id,
        summary=external_id,
        data={"total": total, "currency": currency, "status": status, "items": len(items)},
        occurred_at=placed_at,
    )
    refresh_totals(customer)
    return order, True


def update_order(order: Order, changes: dict) -> Order:
    """Apply a status (and total/items) change; the same values again are a no-op."""
    if "status" in changes:
        status = _status(changes["status"])
        if status != order.status:
            add_entry(
                order.customer_id,
                "order_status",
                summary=order.external_id,
                data={"from": order.status, "to": status, "order_id": order.id},
            )
            order.status = status
    if "total" in changes:
        order.total = parse_money(changes["total"])
    if "items" in changes:
        order.items = _items(changes["items"])
    db.flush()
    refresh_totals(scoped_get(Customer, order.customer_id))
    return order


def order_by_external_id(external_id: str) -> Order:
    order = db.scalar(select(Order).where(Order.external_id == str(external_id)))
    if order is None:
        raise ServiceError("not_found", field="order_id")
    return order


# Orders in these states do not count towards a customer's revenue.
UNCOUNTED = ("cancelled", "canceled", "refunded")


def refresh_totals(customer: Customer) -> None:
    counted = select(
        func.count(Order.id), func.coalesce(func.sum(Order.total), 0), func.max(Order.placed_at)
    ).where(Order.customer_id == customer.id, Order.status.not_in(UNCOUNTED))
    count, revenue, last = db.execute(counted).one()
    customer.order_count, customer.revenue, customer.last_order_at = count, revenue, last
    db.flush()


# --- recognition and identity --------------------------------------------------------------


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


def add_chat_entry(customer_id: int, conversation: Conversation) -> None:
    add_entry(
        customer_id,
        "chat",
        ref_id=conversation.id,
        summary=conversation.last_text,
        data={"page_url": conversation.page_url},
        occurred_at=conversation.created_at,
    )


def add_left_message_entry(customer_id: int, left: LeftMessage) -> None:
    add_entry(
        customer_id,
        "left_message",
        ref_id=left.id,
        summary=left.body[:300],
        occurred_at=left.created_at,
    )


def _contacts_if_valid(phone, email) -> tuple[list[str], list[str]]:
    phones, emails = [], []
    with contextlib.suppress(ServiceError):
        phones = [normalize_phone(str(phone), _country())] if phone else []
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
    customer = db.scalar(select(Customer).where(Customer.external_id == external_id))
    customer = live(customer)
    if customer is None:
        customer = find_by_contact(None, phones, emails)
        if customer is not None and customer.external_id:
            customer = None  # that contact belongs to another of the shop's users
        if customer is None:
            customer = save_customer(None, {}, source="identify")
        customer.external_id = external_id
    name = " ".join(str(payload.get("name") or "").split())[:120]
    if name:
        customer.name, customer.name_key = name, name.lower()
    add_contacts(customer, phones, emails)
    link_visitor(visitor, customer)
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


# --- merge -----------------------------------------------------------------------------------


def merge(target: Customer, source: Customer, author_id: int | None = None) -> Customer:
    """Fold ``source`` into ``target``: contacts, tags, fields, orders, visitors and timeline
    move over; ``source`` stays as a pointer to ``target`` so its id still resolves."""
    if target.id == source.id:
        raise ServiceError("merge_same", field="source_id")
    if target.merged_into_id or source.merged_into_id:
        raise ServiceError("merge_merged", field="source_id")
    snapshot = customer_snapshot(source)
    phones = [p.e164 for p in source.phones]
    emails = [e.email for e in source.emails]
    tags = [t.tag for t in source.tags]
    source.phones.clear()
    source.emails.clear()
    source.tags.clear()
    db.flush()
    add_contacts(target, phones, emails)
    have = {t.tag for t in target.tags}
    target.tags.extend(CustomerTag(tag=t) for t in tags if t not in have)
    target.fields = {**(source.fields or {}), **(target.fields or {})}
    for attr in ("name", "company", "owner_id"):
        if not getattr(target, attr) and getattr(source, attr):
            setattr(target, attr, getattr(source, attr))
    target.name_key = (target.name or "").lower()
    if not target.external_id and source.external_id:
        external_id, source.external_id = source.external_id, None
        db.flush()
        target.external_id = external_id
    for model in (Order, TimelineEntry):
        db.execute(
            update(model).where(model.customer_id == source.id).values(customer_id=target.id)
        )
    db.execute(
        update(Visitor).where(Visitor.customer_id == source.id).values(customer_id=target.id)
    )
    source.merged_into_id = target.id
    source.name_key = ""
    seen = [at for at in (target.last_seen_at, source.last_seen_at) if at]
    target.last_seen_at = max(seen) if seen else None
    db.flush()
    refresh_totals(target)
    add_entry(target.id, "merge", summary=source.name, data=snapshot, author_id=author_id)
    target.updated_at = utcnow()
    db.expire(target)
    return target


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


# --- find and segment ------------------------------------------------------------------------

FILTER_KEYS = ("q", "tag", "owner_id", "has_ordered", "ordered_after", "ordered_before")
INLINE_IDS = 10_000  # customers a search text may name for their ids to go in as constants


def search(params: dict) -> Select:
    """Customers matching a filter (the console's and the API's), newest change first.

    ``q`` matches a phone (normalised, also as a prefix), an e-mail, the external id, or the
    start of the name. Bad values raise, so a mistyped filter never silently means "all"."""
    query = select(Customer).where(Customer.merged_into_id.is_(None))
    q = str(params.get("q") or "").strip()
    if q:
        query = query.where(_named_by(q))
    if params.get("tag"):
        tag = normalize_tag(str(params["tag"]))
        query = query.where(
            exists().where(CustomerTag.customer_id == Customer.id, CustomerTag.tag == tag)
        )
    if params.get("owner_id") not in (None, ""):
        if str(params["owner_id"]) == "none":
            query = query.where(Customer.owner_id.is_(None))
        else:
            try:
                query = query.where(Customer.owner_id == int(params["owner_id"]))
            except (TypeError, ValueError) as exc:
                raise ServiceError("owner_invalid", field="owner_id") from exc
    has_ordered = str(params.get("has_ordered") or "").lower()
    if has_ordered in ("1", "true", "yes"):
        query = query.where(Customer.order_count > 0)
    elif has_ordered in ("0", "false", "no"):
        query = query.where(Customer.order_count == 0)
    elif has_ordered:
        raise ServiceError("filter_invalid", field="has_ordered")
    for key, compare in (("ordered_after", ">="), ("ordered_before", "<")):
        if params.get(key):
            try:
                day = date.fromisoformat(str(params[key]))
            except ValueError as exc:
                raise ServiceError("date_invalid", field=key) from exc
            at = datetime(day.year, day.month, day.day, tzinfo=_tz())
            column = Customer.last_order_at
            query = query.where(column >= at if compare == ">=" else column < at)
    return query.order_by(Customer.updated_at.desc(), Customer.id.desc())


def _tz() -> ZoneInfo:
    tenant = _tenant()
    return ZoneInfo(tenant.timezone if tenant else "UTC")


def _named_by(q: str):
    """Customers ``q`` names, as a condition whose ids are looked up first and given to the
    list query as constants (up to INLINE_IDS; past that, the subquery). Knowing how many
    there are, PostgreSQL walks the (updated_at, id) index for a common name start (王, "m":
    thousands of customers) and stops at the page's 20th, or probes the primary key for a
    few. Given the subquery it can only guess, and for one letter it guessed a scan of the
    whole shop: 100+ ms at 100,000 customers (docs/BENCHMARKS.md, "CRM at scale")."""
    matching = _matching(q)
    found = matching.limit(INLINE_IDS + 1)
    if db.get_bind().dialect.name == "postgresql":
        # as one text, '{3,17,…}', both ways: thousands of ids cost the app next to nothing
        ids = found.subquery().c[0]
        count, listed = db.execute(select(func.count(ids), cast(func.array_agg(ids), Text))).one()
        if count <= INLINE_IDS:
            return Customer.id == any_(cast(literal(listed or "{}"), ARRAY(Integer)))
    else:
        listed = db.scalars(found).all()
        if len(listed) <= INLINE_IDS:
            return Customer.id.in_(listed)
    return Customer.id.in_(matching)


def _matching(q: str):
    """Ids of customers a search text names (one indexed lookup per kind of key)."""
    lowered = q.lower()
    selects = [
        select(Customer.id).where(_starts_with(Customer.name_key, lowered)),
        select(Customer.id).where(Customer.external_id == q),
    ]
    if "@" in q:
        selects.append(
            select(CustomerEmail.customer_id).where(_starts_with(CustomerEmail.email, lowered))
        )
    if looks_like_phone(q):
        digits = "".join(c for c in q if c.isdigit())
        region = _country()  # one query for the shop's row, not two
        try:
            e164 = normalize_phone(q, region)
            selects.append(select(CustomerPhone.customer_id).where(CustomerPhone.e164 == e164))
        except ServiceError:
            pass
        # a number typed in part: its start, with or without the country code
        prefix = "+" + digits if q.strip().startswith("+") else None
        country = phonenumbers.country_code_for_region(region)
        candidates = [prefix] if prefix else ["+" + digits, f"+{country}{digits.lstrip('0')}"]
        for start in candidates:
            selects.append(
                select(CustomerPhone.customer_id).where(_starts_with(CustomerPhone.e164, start))
            )
    union = selects[0].union(*selects[1:]).subquery()
    return select(union.c[0])


def _starts_with(column, prefix: str):
    """``column`` starts with ``prefix``, written as a byte-wise range so an index serves it.

    Not LIKE: under row-level security PostgreSQL uses an index only for leakproof operators,
    and LIKE is not one, so ``LIKE 'wang%'`` read every row of the shop (100 ms at 100,000
    customers). The pattern operators ``~>=~``/``~<~`` are leakproof and match the
    ``varchar_pattern_ops`` indexes in app/crm/models.py; SQLite compares byte-wise already."""
    if prefix.endswith(chr(0x10FFFF)):  # nothing sorts right after it: LIKE, unindexed
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return column.like(escaped + "%", escape="\\")
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # the first text after all that start so
    if db.get_bind().dialect.name == "postgresql":
        at_least, below = (column.op(o, is_comparison=True) for o in ("~>=~", "~<~"))
        return at_least(prefix) & below(upper)
    return (column >= prefix) & (column < upper)


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
