"""The shops' REST API, /api/v1 (docs/api.md; the contract is app/api/openapi.py).

Each request: the key is checked and its shop bound (auth.authenticate), the per-key budget
counted (auth.rate_limited), the input checked (inputs), the CRM service does the work, and
the request commits once. Any refusal answers the one error shape (errors.py).
"""

from __future__ import annotations

import re
from datetime import datetime

from flask import jsonify, request, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.api import auth, errors, openapi, serialize
from app.api.inputs import (
    ID_PATH,
    OWNER_FILTER,
    add_id_converter,
    check_params,
    checked,
    decode_cursor,
    encode_cursor,
    json_body,
    page_limit,
)
from app.crm import service as crm
from app.crm.models import Customer
from app.features import GatedBlueprint
from tenants.db import db
from tenants.errors import ServiceError

bp = GatedBlueprint(  # the contract is public; the rest is the CRM's, for a shop with it
    "api", __name__, feature="crm", url_prefix="/api/v1", open_endpoints=["openapi_document"]
)
bp.record_once(add_id_converter)

CUSTOMER = {
    "external_id": "id",
    "name": "string",
    "company": "string",
    "phones": "strings",
    "emails": "strings",
    "tags": "strings",
    "fields": "fields",
    "owner_id": "integer",
}
# Enough to find (or make) an order's customer.
ORDER_CUSTOMER = {"external_id": "id", "name": "string", "phone": "string", "email": "string"}
ORDER_CHANGES = {"status": "string", "total": "amount", "items": "items"}
ORDER = {
    "order_id": "id",
    "currency": "string",
    "placed_at": "string",
    "customer": "object",
    **ORDER_CHANGES,
}
LIST_FILTERS = ("q", "tag", "owner_id", "has_ordered", "ordered_after", "ordered_before")
# The list's filters that take a value of a format: given empty, it is a mistake, not "all".
FILTER_CODES = {
    "owner_id": "owner_invalid",
    "has_ordered": "filter_invalid",
    "ordered_after": "date_invalid",
    "ordered_before": "date_invalid",
    "updated_since": "datetime_invalid",
}
# The query parameters each endpoint takes; any other is refused (none where not listed).
QUERY = {
    "api.list_customers": (*LIST_FILTERS, "updated_since", "limit", "cursor"),
    "api.customer_timeline": ("limit", "cursor"),
}


@bp.before_request
def _authenticate():
    request.max_content_length = errors.MAX_BODY
    if request.endpoint == "api.openapi_document":
        return None  # the contract is public
    refused = auth.authenticate()
    if refused is None:
        check_params(QUERY.get(request.endpoint, ()))
    return refused


@bp.errorhandler(ServiceError)
def _refused(error: ServiceError):
    db.rollback()  # a refused request changes nothing
    return errors.service_error(error)


def committed(action):
    """Run ``action`` and commit. When a concurrent request stored the same unique key first
    (the same order id, external id or phone), run it once more: it now sees that row, so the
    answer is the one a retry gets (an order's 200, a customer's 409), never a 500."""
    try:
        result = action()
        db.commit()
    except IntegrityError:
        db.rollback()
        result = action()
        db.commit()
    return result


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(openapi.document())


# --- customers -------------------------------------------------------------------------------


def _identified(customer: Customer) -> bool:
    return bool(customer.name or customer.external_id or customer.phones or customer.emails)


def _saved(customer: Customer | None, data: dict) -> Customer:
    """Create (None) or change a customer. A new one needs a name, external id, phone or
    e-mail, and a change may not take the last of them away; blank values count as none,
    as the service stores them (a name of spaces is no name, an empty phone no phone)."""
    had_identity = customer is None or _identified(customer)
    customer = crm.save_customer(customer, data, source="api")  # the source of a new one
    if had_identity and not _identified(customer):
        raise ServiceError("customer_empty")
    return customer


def _customer_json(customer: Customer, status: int = 200):
    body = serialize.customer(customer, serialize.members_by_id([customer.owner_id]))
    response = jsonify(body)
    response.status_code = status
    if status == 201:
        response.headers["Location"] = url_for("api.get_customer", customer_id=customer.id)
    return response


