"""What a request to /api/v1 may carry: a JSON object of known keys and types, known query
parameters, a page size and an opaque cursor. Anything else is refused before the service
layer sees it, so a typo never silently means "nothing" or "everything"."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable

from flask import request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import BadRequest
from werkzeug.routing import BaseConverter

from app.crm.service import MAX_EMAILS, MAX_PHONES, MAX_TAGS
from tenants.errors import ServiceError

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_QUANTITY = 1_000_000
# An amount as text: digits, and decimals after a point ("199.50"; not "1e3", not " 5").
AMOUNT_TEXT = r"[0-9]+(\.[0-9]+)?"
# The largest id a row can have; SQLite cannot even compare a larger integer.
MAX_ID = 2**63 - 1
# An id in a path (``<id:customer_id>``, registered by add_id_converter).
ID_PATH = "id"
# The list's owner filter: none, or a member's id (ids never reach 19 digits).
OWNER_FILTER = r"none|[0-9]{1,18}"

# A key's kind -> the JSON values it takes (null always: "none" or "clear"). Booleans never
# pass for a number: JSON true is not 1.
ACCEPTS = {
    "string": (str,),
    "id": (str, int),  # the shop's own ids may be numbers; they are kept as text
    "integer": (int, float),  # a float only when whole (7.0), as JSON Schema counts it
    "amount": (str, int, float),  # a decimal in major units: "199.50" or 199.5
    "strings": (list,),
    "object": (dict,),
    "fields": (dict,),
    "items": (list,),
}
EXPECTED = {
    "string": "string",
    "id": "string or integer",
    "integer": "integer",
    "amount": "decimal string or number",
    "strings": "array of strings",
    "object": "object",
    "fields": "object of strings and numbers",
    "items": "array of objects",
}
ITEM = {"name": "string", "quantity": "integer", "price": "amount"}
# The most entries a list may have as sent (blank ones too: the document's maxItems).
MAX_ITEMS = {"phones": MAX_PHONES, "emails": MAX_EMAILS, "tags": MAX_TAGS, "items": 200}


class IdConverter(BaseConverter):
    """A row id in a path. An id past any row's reads as 0, which no row has, so it answers
    the same 404 as any unknown id. (``int(max=...)`` refuses it instead, and werkzeug then
    answers a PATCH to it with a 405 naming GET: the GET rule matched the path.)"""

    regex = r"[0-9]+"
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = int(value)
        return number if number <= MAX_ID else 0

    def to_url(self, value) -> str:
        return str(int(value))


def add_id_converter(state: BlueprintSetupState) -> None:
    """For ``Blueprint.record_once``, before the blueprint's first route."""
    state.app.url_map.converters.setdefault(ID_PATH, IdConverter)


def json_body() -> dict:
    if not request.is_json:
        raise ServiceError("content_type_invalid")
    try:
        body = request.get_json()
    except BadRequest as exc:
        raise ServiceError("json_invalid") from exc
    if not isinstance(body, dict):
        raise ServiceError("body_invalid")
    return body


def checked(body: dict, shape: dict[str, str], prefix: str = "") -> dict:
    """A copy of ``body`` whose every key is in ``shape`` with a value of its kind; ids as text,
    nested objects and order items checked the same way."""
    clean = {}
    for key, value in body.items():
        name, kind = prefix + key, shape.get(key)
        if kind is None:
            raise ServiceError("key_unknown", field=name, key=name)
        if value is not None and not _is_kind(value, kind):
            raise ServiceError("type_invalid", field=name, expected=EXPECTED[kind])
        most = MAX_ITEMS.get(key)
        if most is not None and value is not None and len(value) > most:
            raise ServiceError("too_many", field=name, max=most)
        if kind == "amount" and isinstance(value, str) and not re.fullmatch(AMOUNT_TEXT, value):
            raise ServiceError("amount_invalid", field=name)
        if kind == "integer" and isinstance(value, float):
            value = int(value)  # JSON Schema's integer: 7.0 is 7
        elif kind == "id" and isinstance(value, int):
            value = str(value)
        elif kind == "items" and value is not None:
            value = [_item(item, f"{name}[{i}].") for i, item in enumerate(value)]
        clean[key] = value
    return clean


def _is_kind(value, kind: str) -> bool:
    if isinstance(value, bool) or not isinstance(value, ACCEPTS[kind]):
        return False
    if kind == "strings":
        return all(isinstance(v, str) for v in value)
    if kind == "fields":
        return all(v is None or _is_kind(v, "amount") for v in value.values())
    if kind == "items":
        return all(isinstance(v, dict) for v in value)
    if kind == "integer":
        return (isinstance(value, int) or value.is_integer()) and abs(value) <= MAX_ID
    return True


def _item(item: dict, prefix: str) -> dict:
    item = checked(item, ITEM, prefix)
    quantity = item.get("quantity")
    if quantity is not None and not 1 <= quantity <= MAX_QUANTITY:
        raise ServiceError("quantity_invalid", field=prefix + "quantity", max=MAX_QUANTITY)
    return item


def check_params(allowed: Iterable[str]) -> None:
    """Only the parameters the endpoint takes, each once: of ``limit=5&limit=50`` neither
    value is more right than the other."""
    unknown = sorted(set(request.args) - set(allowed))
    if unknown:
        raise ServiceError("param_unknown", field=unknown[0], key=unknown[0])
    repeated = sorted(key for key, values in request.args.lists() if len(values) > 1)
    if repeated:
        raise ServiceError("param_repeated", field=repeated[0], key=repeated[0])


def page_limit() -> int:
    raw = request.args.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not re.fullmatch("[0-9]{1,3}", raw) or not 1 <= int(raw) <= MAX_LIMIT:  # not "²"
        raise ServiceError("limit_invalid", field="limit", max=MAX_LIMIT)
    return int(raw)


def encode_cursor(*values) -> str:
    """Where the next page starts, opaque to the caller (they pass it back unchanged)."""
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kinds: tuple[type, ...]) -> list | None:
    """The ``cursor`` parameter's values, each of the kind given; None on the first page."""
    raw = request.args.get("cursor", "")
    if not raw:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError as exc:  # bad base64, bad UTF-8 and bad JSON are all ValueErrors
        raise ServiceError("cursor_invalid", field="cursor") from exc
    if not (
        isinstance(values, list)
        and len(values) == len(kinds)
        and all(_is_cursor_value(v, k) for v, k in zip(values, kinds, strict=True))
    ):
        raise ServiceError("cursor_invalid", field="cursor")
    return values


def _is_cursor_value(value, kind: type) -> bool:
    if isinstance(value, bool) or not isinstance(value, kind):
        return False
    return kind is not int or abs(value) <= MAX_ID
