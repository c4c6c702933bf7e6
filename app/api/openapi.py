"""The OpenAPI 3.1 document of /api/v1, as data; served at /api/v1/openapi.json.

tests/api validate it, validate every real response of the test suite against it and compare
its paths with the app's routes, so the document and the code cannot drift apart.
"""

from __future__ import annotations

from app.api.inputs import (
    AMOUNT_TEXT,
    DEFAULT_LIMIT,
    MAX_ID,
    MAX_ITEMS,
    MAX_LIMIT,
    MAX_QUANTITY,
    OWNER_FILTER,
)
from app.crm.service import MAX_AMOUNT


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _schema(name: str) -> dict:
    return _ref("schemas", name)


def _or_null(schema: dict) -> dict:
    return {"oneOf": [schema, {"type": "null"}]}


def _json(description: str, schema: dict, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _body(schema: dict, required: bool = True) -> dict:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


TIMESTAMP = {"type": "string", "format": "date-time", "examples": ["2026-11-22T08:30:00Z"]}
MONEY = {
    "type": "string",
    "pattern": r"^\d+\.\d{2}$",
    "description": "A decimal amount in major units, as text (never a float).",
    "examples": ["199.50"],
}
AMOUNT_IN = {
    "oneOf": [
        {"type": "string", "pattern": f"^{AMOUNT_TEXT}$"},
        {"type": "number", "minimum": 0, "maximum": MAX_AMOUNT},
    ],
    "description": (
        f'A decimal amount in major units: "199.50" or 199.5; from 0 to {MAX_AMOUNT:,}.'
    ),
    "examples": ["199.50"],
}
ID_IN = {
    "oneOf": [{"type": "string", "maxLength": 128}, {"type": "integer"}],
    "description": "The shop's own id; a number is kept as text. At most 128 characters.",
}
STRINGS = {"type": "array", "items": {"type": "string"}}


def _list_in(key: str, description: str = "") -> dict:
    """A list of a customer's: null or [] empties it; blank entries are left out."""
    schema = {"type": ["array", "null"], "items": {"type": "string"}, "maxItems": MAX_ITEMS[key]}
    return {**schema, "description": f"{description} Blank entries are left out.".strip()}


RATE_HEADERS = {
    "X-RateLimit-Limit": _ref("headers", "RateLimitLimit"),
    "X-RateLimit-Remaining": _ref("headers", "RateLimitRemaining"),
    "X-RateLimit-Reset": _ref("headers", "RateLimitReset"),
}

SCHEMAS = {
    "Error": {
        "type": "object",
        "description": (
            "Every error but 402. `error` is a stable code to branch on; `message` is worded "
            "for people (Accept-Language: zh-CN or en); `field` names the input at fault. "
            "Some errors add parameters, e.g. `customer_id` on a 409, `limit` on a 429."
        ),
        "required": ["error", "message", "field"],
        "properties": {
            "error": {"type": "string", "examples": ["phone_invalid"]},
            "message": {"type": "string", "examples": ["Enter a valid phone number."]},
            "field": {"type": ["string", "null"], "examples": ["phones"]},
        },
        "additionalProperties": True,
    },
    "FeatureLocked": {
        "type": "object",
        "description": "The shop's plan lacks the CRM module (the same answer as the console's).",
        "required": ["error", "feature", "upgrade_url"],
        "properties": {
            "error": {"const": "feature_locked"},
            "feature": {"const": "crm"},
            "upgrade_url": {"type": "string", "format": "uri"},
        },
        "additionalProperties": False,
    },
    "Member": {
        "type": "object",
        "description": "A member of the shop's staff.",
        "required": ["id", "name", "email"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "email": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "Customer": {
        "type": "object",
        "required": [
            "id",
            "external_id",
            "name",
            "company",
            "phones",
            "emails",
            "tags",
            "fields",
            "owner",
            "order_count",
            "revenue",
            "last_order_at",
            "last_seen_at",
            "source",
            "merged_into",
            "created_at",
            "updated_at",
        ],
        "properties": {
            "id": {"type": "integer"},
            "external_id": {
                "type": ["string", "null"],
                "description": "The shop's own user id (the one Huike.identify is given).",
            },
            "name": {"type": "string"},
            "company": {"type": "string"},
            "phones": {
                "type": "array",
                "items": {"type": "string", "pattern": r"^\+[1-9]\d{4,14}$"},
                "description": "E.164, e.g. +8613812345678.",
            },
            "emails": {"type": "array", "items": {"type": "string"}, "description": "Lower case."},
            "tags": STRINGS,
            "fields": {
                "type": "object",
                "description": "Custom field key -> value (text, number, ISO date or a choice).",
                "additionalProperties": {"type": ["string", "number"]},
            },
            "owner": _or_null(_schema("Member")),
            "order_count": {
                "type": "integer",
                "description": "Orders that count (not cancelled or refunded).",
            },
            "revenue": {**MONEY, "description": "Total of the orders that count."},
            "last_order_at": _or_null(TIMESTAMP),
            "last_seen_at": _or_null(TIMESTAMP),
            "source": {
                "type": "string",
                "description": "How the customer first reached the shop.",
                "examples": ["api", "chat", "left_message", "identify", "order", "import"],
            },
            "merged_into": {
                "type": ["integer", "null"],
                "description": "Set when this customer was merged into another: read that one.",
            },
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
        "additionalProperties": False,
    },
    "CustomerInput": {
        "type": "object",
        "description": (
            "The keys to set; a key left out is kept. `phones`, `emails` and `tags` replace "
            "the lists; `fields` sets the keys given (null clears one). Unknown keys are refused."
        ),
        "properties": {
            "external_id": _or_null(ID_IN),
            "name": {"type": ["string", "null"], "maxLength": 120},
            "company": {"type": ["string", "null"], "maxLength": 200},
            "phones": _list_in(
                "phones",
                "Valid numbers in any common format; without a country code, the shop's country.",
            ),
            "emails": _list_in("emails", "Valid e-mail addresses."),
            "tags": _list_in("tags"),
            "fields": {
                "type": ["object", "null"],
                "description": (
                    "The shop's custom fields (console: Customers, Fields) by key: a number, "
                    "an ISO date or one of the choices, as the field's kind says."
                ),
                "additionalProperties": {"type": ["string", "number", "null"]},
            },
            "owner_id": {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": MAX_ID,
                "description": "An active member's id.",
            },
        },
        "additionalProperties": False,
    },
    "CustomerPage": {
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": _schema("Customer")},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass it as `cursor` for the next page; null on the last page.",
            },
        },
        "additionalProperties": False,
    },
    "TimelineEntry": {
        "type": "object",
        "required": ["id", "kind", "summary", "data", "author", "occurred_at"],
        "properties": {
            "id": {"type": "integer"},
            "kind": {
                "type": "string",
                "description": "What happened; new kinds may appear, so ignore unknown ones.",
                "examples": ["chat", "left_message", "order", "order_status", "note", "merge"],
            },
            "summary": {"type": "string"},
            "data": {
                "type": "object",
                "description": "Details by kind, e.g. an order's total, currency and status.",
            },
            "author": _or_null(_schema("Member")),
            "occurred_at": TIMESTAMP,
        },
        "additionalProperties": False,
    },
    "TimelinePage": {
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": _schema("TimelineEntry")},
            "next_cursor": {"type": ["string", "null"]},
        },
        "additionalProperties": False,
    },
    "OrderItem": {
        "type": "object",
        "required": ["name", "quantity", "price"],
        "properties": {
            "name": {"type": "string"},
            "quantity": {"type": "integer", "minimum": 1},
            "price": _or_null(MONEY),
        },
        "additionalProperties": False,
    },
    "OrderItemInput": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY, "default": 1},
            "price": _or_null(AMOUNT_IN),
        },
        "additionalProperties": False,
    },
    "Order": {
        "type": "object",
        "required": [
            "order_id",
            "status",
            "total",
            "currency",
            "items",
            "placed_at",
            "customer_id",
            "created_at",
            "updated_at",
        ],
        "properties": {
            "order_id": {"type": "string", "description": "The shop's order id."},
            "status": {"type": "string", "examples": ["placed", "paid", "shipped", "refunded"]},
            "total": MONEY,
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "items": {"type": "array", "items": _schema("OrderItem")},
            "placed_at": TIMESTAMP,
            "customer_id": {"type": "integer"},
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
        "additionalProperties": False,
    },
    "OrderCustomer": {
        "type": "object",
        "description": (
            "Who ordered: matched by external id, else phone, else e-mail; a new customer "
            "when none matches. At least one of the three."
        ),
        "properties": {
            "external_id": _or_null(ID_IN),
            "name": {"type": ["string", "null"]},
            "phone": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]},
        },
        "additionalProperties": False,
    },
    "OrderChanges": {
        "type": "object",
        "description": "What changed; a status change lands on the customer's timeline.",
        "properties": {
            "status": {"type": "string", "minLength": 1, "maxLength": 32},
            "total": AMOUNT_IN,
            "items": {
                "type": ["array", "null"],
                "maxItems": 200,
                "items": _schema("OrderItemInput"),
            },
        },
        "additionalProperties": False,
    },
    "OrderInput": {
        "type": "object",
        "description": (
            "A new order (`customer` needed), or news of a known one (same `order_id`): then "
            "only `status`, `total` and `items` apply and the rest is kept as first sent."
        ),
        "required": ["order_id"],
        "properties": {
            "order_id": ID_IN,
            "status": {"type": "string", "default": "placed", "maxLength": 32},
            "total": {**AMOUNT_IN, "default": "0.00"},
            "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$", "default": "CNY"},
            "items": {
                "type": ["array", "null"],
                "maxItems": 200,
                "items": _schema("OrderItemInput"),
            },
            "placed_at": {**TIMESTAMP, "description": "With a time zone; default: now."},
            "customer": _schema("OrderCustomer"),
        },
        "additionalProperties": False,
    },
}

