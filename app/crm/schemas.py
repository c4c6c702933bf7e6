"""The shapes of a customer and an order as they are sent to Huike, and the rules of each field
(lengths, counts, formats): declared once, for the API's validation and its OpenAPI document,
and for the service's own checks.

What needs the database stays in the service: a contact or external id another customer has,
the shop's custom fields, an owner who is an active member, an order id already known.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationInfo, WithJsonSchema

from app.crm.values import MAX_AMOUNT, normalize_phone, normalize_tag
from app.schemas import (
    MAX_ID,
    NOT_BLANK,
    OBJECT,
    OBJECTS,
    TEXT,
    TEXTS,
    WHOLE_NUMBER,
    InputModel,
    Rule,
    is_text,
    is_whole_number,
    kind,
    moment,
    refuse,
    refused_as,
    rule,
)
from tenants.errors import ServiceError
from tenants.service import normalize_email

NAME_MAX = 120
COMPANY_MAX = 200
EXTERNAL_ID_MAX = 128
MAX_PHONES = MAX_EMAILS = 10
MAX_TAGS = 30
ORDER_STATUS_MAX = 32
MAX_ITEMS = 200
MAX_QUANTITY = 1_000_000
# An amount as text: digits, and decimals after a point ("199.50"; not "1e3", not " 5").
AMOUNT_TEXT = r"[0-9]+(\.[0-9]+)?"


def _is_amount(value) -> bool:
    """Text or a number (JSON true is no number)."""
    return not isinstance(value, bool) and isinstance(value, str | int | float)


def _region(info: ValidationInfo) -> str:
    return (info.context or {}).get("region") or "CN"


# --- the customer's fields -------------------------------------------------------------------


def collapse_spaces(text: str) -> str:
    return " ".join(text.split())


def normalize_phones(given: list[str], info: ValidationInfo) -> list[str]:
    """E.164 (+8613812345678), each once; blank entries are no phone. A number without a
    country code is read in the shop's country (``region`` in the validation context)."""
    phones = []
    for raw in given:
        if raw.strip():
            try:
                phones.append(normalize_phone(raw, _region(info)))
            except ServiceError:
                raise refuse("phone_invalid", value=raw) from None
    return list(dict.fromkeys(phones))


def normalize_emails(given: list[str]) -> list[str]:
    emails = []
    for raw in given:
        if raw.strip():
            try:
                emails.append(normalize_email(raw))
            except ServiceError:
                raise refuse("email_invalid", value=raw) from None
    return list(dict.fromkeys(emails))


def normalize_tags(given: list[str]) -> list[str]:
    """Spaces collapsed, cut at MAX_TAG characters, each once; blank ones left out."""
    return list(dict.fromkeys(tag for tag in map(normalize_tag, given) if tag))


def _external_id(value):
    """The shop's own id as text: a number is kept as its digits; blank is none."""
    return str(value).strip() if value is not None else None


def _limited(maximum: int, code: str = "too_long"):
    """A text or list of at most ``maximum``: the constraint (in the JSON Schema) and the
    code it answers, with ``max``. Too many entries is the data's shape; too long a text,
    a rule."""
    return Field(max_length=maximum), refused_as(code, shape=code == "too_many", max=maximum)


def _none_if_blank(text: str) -> str | None:
    return text or None


ID_SCHEMA = {
    "oneOf": [{"type": "string", "maxLength": EXTERNAL_ID_MAX}, {"type": "integer"}],
    "description": "The shop's own id; a number is kept as text. At most 128 characters.",
}
ID_KIND = kind("string or integer", lambda v: is_text(v) or isinstance(v, int))

Name = Annotated[str, rule(collapse_spaces), *_limited(NAME_MAX), TEXT]
Company = Annotated[str, rule(str.strip), *_limited(COMPANY_MAX), TEXT]
ExternalId = Annotated[
    str,
    *_limited(EXTERNAL_ID_MAX),
    rule(_none_if_blank),
    BeforeValidator(_external_id),
    ID_KIND,
    WithJsonSchema(ID_SCHEMA),
]


def _contacts(maximum: int, normalize: Rule):
    """A list of a customer's: at most ``maximum`` entries as sent (blank ones too)."""
    return Annotated[list[str], *_limited(maximum, "too_many"), normalize, TEXTS]


Phones = _contacts(MAX_PHONES, rule(normalize_phones, "phone_invalid", stated=False))
Emails = _contacts(MAX_EMAILS, rule(normalize_emails, "email_invalid", stated=False))
Tags = _contacts(MAX_TAGS, rule(normalize_tags))
FieldValues = Annotated[
    dict[str, str | int | float | None],
    kind(
        "object of strings and numbers",
        lambda v: isinstance(v, dict) and all(x is None or _is_amount(x) for x in v.values()),
    ),
]
MemberId = Annotated[int, Field(ge=1, le=MAX_ID), refused_as("owner_invalid"), WHOLE_NUMBER]