@bp.get("/customers")
@auth.rate_limited
def list_customers():
    limit = page_limit()
    after = decode_cursor((int,))
    for key, code in FILTER_CODES.items():  # search() reads an empty filter as none given
        if request.args.get(key) == "":
            raise ServiceError(code, field=key)
    if not re.fullmatch(OWNER_FILTER, request.args.get("owner_id", "none")):
        raise ServiceError("owner_invalid", field="owner_id")
    # search() orders by last change, which moves under a walk; ids never move, so a walk
    # through every page sees each customer exactly once, the newest last.
    query = crm.search(request.args).order_by(None).order_by(Customer.id)
    if "updated_since" in request.args:
        since = crm.parse_datetime(request.args["updated_since"], "updated_since")
        query = query.where(Customer.updated_at >= since)
    if after is not None:
        query = query.where(Customer.id > after[0])
    query = query.options(
        selectinload(Customer.phones), selectinload(Customer.emails), selectinload(Customer.tags)
    )
    rows = list(db.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return jsonify(
        data=serialize.customers(rows), next_cursor=encode_cursor(rows[-1].id) if more else None
    )


@bp.post("/customers")
@auth.rate_limited
def create_customer():
    data = checked(json_body(), CUSTOMER)
    customer = committed(lambda: _saved(None, data))
    db.expire(customer)  # read back as stored: lists in their order, as a GET answers them
    return _customer_json(customer, 201)


@bp.get(f"/customers/<{ID_PATH}:customer_id>")
@auth.rate_limited
def get_customer(customer_id: int):
    return _customer_json(crm.customer_or_404(customer_id))


@bp.patch(f"/customers/<{ID_PATH}:customer_id>")
@auth.rate_limited
def update_customer(customer_id: int):
    customer = crm.customer_or_404(customer_id)
    data = checked(json_body(), CUSTOMER)
    if customer.merged_into_id:
        raise ServiceError("customer_merged", merged_into=customer.merged_into_id)
    if data:
        customer = committed(lambda: _saved(customer, data))
        db.expire(customer)
    return _customer_json(customer)


@bp.get(f"/customers/<{ID_PATH}:customer_id>/timeline")
@auth.rate_limited
def customer_timeline(customer_id: int):
    customer = crm.customer_or_404(customer_id)
    limit = page_limit()
    before = decode_cursor((str, int))
    if before is not None:
        try:
            before = (datetime.fromisoformat(before[0]), before[1])
        except ValueError as exc:
            raise ServiceError("cursor_invalid", field="cursor") from exc
        if before[0].tzinfo is None:
            raise ServiceError("cursor_invalid", field="cursor")
    rows = crm.timeline(customer.id, before, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more else None
    return jsonify(
        data=serialize.entries(rows),
        next_cursor=encode_cursor(last.occurred_at.isoformat(), last.id) if last else None,
    )


# --- orders ----------------------------------------------------------------------------------


def _order_json(order, status: int = 200):
    response = jsonify(serialize.order(order))
    response.status_code = status
    if status == 201:
        response.headers["Location"] = url_for("api.get_order", order_id=order.external_id)
    return response


@bp.post("/orders")
@auth.rate_limited
def push_order():
    """Create the order, or apply its news when its order_id is known: the same request twice
    stores one order and answers the same body (201, then 200)."""
    body = checked(json_body(), ORDER)
    if body.get("customer") is not None:
        body["customer"] = checked(body["customer"], ORDER_CUSTOMER, "customer.")
    order, created = committed(lambda: crm.upsert_order(body))
    return _order_json(order, 201 if created else 200)


@bp.get("/orders/<path:order_id>")
@auth.rate_limited
def get_order(order_id: str):
    return _order_json(crm.order_by_external_id(order_id))


@bp.patch("/orders/<path:order_id>")
@auth.rate_limited
def update_order(order_id: str):
    order = crm.order_by_external_id(order_id)
    changes = checked(json_body(), ORDER_CHANGES)
    committed(lambda: crm.update_order(order, changes))
    return _order_json(order)
