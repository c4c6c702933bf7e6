"""What a shop's member may do, checked in one place for the product's pages and billing's:
the admins (owner and admins) manage the shop; agents chat."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user


def require_admin() -> None:
    """403 unless the signed-in member is one of the shop's admins (after the sign-in check)."""
    if not current_user.is_admin:
        abort(403)


def admin_required(fn):
    """A view for the shop's admins only; put it under ``login_required``."""

    @wraps(fn)
    def check(*args, **kwargs):
        require_admin()
        return fn(*args, **kwargs)

    return check
