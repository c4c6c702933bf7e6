"""Finding customers: the console's and the API's filter, fast at 100,000 customers a shop."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import Integer, Select, Text, any_, cast, exists, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY

from app.crm.models import Customer, CustomerEmail, CustomerPhone, CustomerTag
from app.crm.values import (
    current_shop,
    looks_like_phone,
    normalize_phone,
    normalize_tag,
    shop_country,
)
from tenants.db import db
from tenants.errors import ServiceError

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
    tenant = current_shop()
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
        region = shop_country()  # one query for the shop's row, not two
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
