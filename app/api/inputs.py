"""What a request to /api/v1 may carry, read off the request: a JSON object body and query
parameters, each validated by its Pydantic model (app/crm/schemas.py, app/api/schemas.py) and
refused in the one error shape. Anything else is refused before the service layer sees it, so
a typo never silently means "nothing" or "everything"."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from flask import g, request
from flask.blueprints import BlueprintSetupState
from pydantic import BaseModel
from werkzeug.exceptions import BadRequest
from werkzeug.routing import BaseConverter

from app.schemas import MAX_ID, checked
from tenants.errors import ServiceError

Model = TypeVar("Model", bound=BaseModel)

# An id in a path (``<id:customer_id>``, registered by add_id_converter).
ID_PATH = "id"


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


def json_body(expected: type = dict, refusal: str = "body_invalid"):
    """The request's JSON body, which must be an ``expected`` (an object; a bulk post's array)."""
    if not request.is_json:
        raise ServiceError("content_type_invalid")
    try:
        body = request.get_json()
    except BadRequest as exc:
        raise ServiceError("json_invalid") from exc
    if not isinstance(body, expected):
        raise ServiceError(refusal)
    return body


def no_body() -> None:
    """A DELETE reads no body: one sent is refused, so a request that meant something else
    (or broke on the way) deletes nothing."""
    if request.content_length:
        raise ServiceError("body_unexpected")


def body(model: type[Model]) -> Model:
    """The JSON body as ``model``; phone numbers without a country code are the shop's."""
    return checked(model, json_body(), {"region": g.tenant.country or "CN"})


def query(model: type[Model]) -> Model:
    return checked(model, request.args.to_dict())


def query_names(model: type[BaseModel]) -> list[str]:
    """The parameters a query model takes, as the request names them (``from``, not ``from_``)."""
    return [field.alias or name for name, field in model.model_fields.items()]


def check_params(allowed: Iterable[str]) -> None:
    """Only the parameters the endpoint takes, each once: of ``limit=5&limit=50`` neither
    value is more right than the other."""
    unknown = sorted(set(request.args) - set(allowed))
    if unknown:
        raise ServiceError("param_unknown", field=unknown[0], key=unknown[0])
    repeated = sorted(key for key, values in request.args.lists() if len(values) > 1)
    if repeated:
        raise ServiceError("param_repeated", field=repeated[0], key=repeated[0])
