"""The calls module's console pages (/console/calls), for signed-in members of a shop with
the ``calls`` feature."""

from __future__ import annotations

from flask import render_template
from flask_login import login_required

from app.features import GatedBlueprint

bp = GatedBlueprint("calls", __name__, feature="calls", url_prefix="/console/calls")


@bp.before_request
@login_required
def _signed_in() -> None:
    """A shop's page: a signed-in member's."""


@bp.get("", endpoint="index")
def index():
    return render_template("console/module.html", feature="calls")
