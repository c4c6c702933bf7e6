"""Error pages in the product's look, and the same errors as JSON for API clients."""

from __future__ import annotations

import logging
from contextlib import nullcontext

from flask import Flask, jsonify, render_template, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from app.api import errors as api_errors
from app.chat.uploads import UPLOAD_ENDPOINTS, too_big
from app.features import wants_json
from app.messages import message_for
from tenants.db import db
from tenants.errors import ServiceError

log = logging.getLogger("huike.errors")

TITLES = {
    400: _l("That request could not be understood"),
    403: _l("You don't have access to this page"),
    404: _l("Page not found"),
    405: _l("That action is not allowed here"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
}
DETAILS = {
    400: _l("Please check what you entered and try again."),
    403: _l("Ask your shop's owner or an admin if you need it."),
    404: _l("The page may have moved, or the link is wrong."),
    405: _l("Please go back and use the page's own buttons."),
    429: _l("Please wait a minute before you try again."),
    500: _l("We have been told and are looking into it. Please try again in a moment."),
}
CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
    500: "server_error",
}


def _render(status: int, detail: str | None = None):
    message = str(detail or DETAILS.get(status, ""))
    if wants_json():
        return jsonify(error=CODES.get(status, "error"), message=message), status
    return render_template(
        "errors/error.html", status=status, title=TITLES.get(status, ""), detail=message
    ), status


def input_error(error: ServiceError):
    """Input refused at the edge (app/edges.py): the API's shape for the API, JSON for the
    widget and scripts, the error page for a browser."""
    status = 413 if error.code == "body_too_large" else 400
    if api_errors.is_api_request():
        return api_errors.error_response(
            status, error.code, message_for(error), error.field, **error.params
        )
    # the widget and the phone providers' webhooks are scripts, whatever they accept
    if wants_json() or request.path.startswith(("/w/", "/calls/hook/")):
        return jsonify(error=error.code, message=message_for(error), field=error.field), status
    return _render(status, message_for(error))


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        db.rollback()
        return _render(
            400,
            _l("Your form expired or came from elsewhere. Reload the page and submit it again."),
        )

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(error: RequestEntityTooLarge):
        """An upload over the body limit says the file size limit, as JSON, in the widget's
        language (its ``lang``) or the person's."""
        if request.endpoint not in UPLOAD_ENDPOINTS:
            return _http(error)
        db.rollback()
        refusal = too_big()
        lang = request.args.get("lang", "").lower()
        chosen = force_locale("zh_CN" if lang.startswith("zh") else "en") if lang else nullcontext()
        with chosen:
            body = {"error": refusal.code, "message": message_for(refusal), "field": refusal.field}
        return jsonify(body), 413

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        db.rollback()
        if api_errors.is_api_request():  # the API's own shape, even for an unknown path
            return api_errors.http_error(error)
        if error.code == 429:
            return _render(429)
        custom = error.description if error.description != type(error).description else None
        return _render(error.code or 500, custom)

    @app.errorhandler(Exception)
    def _crash(error: Exception):
        if isinstance(error, HTTPException):
            return _http(error)
        db.rollback()
        log.exception("unhandled error")
        if api_errors.is_api_request():
            return api_errors.http_error(InternalServerError())
        return _render(InternalServerError.code)
