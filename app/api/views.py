"""The shops' REST API, /api/v1 (docs/api.md; the contract is the generated document,
app/api/openapi.py).

Each request: the key is checked and its shop bound (auth.authenticate), the per-key budget
counted (auth.rate_limited), the input checked by its model (inputs, app/crm/schemas.py), the
CRM service does the work, and the request commits once. Any refusal answers the one error
shape (errors.py). Each route declares its operation for the document where it is routed.
"""

from __future__ import annotations

from flask import jsonify, request, url_for
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.api import auth, errors
from app.api.inputs import ID_PATH, add_id_converter, body, check_params, query, query_names
from app.api.openapi import document, operation, operation_of
from app.api.params import (
    CustomerListQuery,
    CustomerPath,
    OrderPath,
    TimelineQuery,
    encode_cursor,
)
from app.api.schemas import (
    Customer,
    CustomerPage,
    OpenApiDocument,
    Order,
    TimelineEntry,
    TimelinePage,
    members_by_id,
)
from app.crm import service as crm
from app.crm.models import Customer as CustomerRow
from app.crm.schemas import CustomerInput, OrderChanges, OrderInput
from app.features import GatedBlueprint
from tenants.db import db
from tenants.errors import ServiceError

# The customer's rules the service checks against the shop's data (its custom fields and
# members) and the view's own (a customer needs something that names them).
CUSTOMER_RULES = (
    "field_unknown",
    "number_expected",
    "date_invalid",
    "choice_invalid",
    "owner_invalid",
    "customer_empty",
)
CUSTOMER_PATH = f"/customers/<{ID_PATH}:customer_id>"
ORDER_PATH = "/orders/<path:order_id>"


def _authenticate():
    request.max_content_length = errors.MAX_BODY
    op = operation_of(request.endpoint)
    if op is not None and op.public:
        return
    auth.authenticate()
    check_params(query_names(op.query) if op and op.query else ())


def _refused(error: ServiceError):
    return errors.service_error(error)  # an error answer: the request's unit rolls back


def api_blueprint(name: str, feature: str, **options) -> GatedBlueprint:
    """A part of /api/v1 for one paid module: every request's key checked and its shop bound,
    its query's parameters checked, refusals in the one error shape, and the module's gate."""
    blueprint = GatedBlueprint(name, __name__, feature=feature, url_prefix="/api/v1", **options)
    blueprint.record_once(add_id_converter)
    blueprint.before_request(_authenticate)
    blueprint.register_error_handler(ServiceError, _refused)
    return blueprint


# the contract is public; the rest is the CRM's, for a shop with it (calls: app/api/calls.py)
bp = api_blueprint("api", "crm", open_endpoints=["openapi_document"])


def once_more_on_conflict(action):
    """Run ``action`` in a savepoint. When a concurrent request stored the same unique key first
    (the same order id, external id or phone), undo it and run it once more: it now sees that
    row, so the answer is the one a retry gets (an order's 200, a customer's 409), never a 500.
    The request's unit commits."""
    try:
        with db.begin_nested():
            return action()
    except IntegrityError:
        return action()


def answer(model: BaseModel, status: int = 200, location: str | None = None):
    response = jsonify(model.model_dump(mode="json"))
    response.status_code = status
    if location:
        response.headers["Location"] = location
    return response


@operation(
    bp,
    "get",
    "/openapi.json",
    operation_id="getOpenApiDocument",
    summary="This document",
    answers={200: ("The OpenAPI 3.1 document.", OpenApiDocument)},
    public=True,
)
def openapi_document():
    return jsonify(document())


# --- customers -------------------------------------------------------------------------------


def _saved(customer: CustomerRow | None, data: dict) -> CustomerRow:
    """Create (None) or change a customer. A new one needs a name, external id, phone or
    e-mail, and a change may not take the last of them away; blank values count as none,
    as the service stores them (a name of spaces is no name, an empty phone no phone)."""
    had_identity = customer is None or crm.has_identity(customer)
    customer = crm.save_customer(customer, data, source="api")  # the source of a new one
    if had_identity and not crm.has_identity(customer):
        raise ServiceError("customer_empty")
    return customer


def _customer(customer: CustomerRow, status: int = 200):
    body = Customer.of(customer, members_by_id([customer.owner_id]))
    created = status == 201
    location = url_for("api.get_customer", customer_id=customer.id) if created else None
    return answer(body, status, location)


@operation(
    bp,
    "get",
    "/customers",
    operation_id="listCustomers",
    summary="List and search customers",
    description=(
        "Customers in id order (the newest last), merged ones left out; walk every page with "
        "`next_cursor`. Filters combine; an unknown parameter is refused."
    ),
    query=CustomerListQuery,
    answers={200: ("A page of customers.", CustomerPage)},
)
@auth.rate_limited
def list_customers():
    params = query(CustomerListQuery)
    # search() orders by last change, which moves under a walk; ids never move, so a walk
    # through every page sees each customer exactly once, the newest last.
    found = crm.search(params.filters()).order_by(None).order_by(CustomerRow.id)
    if params.updated_since is not None:
        found = found.where(CustomerRow.updated_at >= params.updated_since)
    if params.cursor is not None:
        found = found.where(CustomerRow.id > params.cursor)
    found = found.options(
        selectinload(CustomerRow.phones),
        selectinload(CustomerRow.emails),
        selectinload(CustomerRow.tags),
    )
    rows = list(db.scalars(found.limit(params.limit + 1)))
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    return answer(Customer.page(rows, encode_cursor(rows[-1].id) if more else None))


