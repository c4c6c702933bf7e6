"""Analytics' console pages (/console/analytics), for signed-in members of a shop with the
``analytics`` feature. Each report's page joins this blueprint from its own file; they share
the period, dimension and attribution read from the query string here."""

from __future__ import annotations

from flask import request
from flask_login import current_user, login_required

from app.analytics import reports
from app.features import GatedBlueprint
from tenants.db import utcnow
from tenants.timezones import local

bp = GatedBlueprint("analytics", __name__, feature="analytics", url_prefix="/console/analytics")


@bp.before_request
@login_required
def _signed_in() -> None:
    """A shop's page: a signed-in member's."""


def shop_today():
    return local(utcnow(), current_user.tenant.timezone).date()


def chosen_period() -> reports.Period:
    """The ``from`` and ``to`` of the query string (the last 30 days by default)."""
    return reports.period(request.args.get("from"), request.args.get("to"), shop_today())
