"""One JSON error shape for every /api/v1 answer: ``{"error", "message", "field", ...params}``.

Service errors (``ServiceError``) carry the code, the field and the parameters; HTTP errors
(Flask's own 404/405, a 413 body, a 429 limit, a crash) are worded here. The one exception is
402, which answers the feature gate's shape used everywhere (app/features.py).
"""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from app.api.schemas import Error
from app.messages import message_for
from tenants.errors import ServiceError

PREFIX = "/api/v1/"
MAX_BODY = 1024 * 1024  # bytes of a request body; an order with 200 items is far below

# Service error codes that are not a 422 (a value that does not pass the rules).
STATUS = {
    "json_invalid": 400,
    "body_invalid": 400,
    "body_unexpected": 400,
    "entries_body_invalid": 400,
    "api_key_missing": 401,
    "api_key_invalid": 401,
    "suspended": 403,
    "not_found": 404,
    "external_id_taken": 409,
    "phone_taken": 409,
    "email_taken_customer": 409,
    "customer_merged": 409,
    "entry_external_id_taken": 409,
    "content_type_invalid": 415,
}
HTTP_ERRORS = {
    400: ("bad_request", _l("That request could not be understood.")),
    404: ("not_found", _l("Not found.")),
    405: (
        "method_not_allowed",
        _l("This method is not allowed here; the Allow header lists those that are."),
    ),
    413: ("body_too_large", _l("The request body is too large: at most 1 MB.")),
    429: (
        "rate_limited",
        _l("Too many requests with this key; wait as many seconds as Retry-After says."),
    ),
    500: ("server_error", _l("Something went wrong on our side. Please try again in a moment.")),
}
# RFC 6750: a 401 names the scheme; a key that was sent but is not valid says so.
CHALLENGES = {
    "api_key_missing": 'Bearer realm="huike"',
    "api_key_invalid": 'Bearer realm="huike", error="invalid_token"',
}


def is_api_request() -> bool:
    return request.path.startswith(PREFIX)


def error_response(status: int, code: str, message: str, field: str | None = None, **params):
    response = jsonify(Error(error=code, message=message, field=field, **params).model_dump())
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = CHALLENGES.get(code, CHALLENGES["api_key_missing"])
    return response


def service_error(error: ServiceError):
    return error_response(
        STATUS.get(error.code, 422), error.code, message_for(error), error.field, **error.params
    )


def http_error(error: HTTPException):
    status = error.code or 500
    fallback = HTTP_ERRORS[500] if status >= 500 else HTTP_ERRORS[400]
    code, message = HTTP_ERRORS.get(status, fallback)
    params = {}
    if isinstance(error, RateLimitExceeded):
        params["limit"] = str(error.limit.limit)
    response = error_response(status, code, str(message), **params)
    allowed = getattr(error, "valid_methods", None)  # a 405 names the methods that work
    if allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response