HEADERS = {
    "RateLimitLimit": {
        "description": "Requests this key may make per window.",
        "schema": {"type": "integer"},
    },
    "RateLimitRemaining": {
        "description": "Requests left in this window.",
        "schema": {"type": "integer"},
    },
    "RateLimitReset": {
        "description": "When the window resets (Unix time, seconds).",
        "schema": {"type": "integer"},
    },
}


def _error(description: str, codes: list[str], **headers) -> dict:
    """An error answer; ``error`` is one of ``codes``, and the description names them."""
    named = ", ".join(f"`{code}`" for code in codes)
    schema = {"allOf": [_schema("Error")], "properties": {"error": {"enum": codes}}}
    return _json(f"{description} Codes: {named}.", schema, headers or None)


# Every 422 names the input at fault in `field`, and nothing was stored.
PARAMS_422 = ["param_unknown", "param_repeated"]
PAGE_422 = ["limit_invalid", "cursor_invalid"]
BODY_422 = ["key_unknown", "type_invalid", "too_many"]
# a customer's rules no schema states: a number that exists, a known field, a member as owner
CUSTOMER_BEYOND = [
    "phone_invalid",
    "email_invalid",
    "field_unknown",
    "number_expected",
    "date_invalid",
    "choice_invalid",
    "owner_invalid",
    "customer_empty",
]
CUSTOMER_422 = ["too_long", *CUSTOMER_BEYOND]
ORDER_422 = [
    "amount_invalid",
    "status_invalid",
    "items_invalid",
    "quantity_invalid",
]
# operationId -> (the 422 codes it answers, the rules among them no JSON Schema here states:
# the document words them, and tests/api/test_schemathesis.py lets only those refuse a request
# the schema allows).
UNPROCESSABLE_CODES = {
    "listCustomers": (
        [
            *PARAMS_422,
            *PAGE_422,
            "owner_invalid",
            "filter_invalid",
            "date_invalid",
            "datetime_invalid",
        ],
        ["cursor_invalid"],
    ),
    "getCustomer": (PARAMS_422, []),
    "createCustomer": (
        [*PARAMS_422, *BODY_422, *CUSTOMER_422],
        CUSTOMER_BEYOND,
    ),
    "updateCustomer": (
        [*PARAMS_422, *BODY_422, *CUSTOMER_422],
        CUSTOMER_BEYOND,
    ),
    "getCustomerTimeline": ([*PARAMS_422, *PAGE_422], ["cursor_invalid"]),
    "pushOrder": (
        [
            *PARAMS_422,
            *BODY_422,
            *ORDER_422,
            "required",
            "currency_invalid",
            "datetime_invalid",
            "customer_required",
            "too_long",
            "phone_invalid",
            "email_invalid",
        ],
        ["amount_invalid", "customer_required", "phone_invalid", "email_invalid"],
    ),
    "getOrder": (PARAMS_422, []),
    "updateOrder": ([*PARAMS_422, *BODY_422, *ORDER_422], ["amount_invalid"]),
}
RULES_BEYOND_THE_SCHEMA = {op: set(beyond) for op, (_, beyond) in UNPROCESSABLE_CODES.items()}


