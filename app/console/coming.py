"""The paid modules still to be built (``tenants.plans.COMING_FEATURES``): each is a gated
blueprint of its own whose one page says it is coming, so it is locked like the modules that
exist and the module's real blueprint takes its place once it is built."""

from __future__ import annotations

from flask import render_template
from flask_login import login_required

from app.features import GatedBlueprint
from tenants.plans import COMING_FEATURES


def _placeholder(feature: str) -> GatedBlueprint:
    bp = GatedBlueprint(feature, __name__, feature=feature, url_prefix=f"/console/{feature}")

    @bp.before_request
    @login_required
    def _signed_in() -> None:
        """A shop's page: a signed-in member's."""

    @bp.get("", endpoint="index")
    def page():
        return render_template("console/module.html", feature=feature)

    return bp


BLUEPRINTS = [_placeholder(feature) for feature in COMING_FEATURES]
