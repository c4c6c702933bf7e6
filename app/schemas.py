"""What every module's ``schemas.py`` builds on: Pydantic input models whose refusals are the
one ``ServiceError`` shape (a code, the field at fault, parameters), so a model declares a
value's kind, its rules and the code each rule answers in one place.

A field's annotation reads inside out: the JSON kind it takes (``kind``, checked first), then
the rule (a Pydantic constraint such as ``max_length``, which also goes into the JSON Schema),
then the code that rule answers (``refused_as``). ``checked`` validates and raises the first
refusal: the shape of the data (kinds, unknown keys, list lengths) in the order the data gives
its keys, then the rules in the order the model declares its fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tenants.errors import ServiceError

Model = TypeVar("Model", bound=BaseModel)

# The largest id a row can have; SQLite cannot even compare a larger integer.
MAX_ID = 2**63 - 1
# Text with a character that str.strip() keeps: spelled out, because a pattern's \s differs
# between JSON Schema's regular expressions and Python's (\x1c-\x1f, \x85, \ufeff).
NOT_BLANK = r"[^\t-\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


class InputModel(BaseModel):
    """Data sent to Huike: an unknown key is refused (``key_unknown``), so a typo never
    silently drops data. A required key left out is refused as a null one, with the code its
    field's ``refused_as`` declares."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _absent_is_null(cls, data):
        if isinstance(data, dict):
            required = (k for k, f in cls.model_fields.items() if f.is_required())
            data = {**data, **{key: None for key in required if key not in data}}
        return data


@dataclass(frozen=True)
class Kind(BeforeValidator):
    """The JSON kind a value must have, else ``type_invalid`` naming ``expected``."""

    codes: tuple[str, ...] = ("type_invalid",)


@dataclass(frozen=True)
class Refusal(WrapValidator):
    """The code (and parameters) a broken rule of the value answers."""

    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule(AfterValidator):
    """A rule written as a function (a phone number that exists, a cursor Huike gave out).
    ``stated`` is False when no JSON Schema can state it, so a request the document allows
    may still be refused with these codes."""

    codes: tuple[str, ...] = ()
    stated: bool = True


def refuse(code: str, *, shape: bool = False, **params) -> PydanticCustomError:
    """A refusal raised by a validator; ``field`` among the params names another field.
    A refusal of the data's ``shape`` (a kind, a list's length, an amount's digits) is
    answered before any rule about what a value says."""
    return PydanticCustomError(code, code, {**params, "shape": shape})


def kind(expected: str, test: Callable[[Any], bool], null: dict | None = None) -> Kind:
    """JSON true is never 1. Null passes (the field's type says whether it may be null),
    unless ``null`` gives the code (and field) that refuse it here."""

    def check(value):
        if value is None and null:
            raise refuse(**null)
        if value is not None and (isinstance(value, bool) or not test(value)):
            raise refuse("type_invalid", shape=True, expected=expected)
        return value

    return Kind(check, codes=("type_invalid", *([null["code"]] if null else [])))


def refused_as(code: str, *, shape: bool = False, **params) -> Refusal:
    """Answer ``code`` when the value itself breaks a rule inside (a length, a range, null
    where a value is needed); what breaks deeper (a list's entries) keeps its own refusal."""

    def wrap(value, handler):
        try:
            return handler(value)
        except ValidationError as exc:
            if any(error["loc"] == () for error in exc.errors()):
                raise refuse(code, shape=shape, **params) from None
            raise

    return Refusal(wrap, codes=(code,))


def rule(check: Callable[[Any], Any], *codes: str, stated: bool = True) -> Rule:
    return Rule(check, codes=codes, stated=stated)


def moment(text: str) -> datetime:
    """An ISO-8601 moment with its time zone ("Z" too), else ``datetime_invalid``."""
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise refuse("datetime_invalid")
    return at


def is_text(value) -> bool:
    return isinstance(value, str)


def is_texts(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def is_whole_number(value) -> bool:
    """JSON Schema's integer: 7.0 is 7. No row id is larger than MAX_ID."""
    if not isinstance(value, int | float):
        return False
    return (isinstance(value, int) or value.is_integer()) and abs(value) <= MAX_ID


TEXT = kind("string", is_text)
TEXTS = kind("array of strings", is_texts)
WHOLE_NUMBER = kind("integer", is_whole_number)
OBJECT = kind("object", lambda value: isinstance(value, dict))
OBJECTS = kind(
    "array of objects", lambda v: isinstance(v, list) and all(isinstance(i, dict) for i in v)
)


def checked(model: type[Model], data: Mapping, context: Mapping | None = None) -> Model:
    """``data`` as ``model``, or the first refusal as a ServiceError. A key of ``data``
    the model does not know is ``key_unknown`` (``param_unknown`` for a query model)."""
    try:
        return model.model_validate(data, context=dict(context or {}))
    except ValidationError as exc:
        unknown = "param_unknown" if getattr(model, "is_query", False) else "key_unknown"
        errors = exc.errors()
        order = [_order(error, data, declared) for declared, error in enumerate(errors)]
        raise _refusal(errors[order.index(min(order))], unknown) from None


def _refusal(error: Mapping, unknown: str) -> ServiceError:
    params = dict(error.get("ctx") or {})
    params.pop("shape", None)
    field = params.pop("field", None) or _field(error["loc"]) or None  # a whole list: none
    if error["type"] == "extra_forbidden":
        return ServiceError(unknown, field=field, key=field)
    return ServiceError(error["type"], field=field, **params)


def _field(loc: Iterable) -> str:
    """("items", 0, "price") -> "items[0].price"."""
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else part)
    return name


def _order(error: Mapping, data, declared: int) -> tuple:
    """Shape first, in the order of the data; then rules, in the order of the model."""
    if error["type"] == "extra_forbidden" or (error.get("ctx") or {}).get("shape"):
        return (0, _position(error["loc"], data), declared)
    return (1, (), declared)


def _position(loc: tuple, data) -> tuple[int, ...]:
    """Where ``loc`` is in the data as sent: the index of each key and list entry on the way."""
    where = []
    for part in loc:
        if isinstance(data, Mapping) and part in data:
            where.append(list(data).index(part))
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            where.append(part)
            data = data[part]
        else:
            break
    return tuple(where)


def codes_of(model: type[BaseModel], *, unstated_only: bool = False) -> set[str]:
    """The refusal codes validating ``model`` can answer (only those no JSON Schema states,
    with ``unstated_only``)."""
    codes: set[str] = set()
    if not unstated_only and model.model_config.get("extra") == "forbid":
        codes.add("param_unknown" if getattr(model, "is_query", False) else "key_unknown")
    for field in model.model_fields.values():
        for found in (*field.metadata, field.annotation):
            codes |= _codes_in(found, unstated_only)
    return codes


def _codes_in(annotation, unstated_only: bool) -> set[str]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return codes_of(annotation, unstated_only=unstated_only)
    codes: set[str] = set()
    unstated = isinstance(annotation, Rule) and not annotation.stated
    if isinstance(annotation, Kind | Refusal | Rule) and (unstated or not unstated_only):
        codes |= set(annotation.codes)
    for inner in (*getattr(annotation, "__metadata__", ()), *get_args(annotation)):
        codes |= _codes_in(inner, unstated_only)
    return codes