def _unprocessable(operation_id: str) -> dict:
    codes, _ = UNPROCESSABLE_CODES[operation_id]
    return {
        "422": _error(
            "A value in the body or a query parameter does not pass the rules, or a parameter "
            "is not known here or given twice; `field` names it and nothing was stored.",
            codes,
        )
    }


RESPONSES = {
    "BadRequest": _error(
        "The body is not JSON or not a JSON object, or it nests deeper than 32 levels; or text "
        "anywhere in the request (path, query, body) holds a NUL character or an unpaired "
        "surrogate, which no text column can store.",
        ["json_invalid", "body_invalid", "json_too_deep", "text_invalid"],
    ),
    "Unauthorized": _error(
        "No key, or a key that is wrong or revoked.",
        ["api_key_missing", "api_key_invalid"],
        **{"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}},
    ),
    "FeatureLocked": _json(
        "The shop's plan does not include the CRM module.", _schema("FeatureLocked")
    ),
    "Forbidden": _error("The shop is suspended.", ["suspended"]),
    "NotFound": _error("No such customer or order in this shop.", ["not_found"]),
    "Conflict": _error(
        "Another customer has this external id, phone or e-mail (`customer_id` names it), or "
        "the customer was merged (`merged_into` names the one to change).",
        ["external_id_taken", "phone_taken", "email_taken_customer", "customer_merged"],
    ),
    "PayloadTooLarge": _error("The body is larger than 1 MB.", ["body_too_large"]),
    "UnsupportedMediaType": _error(
        "The body is not sent as application/json.", ["content_type_invalid"]
    ),
    "RateLimited": _error(
        "Too many requests with this key.",
        ["rate_limited"],
        **{
            "Retry-After": {
                "required": True,
                "description": "Seconds to wait before the next request.",
                "schema": {"type": "integer"},
            },
            **RATE_HEADERS,
        },
    ),
    "ServerError": _error("Something broke on Huike's side; try again.", ["server_error"]),
}

PARAMETERS = {
    "CustomerId": {
        "name": "customer_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
        "description": "Huike's id of the customer.",
    },
    "OrderId": {
        "name": "order_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "The shop's order id, URL-encoded.",
    },
    "Limit": {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    },
    "Cursor": {
        "name": "cursor",
        "in": "query",
        "schema": {"type": "string"},
        "description": "The `next_cursor` of the previous page, unchanged.",
    },
}


def _query(name: str, description: str, **schema) -> dict:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": "string", **schema},
    }


