"""The signed-in identity: a person *in one shop*, so a session is never valid in another."""

from __future__ import annotations

from flask import jsonify, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin

from app.extensions import login_manager
from app.features import wants_json
from tenants.models import Membership, Tenant, User
from tenants.service import load_membership


class Principal(UserMixin):
    def __init__(self, membership: Membership) -> None:
        self.membership = membership

    @property
    def user(self) -> User:
        return self.membership.user

    @property
    def tenant(self) -> Tenant:
        return self.membership.tenant

    @property
    def is_admin(self) -> bool:
        return self.membership.is_admin

    def get_id(self) -> str:
        m = self.membership
        return f"{m.user_id}:{m.tenant_id}:{m.user.session_version}"


@login_manager.user_loader
def _load(identity: str) -> Principal | None:
    try:
        user_id, tenant_id, version = (int(part) for part in identity.split(":"))
    except ValueError:
        return None
    membership = load_membership(user_id, tenant_id, version)
    return Principal(membership) if membership else None


@login_manager.unauthorized_handler
def _unauthorized():
    if wants_json():
        return jsonify(error="unauthorized", message=str(_l("Please log in."))), 401
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
