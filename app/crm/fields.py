"""Custom fields: the shop's own facts about a customer (text, number, date or a choice)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import JSON, cast, func, select, update
from sqlalchemy.dialects.postgresql import JSONB

from app.crm.models import FIELD_KINDS, Customer, CustomField
from tenants.db import db
from tenants.errors import ServiceError


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
