"""The widget's HTTP side: the loader script, page views and pings, left messages, files.

Called from the shop's own pages (another origin): CORS is answered here, and the shop's
allowed domains are enforced once the site key says which shop it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    request,
    send_file,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from app.chat import flood, invitations, refusals, service, signals
from app.chat.conversations import group_for_page
from app.chat.models import Attachment, InvitationRule, Message
from app.chat.payloads import attachment_json, visitor_json
from app.chat.peers import AGENT, agents_room, emit_after_commit
from app.chat.responders import answers_when_away
from app.chat.uploads import UPLOAD_MAX_BYTES, store_upload, upload_dir, visitor_may_see
from app.extensions import csrf, limiter
from app.messages import message_for
from tenants.db import bind_tenant, db, scoped_get
from tenants.errors import ServiceError

bp = Blueprint("widget", __name__, url_prefix="/w")
csrf.exempt(bp)
limiter.exempt(bp)  # flood control here is per visitor and per address (app.chat.flood)

STATIC = Path(__file__).resolve().parent.parent / "static" / "widget"


def _lang() -> str:
    wanted = (request.get_json(silent=True) or {}).get("lang") or request.args.get("lang") or ""
    if not wanted:
        wanted = request.accept_languages.best_match(["zh", "en"], default="en")
    return "zh_CN" if str(wanted).lower().startswith("zh") else "en"


def fail(error: ServiceError, status: int = 400):
    with force_locale(_lang()):
        body = {"error": error.code, "message": message_for(error), "field": error.field}
    return jsonify(body), status


@bp.after_request
def widget_cors(response: Response) -> Response:
    """The shop's pages call the widget API from their own origin (checked per call)."""
    origin = request.headers.get("Origin")
    if origin and request.path.startswith("/w/api/"):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
        response.vary.add("Origin")
    return response


def from_widget(
    fn=None,
    *,
    before_queries: Callable[[dict], None] | None = None,
    count_refusal: bool = False,
):
    """Resolve the shop from the site key (and the visitor from the token) for a widget call.

    ``count_refusal``: a refusal of this call (the page's website is not allowed) is counted for
    the console home (app/chat/refusals.py): page views only, one per page.

    ``before_queries(data)`` runs first and may refuse the call (a ServiceError): flood checks
    go there. On SQLite the first query takes the database's write lock, and a green thread
    that then waited on anything (Redis, or the timer thread limits' memory storage starts)
    left every other request blocked in SQLite's busy wait: the whole server froze for 30 s.
    """
    if fn is None:
        return lambda view: from_widget(
            view, before_queries=before_queries, count_refusal=count_refusal
        )

    @wraps(fn)
    def run(*args, **kwargs):
        if request.method == "OPTIONS":
            return Response(status=204)
        data = request.get_json(silent=True) if request.is_json else None
        data = data if isinstance(data, dict) else {}
        g.widget_data = data
        if before_queries is not None:
            try:
                before_queries(data)
            except ServiceError as error:
                return fail(error, 429 if error.code == "rate_limited" else 400)
        key = data.get("k") or request.args.get("k") or ""
        tenant = service.tenant_for_site_key(str(key))
        if tenant is None or tenant.status != "active":
            return fail(ServiceError("unknown_site"), 404)
        bind_tenant(tenant.id)
        g.chat_settings = service.settings()
        origin = request.headers.get("Origin")
        if not service.origin_allowed(origin, g.chat_settings.allowed_domains):
            if count_refusal:  # the refusal changes nothing: this unit (reads) ends first
                db.remove()
                refusals.record(tenant.id, tenant.timezone, origin)
            return fail(ServiceError("origin_not_allowed"), 403)
        g.shop = tenant
        token = data.get("t") or request.args.get("t") or ""
        parsed = service.read_visitor_token(current_app.config["SECRET_KEY"], str(token))
        g.visitor = None
        if parsed is not None and parsed[0] == tenant.id:
            g.visitor = service.visitor_by_key(parsed[1])
        try:
            return fn(*args, **kwargs)
        except ServiceError as error:  # an error answer: the request's unit rolls back
            return fail(error, 429 if error.code == "rate_limited" else 400)

    return run


def _presence(url: str) -> dict:
    """Can someone answer on this page: in hours, and an agent online in the page's group; and
    ``bot``: an automated responder chats while nobody can (no leave-message form then)."""
    open_now = service.in_hours(g.chat_settings, g.shop.timezone)
    group = group_for_page(url, None)
    online = open_now and bool(service.online_agents(group))
    return {"online": online, "in_hours": open_now, "bot": not online and answers_when_away()}


