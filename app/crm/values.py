"""How the CRM reads the values people and shops send it: phones, tags, amounts and times, and
the shop whose country a phone without a country code is read in."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import phonenumbers

from tenants.db import current_tenant_id, scoped_get
from tenants.errors import ServiceError
from tenants.models import Tenant

MAX_TAG = 40


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


def current_shop() -> Tenant | None:
    """The bound tenant's row (None outside a tenant)."""
    tenant_id = current_tenant_id()
    return scoped_get(Tenant, tenant_id) if tenant_id else None


def shop_country() -> str:
    """Where phone numbers written without a country code are read."""
    tenant = current_shop()
    return tenant.country if tenant else "CN"


def name_key(name: str | None) -> str:
    """A name as two names are compared: case, full-width forms and spaces aside."""
    return "".join(unicodedata.normalize("NFKC", name or "").casefold().split())


def names_differ(one: str | None, other: str | None) -> bool:
    """Two people's names, both given and not the same (an empty one is no conflict)."""
    return bool(name_key(one) and name_key(other) and name_key(one) != name_key(other))