@operation(
    bp,
    "post",
    "/customers",
    operation_id="createCustomer",
    summary="Create a customer",
    description=(
        "Needs at least a name, external id, phone or e-mail (blank ones count as none: "
        "`customer_empty`). An external id, phone or e-mail another customer has answers 409 "
        "with that customer's id: a retried create never makes a duplicate."
    ),
    body=CustomerInput,
    answers={201: ("Created.", Customer)},
    refuses=CUSTOMER_RULES,
    conflict=True,
)
@auth.rate_limited
def create_customer():
    data = body(CustomerInput).model_dump(exclude_unset=True)
    customer = once_more_on_conflict(lambda: _saved(None, data))
    db.expire(customer)  # read back as stored: lists in their order, as a GET answers them
    return _customer(customer, 201)


@operation(
    bp,
    "get",
    CUSTOMER_PATH,
    operation_id="getCustomer",
    summary="Read a customer",
    description="A merged customer still answers, with `merged_into` set.",
    path_params=CustomerPath,
    answers={200: ("The customer.", Customer)},
)
@auth.rate_limited
def get_customer(customer_id: int):
    return _customer(crm.customer_or_404(customer_id))


@operation(
    bp,
    "patch",
    CUSTOMER_PATH,
    operation_id="updateCustomer",
    summary="Change a customer",
    description=(
        "A change may not take away the last of a customer's name, external id, phones and "
        "e-mails (`customer_empty`)."
    ),
    path_params=CustomerPath,
    body=CustomerInput,
    answers={200: ("The customer as changed.", Customer)},
    refuses=CUSTOMER_RULES,
    conflict=True,
)
@auth.rate_limited
def update_customer(customer_id: int):
    customer = crm.customer_or_404(customer_id)
    data = body(CustomerInput).model_dump(exclude_unset=True)
    if customer.merged_into_id:
        raise ServiceError("customer_merged", merged_into=customer.merged_into_id)
    if data:
        customer = once_more_on_conflict(lambda: _saved(customer, data))
        db.expire(customer)
    return _customer(customer)


@operation(
    bp,
    "get",
    f"{CUSTOMER_PATH}/timeline",
    operation_id="getCustomerTimeline",
    summary="A customer's timeline, newest first",
    path_params=CustomerPath,
    query=TimelineQuery,
    answers={200: ("A page of entries.", TimelinePage)},
)
@auth.rate_limited
def customer_timeline(customer_id: int):
    customer = crm.customer_or_404(customer_id)
    params = query(TimelineQuery)
    rows = crm.timeline(customer.id, params.cursor, params.limit + 1)
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    last = rows[-1] if more else None
    cursor = encode_cursor(last.occurred_at.isoformat(), last.id) if last else None
    return answer(TimelineEntry.page(rows, cursor))


# --- orders ----------------------------------------------------------------------------------


def _order(order, status: int = 200):
    created = status == 201
    location = url_for("api.get_order", order_id=order.external_id) if created else None
    return answer(Order.of(order), status, location)


@operation(
    bp,
    "post",
    "/orders",
    operation_id="pushOrder",
    summary="Push an order (idempotent on order_id)",
    description=(
        "Creates the order (201) and links it to its customer, or, when the order id is known, "
        "applies the status, total and items sent (200). The same request twice stores one "
        "order and answers the same body."
    ),
    body=OrderInput,
    answers={
        201: ("Created.", Order),
        200: ("The order was known; the news was applied.", Order),
    },
    # the service's: a new order's customer and its contacts (a new customer's name too
    # long), a known order's status left empty
    refuses=("customer_required", "phone_invalid", "email_invalid", "too_long", "status_invalid"),
)
@auth.rate_limited
def push_order():
    """Create the order, or apply its news when its order_id is known: the same request twice
    stores one order and answers the same body (201, then 200)."""
    payload = body(OrderInput).model_dump(exclude_unset=True)
    order, created = once_more_on_conflict(lambda: crm.upsert_order(payload))
    return _order(order, 201 if created else 200)


@operation(
    bp,
    "get",
    ORDER_PATH,
    operation_id="getOrder",
    summary="Read an order",
    path_params=OrderPath,
    answers={200: ("The order.", Order)},
)
@auth.rate_limited
def get_order(order_id: str):
    return _order(crm.order_by_external_id(order_id))


@operation(
    bp,
    "patch",
    ORDER_PATH,
    operation_id="updateOrder",
    summary="Change an order's status, total or items",
    path_params=OrderPath,
    body=OrderChanges,
    answers={200: ("The order as changed.", Order)},
)
@auth.rate_limited
def update_order(order_id: str):
    order = crm.order_by_external_id(order_id)
    changes = body(OrderChanges).model_dump(exclude_unset=True)
    once_more_on_conflict(lambda: crm.update_order(order, changes))
    return _order(order)