def _unread(visitor) -> int:
    conversation = service.open_conversation(visitor)
    if conversation is None:
        return 0
    return db.scalar(
        select(func.count())
        .select_from(Message)
        .where(
            Message.conversation_id == conversation.id,
            Message.sender == "agent",
            Message.seq > conversation.visitor_read_seq,
        )
    )


def _client_ip() -> str:
    return request.remote_addr or "?"


# --- the loader --------------------------------------------------------------------------


def loader_config(tenant, chat) -> dict:
    """Inlined in the loader: only what drawing the button needs (the loader budget is 3 KB)."""
    return {
        "color": chat.color,
        "ink": text_on(chat.color),
        "lang": "zh-CN" if tenant.locale.startswith("zh") else "en",
        "style": button_style(chat),
    }


def button_style(chat) -> str:
    """The button's colours and place as CSS custom properties the loader puts on its host
    element, read by loader.css and panel.css (the other side stays auto): worked out here so
    the loader carries no code for them."""
    side = "--hkl" if chat.launcher_side == "left" else "--hkr"
    return (
        f"--hk:{chat.color};--hkt:{text_on(chat.color)};"
        f"{side}:{chat.launcher_offset}px;--hkb:{chat.launcher_bottom}px"
    )


def text_on(color: str) -> str:
    """The text colour that reads on the shop's colour (#rgb / #rrggbb), by YIQ brightness:
    worked out here so the loader carries no code for it."""
    digits = (color or "").strip().lstrip("#")
    if not re.fullmatch(r"[0-9a-fA-F]{3}|[0-9a-fA-F]{6}", digits):
        return "#fff"
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return "#1f2329" if red * 299 + green * 587 + blue * 114 > 160000 else "#fff"


def default_texts(lang: str) -> dict[str, str]:
    """What the widget says when the shop wrote no greeting or away text, in ``lang``."""
    with force_locale(lang):
        return {
            "greeting": _("Hello! How can we help you today?"),
            "offline_text": _("We are away right now. Leave a message and we reply soon."),
        }


def panel_config(tenant, chat, lang: str) -> dict:
    """Sent with the first page view's answer: what the panel and the invitation rules need.
    The shop's own texts as written; the defaults in the visitor's language."""
    defaults = default_texts(lang)
    groups = db.scalars(select(service.Group).order_by(service.Group.position, service.Group.id))
    rules = db.scalars(select(InvitationRule).where(InvitationRule.enabled.is_(True)))
    return {
        "in_hours": service.in_hours(chat, tenant.timezone),
        "greeting": chat.greeting or defaults["greeting"],
        "offline_text": chat.offline_text or defaults["offline_text"],
        "groups": [{"id": grp.id, "name": grp.name} for grp in groups],
        "rules": [{"pattern": r.url_pattern, "seconds": r.seconds, "text": r.text} for r in rules],
        "max_upload": UPLOAD_MAX_BYTES,
    }


@bp.get("/<site_key>.js")
def loader(site_key: str):
    tenant = service.tenant_for_site_key(site_key)
    script = STATIC / "loader.js"
    headers = {"Cache-Control": "public, max-age=60", "X-Content-Type-Options": "nosniff"}
    if tenant is None or tenant.status != "active":
        # An unknown or suspended shop shows no widget, and breaks nothing on the page.
        return Response(
            "/* huike: no widget for this site key */", 200, headers, mimetype="text/javascript"
        )
    if not script.exists():
        abort(503, description="The widget is not built: run `make widget`.")
    bind_tenant(tenant.id)
    boot = {"siteKey": tenant.site_key, "config": loader_config(tenant, service.settings())}
    return Response(loader_script(boot), 200, headers, mimetype="text/javascript")


def loader_script(boot: dict) -> str:
    """The built loader with ``boot`` inlined; no "<" in it, so safe in an HTML <script> too."""
    code = (STATIC / "loader.js").read_text(encoding="utf-8")
    inlined = json.dumps(boot, ensure_ascii=False).replace("<", "\\u003c")
    return code.replace('"__HUIKE_BOOT__"', inlined, 1)


# --- page views, pings, left messages ----------------------------------------------------


def announce_visitor(visitor) -> None:
    """Tell the shop's agents what the visitor is doing now, once the unit has committed."""
    chatting = service.open_conversation(visitor) is not None
    summary = visitor_json(visitor, chatting, service.recent_pages(visitor.id, 5))
    emit_after_commit("visitor", summary, agents_room(visitor.tenant_id), AGENT)


def _flood_check(kind: str, key: str) -> None:
    if not flood.allow(kind, key):
        raise ServiceError("rate_limited")