# Every key-protected operation may answer these.
COMMON = {
    "400": _ref("responses", "BadRequest"),
    "401": _ref("responses", "Unauthorized"),
    "402": _ref("responses", "FeatureLocked"),
    "403": _ref("responses", "Forbidden"),
    "429": _ref("responses", "RateLimited"),
    "500": _ref("responses", "ServerError"),
}
WITH_BODY = {
    "413": _ref("responses", "PayloadTooLarge"),
    "415": _ref("responses", "UnsupportedMediaType"),
}
NOT_FOUND = {"404": _ref("responses", "NotFound")}
CONFLICT = {"409": _ref("responses", "Conflict")}


def _ok(description: str, schema: str, **extra) -> dict:
    return _json(description, _schema(schema), {**RATE_HEADERS, **extra})


LOCATION = {"Location": {"description": "The new resource's path.", "schema": {"type": "string"}}}

PATHS = {
    "/customers": {
        "get": {
            "operationId": "listCustomers",
            "summary": "List and search customers",
            "description": (
                "Customers in id order (the newest last), merged ones left out; walk every "
                "page with `next_cursor`. Filters combine; an unknown parameter is refused."
            ),
            "parameters": [
                _query(
                    "q",
                    "A phone (also its start), an e-mail (or its start), the external id, "
                    "or the start of the name.",
                ),
                _query("tag", "Customers with this tag."),
                _query(
                    "owner_id",
                    "An owner's member id, or `none` for customers without one.",
                    pattern=f"^({OWNER_FILTER})$",
                ),
                _query(
                    "has_ordered", "true or false.", enum=["true", "false", "1", "0", "yes", "no"]
                ),
                _query(
                    "ordered_after",
                    "Last order on or after this day (the shop's time zone).",
                    format="date",
                ),
                _query("ordered_before", "Last order before this day.", format="date"),
                _query(
                    "updated_since",
                    "Changed at or after this moment (with a time zone): for syncing.",
                    format="date-time",
                ),
                _ref("parameters", "Limit"),
                _ref("parameters", "Cursor"),
            ],
            "responses": {
                "200": _ok("A page of customers.", "CustomerPage"),
                **_unprocessable("listCustomers"),
                **COMMON,
            },
        },
        "post": {
            "operationId": "createCustomer",
            "summary": "Create a customer",
            "description": (
                "Needs at least a name, external id, phone or e-mail (blank ones count as none: "
                "`customer_empty`). An external id, phone or "
                "e-mail another customer has answers 409 with that customer's id: a retried "
                "create never makes a duplicate."
            ),
            "requestBody": _body(_schema("CustomerInput")),
            "responses": {
                "201": _ok("Created.", "Customer", **LOCATION),
                **WITH_BODY,
                **_unprocessable("createCustomer"),
                **CONFLICT,
                **COMMON,
            },
        },
    },
    "/customers/{customer_id}": {
        "parameters": [_ref("parameters", "CustomerId")],
        "get": {
            "operationId": "getCustomer",
            "summary": "Read a customer",
            "description": "A merged customer still answers, with `merged_into` set.",
            "responses": {
                "200": _ok("The customer.", "Customer"),
                **NOT_FOUND,
                **_unprocessable("getCustomer"),
                **COMMON,
            },
        },
        "patch": {
            "operationId": "updateCustomer",
            "summary": "Change a customer",
            "description": (
                "A change may not take away the last of a customer's name, external id, phones "
                "and e-mails (`customer_empty`)."
            ),
            "requestBody": _body(_schema("CustomerInput")),
            "responses": {
                "200": _ok("The customer as changed.", "Customer"),
                **NOT_FOUND,
                **WITH_BODY,
                **_unprocessable("updateCustomer"),
                **CONFLICT,
                **COMMON,
            },
        },
    },
    "/customers/{customer_id}/timeline": {
        "parameters": [_ref("parameters", "CustomerId")],
        "get": {
            "operationId": "getCustomerTimeline",
            "summary": "A customer's timeline, newest first",
            "parameters": [_ref("parameters", "Limit"), _ref("parameters", "Cursor")],
            "responses": {
                "200": _ok("A page of entries.", "TimelinePage"),
                **NOT_FOUND,
                **_unprocessable("getCustomerTimeline"),
                **COMMON,
            },
        },
    },
    "/orders": {
        "post": {
            "operationId": "pushOrder",
            "summary": "Push an order (idempotent on order_id)",
            "description": (
                "Creates the order (201) and links it to its customer, or, when the order id "
                "is known, applies the status, total and items sent (200). The same request "
                "twice stores one order and answers the same body."
            ),
            "requestBody": _body(_schema("OrderInput")),
            "responses": {
                "201": _ok("Created.", "Order", **LOCATION),
                "200": _ok("The order was known; the news was applied.", "Order"),
                **WITH_BODY,
                **_unprocessable("pushOrder"),
                **COMMON,
            },
        },
    },
    "/orders/{order_id}": {
        "parameters": [_ref("parameters", "OrderId")],
        "get": {
            "operationId": "getOrder",
            "summary": "Read an order",
            "responses": {
                "200": _ok("The order.", "Order"),
                **NOT_FOUND,
                **_unprocessable("getOrder"),
                **COMMON,
            },
        },
        "patch": {
            "operationId": "updateOrder",
            "summary": "Change an order's status, total or items",
            "requestBody": _body(_schema("OrderChanges")),
            "responses": {
                "200": _ok("The order as changed.", "Order"),
                **NOT_FOUND,
                **WITH_BODY,
                **_unprocessable("updateOrder"),
                **COMMON,
            },
        },
    },
    "/openapi.json": {
        "get": {
            "operationId": "getOpenApiDocument",
            "summary": "This document",
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI 3.1 document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        },
    },
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "Huike API",
        "version": "1.0.0",
        "description": (
            "The shop's server pushes orders and keeps customers in step with Huike's CRM. "
            "Authenticate with an API key from the console's API keys page "
            "(/console/settings/api-keys): "
            "`Authorization: Bearer hk_live_…`. Every error has the shape of `Error` (402: "
            "`FeatureLocked`). Each key may make API_RATE_LIMIT requests (120 per minute by "
            "default); responses carry X-RateLimit-* headers."
        ),
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearerAuth": []}],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "responses": RESPONSES,
        "parameters": PARAMETERS,
        "headers": HEADERS,
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key of the shop (hk_live_…), shown once when created.",
            }
        },
    },
}


def document() -> dict:
    return DOCUMENT
