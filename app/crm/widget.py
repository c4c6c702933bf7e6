"""``Huike.identify`` from the shop's page (docs/identity.md): the CRM's own widget call, made
with the chat's widget kit (site key, visitor token, flood checks, CORS)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify

from app.chat import service as chat
from app.chat.widget import (
    announce_visitor,
    fail,
    from_widget,
    per_visitor_flood_check,
    widget_cors,
)
from app.crm import recognition
from app.extensions import csrf, limiter
from tenants.errors import ServiceError

bp = Blueprint("crm_widget", __name__, url_prefix="/w")
csrf.exempt(bp)
limiter.exempt(bp)  # flood control is per visitor (the widget kit's checks)
bp.after_request(widget_cors)


@bp.route("/api/identify", methods=["POST", "OPTIONS"])
@from_widget(before_queries=per_visitor_flood_check("identify"))
def identify():
    """The shop's server signed its user id; a valid hash binds this visitor to that customer,
    anything else is refused and binds nothing. Every attempt counts against the visitor's
    allowance, refused ones most of all."""
    if g.visitor is None:
        return fail(ServiceError("unauthorized"), 401)
    visitor = recognition.identify(g.visitor, g.shop, g.widget_data.get("identity"))
    answer = {"ok": True}
    if visitor is not g.visitor:  # another buyer on this browser: their own visitor
        answer["t"] = chat.visitor_token(current_app.config["SECRET_KEY"], visitor)
    announce_visitor(visitor)  # the agents see the name once the request commits
    return jsonify(answer)
