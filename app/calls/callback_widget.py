"""The widget's free callback: the calls module's own widget call, made with the chat's widget
kit (site key, visitor token, flood checks, CORS) the way ``Huike.identify`` is.

``GET /w/api/callback`` is how the panel learns whether to offer it: the panel asks when it
opens (the loader stays as it is, and the chat imports nothing of a paid module). ``POST``
sends the visitor's request. Both answer a Free shop with the one locked shape (402), which the
panel reads as "no callback here"; the site key names the shop only inside the view, so the
lock is checked there, once the shop is known.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from app.calls import callbacks
from app.chat.widget import _lang, fail, from_widget, per_visitor_flood_check, widget_cors
from app.extensions import csrf, limiter
from app.features import locked_payload
from tenants.errors import ServiceError
from tenants.plans import entitlements

bp = Blueprint("calls_widget", __name__, url_prefix="/w")
csrf.exempt(bp)
limiter.exempt(bp)  # flood control is per visitor (the widget kit's checks), limits per day
bp.after_request(widget_cors)


@bp.route("/api/callback", methods=["GET", "POST", "OPTIONS"])
@from_widget(before_queries=per_visitor_flood_check("callback"))
def callback():
    if not entitlements(g.shop).has("calls"):
        return jsonify(locked_payload("calls")), 402
    lang = _lang()
    if request.method == "GET":
        return jsonify(callbacks.offer(g.shop, lang))
    if g.visitor is None:
        return fail(ServiceError("unauthorized"), 401)
    data = g.widget_data
    asked = callbacks.Request(
        phone=str(data.get("phone") or ""),
        country=str(data.get("country") or "").upper(),
        consent=data.get("consent") is True,
        preferred=str(data.get("at") or ""),
        ip=request.remote_addr or "",
        page_url=str(data.get("url") or ""),
    )
    stored, expect = callbacks.request_callback(g.visitor, g.shop, asked, lang)
    return jsonify(ok=True, id=stored.id, message=expect), 201
