"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json, generated: each view
declares its operation where it is routed (``operation``), naming the Pydantic models of its
body, query, path and answers; the schemas are those models' JSON Schemas.

Pydantic's own ``models_json_schema`` is the generator: JSON Schema 2020-12 is OpenAPI 3.1's
schema language, so its output goes into ``components.schemas`` as it is. tests/api validate
the document, hold every real response of the suite to it, and compare its paths with the
app's routes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from flask import Blueprint
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, NoDefault, models_json_schema

from app.api import errors
from app.api.schemas import Error, FeatureLocked
from app.schemas import codes_of


@dataclass(frozen=True)
class Operation:
    """One method of one path, as the document describes it."""

    method: str
    path: str  # as the document writes it: /customers/{customer_id}
    endpoint: str
    operation_id: str
    summary: str
    answers: dict[int, tuple[str, type[BaseModel]]]  # status -> (description, model)
    description: str = ""
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    path_params: type[BaseModel] | None = None  # also: a 404 when no such row is the shop's
    # 422 codes of the service's rules: what the models check is read from them
    refuses: tuple[str, ...] = ()
    conflict: bool = False  # may answer 409
    public: bool = False  # no key needed, nothing but its answer

    @property
    def unprocessable(self) -> set[str]:
        """Every 422 code the operation answers."""
        if self.public:
            return set()
        codes = {"param_unknown", *self.refuses}  # inputs.check_params
        if self.query:
            codes.add("param_repeated")  # of a parameter it takes
        for model in (self.body, self.query):
            codes |= codes_of(model) if model else set()
        return codes

    @property
    def beyond_the_schema(self) -> set[str]:
        """The 422 codes a request the document allows may still get: rules no JSON Schema
        states (a phone number that exists, a cursor Huike gave out) and the service's."""
        codes = set(self.refuses)
        for model in (self.body, self.query):
            codes |= codes_of(model, unstated_only=True) if model else set()
        return codes


OPERATIONS: list[Operation] = []


def operation(bp: Blueprint, method: str, rule: str, **spec):
    """Route the view at ``rule`` on ``bp`` and describe it (``Operation``'s fields)."""

    def register(view):
        path = re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule)
        endpoint = f"{bp.name}.{view.__name__}"
        OPERATIONS.append(Operation(method, path, endpoint, **spec))
        return bp.route(rule, methods=[method.upper()])(view)

    return register


def operations() -> list[Operation]:
    """Every operation of /api/v1, in the order the views route them."""
    from app.api import analytics, calls, robot, views  # noqa: F401  (their routes declare …)

    return OPERATIONS


def operation_of(endpoint: str | None) -> Operation | None:
    return next((op for op in OPERATIONS if op.endpoint == endpoint), None)


class DocumentSchema(GenerateJsonSchema):
    """Pydantic's JSON Schema, less its noise: no title on every property, no ``default:
    null`` (a key left out is none), and descriptions written as one paragraph."""

    def field_title_should_be_set(self, schema) -> bool:
        return False

    def get_default_value(self, schema):
        default = super().get_default_value(schema)
        return NoDefault if default is None else default

    def generate(self, schema, mode="validation"):
        return _one_paragraph(super().generate(schema, mode))

    def generate_definitions(self, inputs):
        keys, definitions = super().generate_definitions(inputs)
        return keys, _one_paragraph(definitions)