@bp.route("/api/hello", methods=["POST", "OPTIONS"])
@from_widget(before_queries=lambda _data: _flood_check("hello", _client_ip()), count_refusal=True)
def hello():
    data = g.widget_data
    visitor = service.record_page_view(
        g.visitor,
        url=str(data.get("url") or ""),
        title=str(data.get("title") or ""),
        referrer=str(data.get("referrer") or ""),
        lang=str(data.get("lang") or ""),
        user_agent=request.user_agent.string,
        ip=_client_ip(),
    )
    signals.page_viewed.send(visitor)
    token = service.visitor_token(current_app.config["SECRET_KEY"], visitor)
    answer = {
        "t": token,
        "visitor": visitor.id,
        "unread": _unread(visitor),
        "invite": service.take_invite(visitor),
        **_presence(str(data.get("url") or "")),
        "config": panel_config(g.shop, g.chat_settings, _lang()),
    }
    announce_visitor(visitor)
    return jsonify(answer)


def _wait_for_invitation(data: dict) -> None:
    """``w``: the loader's ping waits up to that many seconds for an invitation (a long poll),
    before any query: no database connection is held while it waits (app/chat/invitations.py)."""
    try:
        seconds = float(data.get("w") or 0)
    except (TypeError, ValueError):
        seconds = 0
    if not seconds > 0:
        return
    _flood_check("poll", _client_ip())
    parsed = service.read_visitor_token(current_app.config["SECRET_KEY"], str(data.get("t") or ""))
    if parsed is not None:  # else the view answers 401 at once
        invitations.wait(parsed[0], parsed[1], seconds)


@bp.route("/api/ping", methods=["POST", "OPTIONS"])
@from_widget(before_queries=_wait_for_invitation)
def ping():
    if g.visitor is None:
        return fail(ServiceError("unauthorized"), 401)
    url = str(g.widget_data.get("url") or "")
    service.touch(g.visitor, url)
    answer = {
        "unread": _unread(g.visitor),
        "invite": service.take_invite(g.visitor),
        **_presence(url),
    }
    announce_visitor(g.visitor)  # still here: keeps the agents' live list current
    return jsonify(answer)


def _leave_first(data: dict) -> None:
    """Only messages that would be stored count against the address's allowance."""
    service.check_left_message(
        *(str(data.get(f) or "") for f in ("name", "text", "phone", "email"))
    )
    _flood_check("leave", _client_ip())


@bp.route("/api/leave", methods=["POST", "OPTIONS"])
@from_widget(before_queries=_leave_first)
def leave():
    data = g.widget_data
    left = service.leave_message(
        g.visitor,
        name=str(data.get("name") or ""),
        text=str(data.get("text") or ""),
        phone=str(data.get("phone") or ""),
        email=str(data.get("email") or ""),
        page_url=str(data.get("url") or ""),
    )
    signals.left_message_created.send(left, visitor=g.visitor)
    emit_after_commit(
        "left_message", {"id": left.id, "name": left.name}, agents_room(g.shop.id), AGENT
    )
    return jsonify(ok=True, id=left.id), 201


# --- files -------------------------------------------------------------------------------


def per_visitor_flood_check(kind: str) -> Callable[[dict], None]:
    """The visitor named by a valid token (no query needed: it is signed) uses up ``kind``."""

    def check(data: dict) -> None:
        token = str(data.get("t") or request.args.get("t") or "")
        parsed = service.read_visitor_token(current_app.config["SECRET_KEY"], token)
        if parsed is not None:  # else the view answers 401
            _flood_check(kind, f"{parsed[0]}:{parsed[1]}")

    return check


@bp.route("/api/upload", methods=["POST", "OPTIONS"])
@from_widget(before_queries=per_visitor_flood_check("upload"))
def upload():
    if g.visitor is None:
        return fail(ServiceError("unauthorized"), 401)
    attachment = store_upload(request.files.get("file"), g.visitor.id)
    token = service.visitor_token(current_app.config["SECRET_KEY"], g.visitor)
    return jsonify(attachment=attachment_json(attachment, token)), 201


@bp.get("/files/<int:attachment_id>")
def file(attachment_id: int):
    """To the shop's agents (session) or to the visitor in whose chat it is (token)."""
    if current_user.is_authenticated:
        attachment = scoped_get(Attachment, attachment_id)
    else:
        parsed = service.read_visitor_token(
            current_app.config["SECRET_KEY"], request.args.get("t", "")
        )
        if parsed is None:
            abort(404)
        bind_tenant(parsed[0])
        visitor = service.visitor_by_key(parsed[1])
        attachment = scoped_get(Attachment, attachment_id)
        if visitor is None or attachment is None or not visitor_may_see(attachment, visitor):
            abort(404)
    if attachment is None:
        abort(404)
    response = send_file(
        upload_dir(attachment.tenant_id) / attachment.storage_key,
        mimetype=attachment.content_type,
        as_attachment=not attachment.content_type.startswith("image/"),
        download_name=attachment.name,
        max_age=3600,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
