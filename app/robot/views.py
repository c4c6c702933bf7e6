"""The robot's console pages (/console/robot), for signed-in members of a shop with the
``robot`` feature: the knowledge base. Other pages of the module (the unanswered log, the
settings) join this blueprint from their own files."""

from __future__ import annotations

from flask import render_template
from flask_login import login_required
from sqlalchemy import select

from app.features import GatedBlueprint
from app.robot.models import RobotEntry
from tenants.db import db

bp = GatedBlueprint("robot", __name__, feature="robot", url_prefix="/console/robot")


@bp.before_request
@login_required
def _signed_in() -> None:
    """A shop's page: a signed-in member's."""


@bp.get("", endpoint="index")
def index():
    entries = db.scalars(select(RobotEntry).order_by(RobotEntry.category, RobotEntry.id)).all()
    return render_template("robot/knowledge.html", entries=entries)
