"""The agent's devices: the browser subscribes itself (JSON, from widget_js/console/push.js),
and the profile lists each device with what it hears while the agent is away or offline."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, user_logged_out

from app.forms import act
from app.messages import message_for
from app.push import service
from app.push.keys import public_key
from tenants.errors import ServiceError

bp = Blueprint("push", __name__)
SESSION_KEY = "push_endpoint"  # this browser's endpoint: logging out forgets the device
# the first mark found names it (Edge and Opera also say Chrome, Chrome also says Safari)
BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"))
BROWSERS += (("Safari/", "Safari"),)
SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"))
SYSTEMS += (("Mac OS X", "macOS"), ("Linux", "Linux"))


@bp.get("/push/key")
@login_required
def key():
    return jsonify(public_key=public_key())


@bp.post("/push/subscriptions")
@login_required
def subscribe():
    data = request.get_json(silent=True) or {}
    keys = data.get("keys") if isinstance(data.get("keys"), dict) else {}
    try:
        device = service.subscribe(
            current_user.membership,
            _text(data.get("endpoint")),
            _text(keys.get("p256dh")),
            _text(keys.get("auth")),
            _device_name(request.user_agent.string),
        )
    except ServiceError as error:
        return jsonify(error=error.code, message=message_for(error), field=error.field), 422
    session[SESSION_KEY] = device.endpoint
    return jsonify(id=device.id, device=device.device, away_kinds=device.away_kinds), 201


@bp.delete("/push/subscriptions")
@login_required
def unsubscribe():
    data = request.get_json(silent=True) or {}
    service.unsubscribe(current_user.membership, _text(data.get("endpoint")))
    session.pop(SESSION_KEY, None)
    return "", 204


@bp.post("/profile/devices/<int:device_id>")
@login_required
def save_device(device_id: int):
    kinds = request.form.getlist("away_kinds")
    act(
        lambda: service.set_away_kinds(current_user.membership, device_id, kinds),
        _("Notifications saved."),
    )
    return redirect(url_for("accounts.profile") + "#devices")


@bp.post("/profile/devices/<int:device_id>/delete")
@login_required
def remove_device(device_id: int):
    act(
        lambda: service.remove_device(current_user.membership, device_id),
        _("The device will get no more notifications."),
    )
    return redirect(url_for("accounts.profile") + "#devices")


@user_logged_out.connect
def _forget_this_browser(_app, user, **_) -> None:
    """A shared phone: whoever logs in next must not get this agent's notices."""
    endpoint = session.get(SESSION_KEY)
    if endpoint and getattr(user, "membership", None) is not None:
        service.unsubscribe(user.membership, endpoint)


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _device_name(agent: str) -> str:
    """ "Chrome on Android", from the User-Agent: enough to tell one's devices apart."""
    browser = next((name for mark, name in BROWSERS if mark in agent), "")
    system = next((name for mark, name in SYSTEMS if mark in agent), "")
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system or _("A browser")
