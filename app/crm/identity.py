"""The shop's identity secret (/console/settings/identity): what its server signs user ids
with for ``Huike.identify`` (docs/identity.md). Admins see it, masked until revealed, and
rotate it; identity works on every plan, so this page is not gated."""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.console.views import snippet_url
from app.crm import service as crm
from app.forms import act
from tenants.errors import ServiceError
from tenants.permissions import admin_required

bp = Blueprint("crm_identity", __name__, url_prefix="/console/settings/identity")
log = logging.getLogger("huike.crm")


@bp.before_request
@login_required
@admin_required
def _admins_only() -> None:
    """The secret lets its holder speak for any of the shop's users: admins only."""


@bp.after_request
def _not_cached(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("")
def page():
    return render_template(
        "crm/identity.html", secret=current_user.tenant.identity_secret, snippet=snippet_url()
    )


@bp.post("/rotate")
def rotate():
    def rotate_confirmed():
        if request.form.get("confirm") != "yes":
            raise ServiceError("confirm_required", field="confirm")
        crm.rotate_identity_secret(current_user.tenant)
        log.info("identity secret rotated")  # the log filter adds the tenant

    act(rotate_confirmed, _("New secret made. Put it on your server: hashes of the old one fail."))
    return redirect(url_for("crm_identity.page"))
