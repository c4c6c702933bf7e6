"""Text from outside is checked once, where it comes in: an HTTP request's path, query, form,
headers and JSON body, and a socket event's payload.

PostgreSQL cannot store a NUL character, UTF-8 cannot encode an unpaired surrogate, and JSON
nested thousands deep exhausts the parser's stack: each would answer 500 from deep inside a
handler. Refused here, they answer one clear error and nothing is read or written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider

from app.errors import input_error
from tenants.errors import ServiceError

MAX_DEPTH = 32  # an order with its items is 3 deep
MAX_JSON_BODY = 1024 * 1024  # bytes; uploads are multipart, not JSON
_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def unsafe_text(value: str) -> bool:
    return _UNSAFE.search(value) is not None


def _strings(data, field: str | None) -> Iterator[tuple[str, str | None]]:
    """Every string in ``data`` (keys too) with the top-level key it sits under; walked
    without recursion, so the depth check cannot itself overflow."""
    pending = [(data, field, 0)]
    while pending:
        value, where, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise ServiceError("json_too_deep", field=where, max=MAX_DEPTH)
        if isinstance(value, str):
            yield value, where
        elif isinstance(value, dict):
            for key, item in value.items():
                key_text = str(key)
                yield key_text, where or key_text
                pending.append((item, where or key_text, depth + 1))
        elif isinstance(value, list | tuple):
            pending.extend((item, where, depth + 1) for item in value)


def check_input(data, field: str | None = None) -> None:
    """Raise ``text_invalid`` for a NUL or an unpaired surrogate anywhere in ``data``, and
    ``json_too_deep`` for nesting past ``MAX_DEPTH``."""
    for text, where in _strings(data, field):
        if unsafe_text(text):
            raise ServiceError("text_invalid", field=where)


class EdgeJSONProvider(DefaultJSONProvider):
    """Nesting too deep for the parser is invalid JSON (a 400), not a RecursionError (a 500)."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


_TOO_DEEP = _nested(MAX_DEPTH + 1)


class SocketJSON:
    """Socket.IO's packet codec: the standard one, except that a payload nested too deep for
    the parser still reaches its handler, with a stand-in the handler refuses
    (``json_too_deep``), so the client gets an answer instead of a silence."""

    _EVENT = re.compile(r'\[\s*"([\w.:-]{1,64})"\s*,')

    dumps = staticmethod(json.dumps)

    @classmethod
    def loads(cls, text: str):
        try:
            return json.loads(text)
        except RecursionError:
            event = cls._EVENT.match(text)
            if event is None:
                raise ValueError("packet nested too deeply") from None
            return [event.group(1), _TOO_DEEP]


def _check_request(req: Request) -> None:
    check_input(req.path, "path")
    for name, value in req.headers.items():
        if "\x00" in value:
            raise ServiceError("text_invalid", field=name)
    if req.mimetype == "application/x-www-form-urlencoded":
        # kept as it came before the form is parsed from it (parsing would consume it): a
        # webhook's signature is over these bytes (app/calls/hooks.py)
        req.get_data()
    check_input(req.args.to_dict(flat=False))
    check_input(req.form.to_dict(flat=False))
    check_input([f.filename or "" for f in req.files.values()], "file")
    if req.is_json:
        if (req.content_length or 0) > MAX_JSON_BODY:
            raise ServiceError("body_too_large", max_mb=MAX_JSON_BODY // (1024 * 1024))
        body = req.get_json(silent=True)  # invalid JSON is the handler's to word
        if body is not None:
            check_input(body)


def register(app: Flask) -> None:
    """Register first, before any hook that reads the request (CSRF, identity, limits)."""
    app.json_provider_class = EdgeJSONProvider
    app.json = EdgeJSONProvider(app)

    @app.before_request
    def _refuse_unsafe_input():
        try:
            _check_request(request)
        except ServiceError as error:
            return input_error(error)
        return None
