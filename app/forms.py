"""Running the change a console form asks for."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import abort, flash

from app.messages import message_for
from tenants.db import db
from tenants.errors import ServiceError

T = TypeVar("T")


def act(action: Callable[[], T], success: str | None = None) -> T | None:
    """Run the change and confirm it, or undo it (a savepoint) and explain why, while the page
    goes on; the request's unit of work commits. The page's own object not being this shop's
    (``not_found`` without a field) is a 404, like any foreign id."""
    try:
        with db.begin_nested():
            result = action()
    except ServiceError as error:
        if error.code == "not_found" and error.field is None:
            abort(404)
        flash(message_for(error), "error")
        return None
    if success:
        flash(success, "success")
    return result