def _one_paragraph(schema):
    if isinstance(schema, dict):
        return {
            k: " ".join(v.split())
            if k == "description" and isinstance(v, str)
            else _one_paragraph(v)
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_one_paragraph(v) for v in schema]
    return schema


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(description: str, schema: dict, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _error(description: str, codes, **headers) -> dict:
    """An error answer; ``error`` is one of ``codes``, and the description names them."""
    codes = sorted(codes)
    named = ", ".join(f"`{code}`" for code in codes)
    schema = {"allOf": [_ref("schemas", "Error")], "properties": {"error": {"enum": codes}}}
    return _json(f"{description} Codes: {named}.", schema, headers or None)


def _status_codes(status: int) -> list[str]:
    return [code for code, answer in errors.STATUS.items() if answer == status]


RATE_HEADERS = {
    "X-RateLimit-Limit": _ref("headers", "RateLimitLimit"),
    "X-RateLimit-Remaining": _ref("headers", "RateLimitRemaining"),
    "X-RateLimit-Reset": _ref("headers", "RateLimitReset"),
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
LOCATION = {"Location": {"description": "The new resource's path.", "schema": {"type": "string"}}}
RESPONSES = {
    "BadRequest": _error(
        "The body is not JSON or not what the operation takes (an object; an array of entries; "
        "none for a DELETE), or it nests deeper than 32 levels; or text "
        "anywhere in the request (path, query, body) holds a NUL character or an unpaired "
        "surrogate, which no text column can store.",
        [*_status_codes(400), "json_too_deep", "text_invalid"],
    ),
    "Unauthorized": _error(
        "No key, or a key that is wrong or revoked.",
        _status_codes(401),
        **{"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}},
    ),
    "FeatureLocked": _json(
        "The shop's plan does not include the operation's module (`feature`: `crm` for "
        "customers and orders, `calls` for calls, `robot` for the knowledge base and the ask "
        "API, `analytics` for the reports).",
        _ref("schemas", "FeatureLocked"),
    ),
    "Forbidden": _error("The shop is suspended.", _status_codes(403)),
    "NotFound": _error(
        "No such customer, order, call or knowledge-base entry in this shop.", _status_codes(404)
    ),
    "Conflict": _error(
        "Another customer has this external id, phone or e-mail (`customer_id` names it), or "
        "the customer was merged (`merged_into` names the one to change); or another "
        "knowledge-base entry has this external id (`entry_id` names it).",
        _status_codes(409),
    ),
    "PayloadTooLarge": _error("The body is larger than 1 MB.", [errors.HTTP_ERRORS[413][0]]),
    "UnsupportedMediaType": _error("The body is not sent as application/json.", _status_codes(415)),
    "RateLimited": _error(
        "Too many requests with this key.",
        [errors.HTTP_ERRORS[429][0]],
        **{
            "Retry-After": {
                "required": True,
                "description": "Seconds to wait before the next request.",
                "schema": {"type": "integer"},
            },
            **RATE_HEADERS,
        },
    ),
    "ServerError": _error(
        "Something broke on Huike's side; try again.", [errors.HTTP_ERRORS[500][0]]
    ),
}
# Every key-protected operation may answer these; one with a body also 413 and 415.
COMMON = {
    "400": "BadRequest",
    "401": "Unauthorized",
    "402": "FeatureLocked",
    "403": "Forbidden",
    "429": "RateLimited",
    "500": "ServerError",
}
WITH_BODY = {"413": "PayloadTooLarge", "415": "UnsupportedMediaType"}


def _parameters(model: type[BaseModel] | None, where: str) -> list[dict]:
    if model is None:
        return []
    schema = model.model_json_schema(schema_generator=DocumentSchema)
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        parameter = {"name": name, "in": where}
        if "description" in prop:
            parameter["description"] = prop.pop("description")
        if name in required:
            parameter["required"] = True
        parameters.append({**parameter, "schema": prop})
    return parameters


def _unprocessable(op: Operation) -> dict:
    return _error(
        "A value in the body or a query parameter does not pass the rules, or a parameter is "
        "not known here or given twice; `field` names it and nothing was stored.",
        op.unprocessable,
    )


def _operation(op: Operation, schemas: dict) -> dict:
    item = {"operationId": op.operation_id, "summary": op.summary}
    if op.description:
        item["description"] = " ".join(op.description.split())
    responses = {}
    for status, (description, model) in op.answers.items():
        headers = {} if op.public else {**RATE_HEADERS, **(LOCATION if status == 201 else {})}
        responses[str(status)] = _json(description, schemas[model, "serialization"], headers)
    if op.public:
        return {**item, "security": [], "responses": responses}
    parameters = _parameters(op.query, "query")
    if parameters:
        item["parameters"] = parameters
    if op.body:
        item["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas[op.body, "validation"]}},
        }
    shared = {**COMMON, **(WITH_BODY if op.body else {})}
    if op.path_params:
        shared["404"] = "NotFound"
    if op.conflict:
        shared["409"] = "Conflict"
    responses |= {"422": _unprocessable(op)}
    responses |= {status: _ref("responses", name) for status, name in sorted(shared.items())}
    return {**item, "responses": responses}


@cache
def document() -> dict:
    wanted = [(Error, "serialization"), (FeatureLocked, "serialization")]
    for op in operations():
        wanted += [(model, "serialization") for _, model in op.answers.values()]
        wanted += [(op.body, "validation")] if op.body else []
    schemas, definitions = models_json_schema(
        list(dict.fromkeys(wanted)),
        ref_template="#/components/schemas/{model}",
        schema_generator=DocumentSchema,
    )
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        path = paths.setdefault(op.path, {})
        if op.path_params and "parameters" not in path:
            path["parameters"] = _parameters(op.path_params, "path")
        path[op.method] = _operation(op, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Huike API",
            "version": "1.0.0",
            "description": (
                "The shop's server pushes orders and keeps customers in step with Huike's CRM, "
                "reads the shop's call log, keeps the robot's knowledge base and asks it "
                "questions, and reads the analytics reports. "
                "Authenticate with an API key from the console's API keys page "
                "(/console/settings/api-keys): `Authorization: Bearer hk_live_…`. Every error "
                "has the shape of `Error` (402: `FeatureLocked`). Each key may make "
                "API_RATE_LIMIT requests (120 per minute by default), and asks of the robot "
                "(`askRobot`) apart, API_ASK_RATE_LIMIT (6,000 per minute by default); "
                "responses carry X-RateLimit-* headers."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": definitions["$defs"],
            "responses": RESPONSES,
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
