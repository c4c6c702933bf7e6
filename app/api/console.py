"""The console's API keys page (/console/settings/api-keys): a shop's admins make, list and
revoke the keys its server uses for /api/v1. A new key is shown once, on the answer to the
form that made it; only its hash is kept."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.api import keys
from app.api.inputs import ID_PATH, add_id_converter
from app.api.models import ApiKey
from app.api.schemas import members_by_id
from app.features import GatedBlueprint
from app.messages import message_for
from tenants.db import scoped_get
from tenants.errors import ServiceError
from tenants.permissions import admin_required

bp = GatedBlueprint("api_keys", __name__, feature="crm", url_prefix="/console/settings/api-keys")
bp.record_once(add_id_converter)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in member of this shop."""


def _list(error: ServiceError | None = None, name: str = "", status: int = 200):
    rows = keys.keys()
    return render_template(
        "api/keys.html",
        keys=rows,
        creators=members_by_id(k.created_by_id for k in rows),
        error=error,
        message=message_for(error) if error else None,
        name=name,
        api_base=(current_app.config["BASE_URL"] or request.host_url.rstrip("/")) + "/api/v1",
    ), status


@bp.get("/")
@admin_required
def index():
    return _list()


@bp.post("/")
@admin_required
def create():
    name = request.form.get("name", "")
    try:
        key, token = keys.create_key(name, current_user.membership.id)
    except ServiceError as error:
        return _list(error, name, 422)
    # The one time the key exists in clear: never cached, never in a URL or the session.
    return render_template("api/created.html", key=key, token=token), {"Cache-Control": "no-store"}


@bp.get(f"/<{ID_PATH}:key_id>/revoke")
@admin_required
def confirm_revoke(key_id: int):
    key = scoped_get(ApiKey, key_id) or abort(404)
    return render_template("api/revoke.html", key=key)


@bp.post(f"/<{ID_PATH}:key_id>/revoke")
@admin_required
def revoke(key_id: int):
    try:
        key = keys.revoke(key_id)
    except ServiceError:
        abort(404)
    flash(
        _('The key "%(name)s" is revoked: requests with it are refused.', name=key.name), "success"
    )
    return redirect(url_for("api_keys.index"))
