"""What a request to /api/v1 names besides its body: the path's ids and the query's
parameters, one Pydantic model per operation, which checks them (inputs.query) and gives the
document its parameters. A page's cursor is opaque to the caller; it is made and read here.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from app.calls import log
from app.calls.models import CALL_STATUSES, DIRECTIONS
from app.schemas import MAX_ID, moment, refuse, refused_as, rule
from tenants.errors import ServiceError

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# The list's owner filter: none, or a member's id (ids never reach 19 digits).
OWNER_FILTER = r"none|[0-9]{1,18}"


class CustomerPath(BaseModel):
    customer_id: int = Field(description="Huike's id of the customer.")


class OrderPath(BaseModel):
    order_id: str = Field(description="The shop's order id, URL-encoded.")


def encode_cursor(*values) -> str:
    """Where the next page starts, opaque to the caller (they pass it back unchanged)."""
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decoded(raw: str, kinds: tuple[type, ...]) -> list:
    """A cursor's values, each of the kind given, or ``cursor_invalid``."""
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:  # bad base64, bad UTF-8 and bad JSON are all ValueErrors
        raise refuse("cursor_invalid") from None
    if not (
        isinstance(values, list)
        and len(values) == len(kinds)
        and all(_is_cursor_value(v, k) for v, k in zip(values, kinds, strict=True))
    ):
        raise refuse("cursor_invalid")
    return values


def _is_cursor_value(value, kind: type) -> bool:
    if isinstance(value, bool) or not isinstance(value, kind):
        return False
    return kind is not int or abs(value) <= MAX_ID


def _after_id(raw: str) -> int | None:
    return _decoded(raw, (int,))[0] if raw else None  # none: the first page


def _before_entry(raw: str) -> tuple[datetime, int] | None:
    if not raw:
        return None
    at, entry_id = _decoded(raw, (str, int))
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise refuse("cursor_invalid")
    return when, entry_id


def _cursor(decode) -> Any:
    schema = {"type": "string", "description": "The `next_cursor` of the previous page, unchanged."}
    return Annotated[Any, rule(decode, "cursor_invalid", stated=False), WithJsonSchema(schema)]


def _limit(raw: str) -> str:
    if not re.fullmatch("[0-9]{1,3}", raw):  # not "²", which str.isdigit() takes
        raise refuse("limit_invalid", max=MAX_LIMIT)
    return raw


Limit = Annotated[
    int,
    Field(ge=1, le=MAX_LIMIT),
    refused_as("limit_invalid", max=MAX_LIMIT),
    BeforeValidator(_limit),
]


class QueryModel(BaseModel):
    """A request's query parameters: each given once (inputs.check_params), none unknown."""

    model_config = ConfigDict(extra="forbid")
    is_query: ClassVar[bool] = True


class TimelineQuery(QueryModel):
    limit: Limit = DEFAULT_LIMIT
    cursor: _cursor(_before_entry) = None


def _has_ordered(value: str) -> str:
    if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise refuse("filter_invalid")
    return value


def _day(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise refuse("date_invalid") from None
    return value


Day = Annotated[
    str, rule(_day, "date_invalid"), WithJsonSchema({"type": "string", "format": "date"})
]


class CustomerListQuery(QueryModel):
    limit: Limit = DEFAULT_LIMIT
    cursor: _cursor(_after_id) = None
    q: str = Field(
        None,
        description=(
            "A phone (also its start), an e-mail (or its start), the external id, "
            "or the start of the name."
        ),
    )
    tag: str = Field(None, description="Customers with this tag.")
    owner_id: Annotated[str, Field(pattern=f"^({OWNER_FILTER})$"), refused_as("owner_invalid")] = (
        Field(None, description="An owner's member id, or `none` for customers without one.")
    )
    has_ordered: Annotated[
        str,
        rule(_has_ordered, "filter_invalid"),
        WithJsonSchema({"type": "string", "enum": ["true", "false", "1", "0", "yes", "no"]}),
    ] = Field(None, description="true or false.")
    ordered_after: Day = Field(
        None, description="Last order on or after this day (the shop's time zone)."
    )
    ordered_before: Day = Field(None, description="Last order before this day.")
    updated_since: Annotated[
        Any,
        rule(moment, "datetime_invalid"),
        WithJsonSchema({"type": "string", "format": "date-time"}),
    ] = Field(None, description="Changed at or after this moment (with a time zone): for syncing.")

    FILTERS: ClassVar = ("q", "tag", "owner_id", "has_ordered", "ordered_after", "ordered_before")

    def filters(self) -> dict[str, str]:
        """The filters given, for crm.search."""
        return {key: getattr(self, key) for key in self.FILTERS if getattr(self, key) is not None}


class CallPath(BaseModel):
    call_id: int = Field(description="Huike's id of the call.")


def _day_or_moment(value: str) -> str:
    if log.DAY.fullmatch(value):
        return _day(value)
    moment(value)
    return value


DayOrMoment = Annotated[
    str,
    rule(_day_or_moment, "date_invalid", "datetime_invalid"),
    WithJsonSchema({"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]}),
]


def _typed_number(value: str) -> str:
    try:
        log.check_number(value)
    except ServiceError:
        raise refuse("filter_invalid") from None
    return value


def _in(allowed: tuple[str, ...]):
    def check(value: str) -> str:
        if value not in allowed:
            raise refuse("filter_invalid")
        return value

    return check


class CallListQuery(QueryModel):
    limit: Limit = DEFAULT_LIMIT
    cursor: _cursor(_after_id) = None
    from_: DayOrMoment = Field(
        None,
        alias="from",
        description=(
            "Calls that started at or after this moment (with its time zone), or on or after "
            "this day (YYYY-MM-DD, in the shop's time zone)."
        ),
    )
    to: DayOrMoment = Field(
        None,
        description=(
            "Calls that started before this moment, or on or before this day (the day "
            "included, in the shop's time zone)."
        ),
    )
    direction: Annotated[
        str,
        rule(_in(DIRECTIONS), "filter_invalid"),
        WithJsonSchema({"type": "string", "enum": list(DIRECTIONS)}),
    ] = Field(None, description="`in` (the customer called) or `out` (the shop called).")
    status: Annotated[
        str,
        rule(_in(CALL_STATUSES), "filter_invalid"),
        WithJsonSchema({"type": "string", "enum": list(CALL_STATUSES)}),
    ] = Field(None, description="The call's status now.")
    number: Annotated[
        str,
        rule(_typed_number, "filter_invalid"),
        WithJsonSchema({"type": "string", "pattern": f"^(?=[^0-9]*[0-9]){log.TYPED_NUMBER}$"}),
    ] = Field(
        None,
        description=(
            "The customer's number or its start: with `+`, the start of the E.164 number; "
            "digits alone may also be a national number (the trunk 0 left out) or a PBX "
            "extension. Spaces, dashes, dots and brackets are ignored."
        ),
    )