class CustomerInput(InputModel):
    """The keys to set; a key left out is kept. `phones`, `emails` and `tags` replace the
    lists; `fields` sets the keys given (null clears one). Unknown keys are refused."""

    name: Name | None = None
    company: Company | None = None
    external_id: ExternalId | None = None
    phones: Phones | None = Field(
        None,
        description=(
            "Valid numbers in any common format; without a country code, the shop's country. "
            "Blank entries are left out."
        ),
    )
    emails: Emails | None = Field(
        None, description="Valid e-mail addresses. Blank entries are left out."
    )
    tags: Tags | None = Field(None, description="Blank entries are left out.")
    fields: FieldValues | None = Field(
        None,
        description=(
            "The shop's custom fields (console: Customers, Fields) by key: a number, "
            "an ISO date or one of the choices, as the field's kind says."
        ),
    )
    owner_id: MemberId | None = Field(None, description="An active member's id.")


# --- orders ----------------------------------------------------------------------------------


def _amount(value):
    """A decimal in major units, as text or a number, from 0 to MAX_AMOUNT; kept as sent
    (null, where an amount is needed, is no amount). Text that is not digits and a point is
    the data's shape; the amount's value, a rule."""
    if isinstance(value, str) and not re.fullmatch(AMOUNT_TEXT, value):
        raise refuse("amount_invalid", shape=True)
    try:
        amount = Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or not 0 <= amount <= MAX_AMOUNT:
        raise refuse("amount_invalid")
    return value


Amount = Annotated[
    Any,
    rule(_amount, "amount_invalid", stated=False),  # the schema cannot cap a text's value
    kind("decimal string or number", _is_amount),
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "string", "pattern": f"^{AMOUNT_TEXT}$"},
                {"type": "number", "minimum": 0, "maximum": MAX_AMOUNT},
            ],
            "description": (
                f'A decimal amount in major units: "199.50" or 199.5; from 0 to {MAX_AMOUNT:,}.'
            ),
            "examples": ["199.50"],
        }
    ),
]


Moment = Annotated[
    Any,
    rule(moment, "datetime_invalid"),
    TEXT,
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "With a time zone; default: now.",
            "examples": ["2026-11-22T16:30:00+08:00"],
        }
    ),
]
OrderId = Annotated[
    str,
    Field(min_length=1, max_length=EXTERNAL_ID_MAX),
    refused_as("required"),
    BeforeValidator(_external_id),
    ID_KIND,
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "string", "pattern": NOT_BLANK, "maxLength": EXTERNAL_ID_MAX},
                {"type": "integer"},
            ],
            "description": "The shop's order id; a number is kept as text.",
        }
    ),
]
# A status refused names no limit (its message does): as the service refuses one.
# (an empty one, on a new order: "placed")
Status = Annotated[
    str,
    Field(max_length=ORDER_STATUS_MAX, pattern=f"^$|{NOT_BLANK}"),
    refused_as("status_invalid"),
    TEXT,
]
StatusChange = Annotated[
    str,
    Field(max_length=ORDER_STATUS_MAX, pattern=NOT_BLANK),
    refused_as("status_invalid"),
    TEXT,
]
Currency = Annotated[str, Field(pattern="^[A-Za-z]{3}$"), refused_as("currency_invalid"), TEXT]


# An item without a name, or with null for a quantity, is no item: the list is refused.
NOT_AN_ITEM = {"code": "items_invalid", "field": "items"}


class OrderItemInput(InputModel):
    name: Annotated[str, Field(pattern=NOT_BLANK), refused_as(**NOT_AN_ITEM), TEXT]
    quantity: Annotated[
        int,
        Field(ge=1, le=MAX_QUANTITY),
        refused_as("quantity_invalid", shape=True, max=MAX_QUANTITY),
        kind("integer", is_whole_number, null=NOT_AN_ITEM),
    ] = 1
    price: Amount | None = None


Items = Annotated[list[OrderItemInput], *_limited(MAX_ITEMS, "too_many"), OBJECTS]


class OrderCustomer(InputModel):
    """Who ordered: matched by external id, else phone, else e-mail; a new customer when
    none matches. At least one of the three."""

    external_id: ExternalId | None = None
    name: Annotated[str, TEXT] | None = None
    phone: Annotated[str, TEXT] | None = None
    email: Annotated[str, TEXT] | None = None


class OrderChanges(InputModel):
    """What changed; a status change lands on the customer's timeline."""

    status: StatusChange = None
    total: Amount = None
    items: Items | None = None


class OrderInput(InputModel):
    """A new order (`customer` needed), or news of a known one (same `order_id`): then only
    `status`, `total` and `items` apply and the rest is kept as first sent."""

    order_id: OrderId
    status: Status | None = "placed"
    total: Amount = "0.00"
    currency: Currency | None = "CNY"
    placed_at: Moment | None = None
    items: Items | None = None
    customer: Annotated[OrderCustomer, OBJECT] | None = None
