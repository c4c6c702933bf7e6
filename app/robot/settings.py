"""The robot's settings page (/console/robot/settings), for the shop's admins: the mode, the
thresholds (blank: the matcher's defaults), the synonyms and the user words. Its routes join
the robot blueprint.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.messages import message_for
from app.robot import knowledge
from app.robot.matcher import DEFAULT_THRESHOLDS
from app.robot.models import MODES, RobotSettings
from app.robot.views import bp
from tenants.db import db
from tenants.errors import ServiceError
from tenants.permissions import admin_required

TEXT_MAX = 20_000  # characters of the synonyms or the words
THRESHOLDS = ("answer_threshold", "suggest_threshold", "margin")
MODE_WORDS = {
    "off": (_l("Off"), _l("The robot says nothing; you can still try questions here.")),
    "suggest": (
        _l("Suggest to agents"),
        _l("Agents see the robot's best answers beside the visitor's message and send one."),
    ),
    "answer_first": (
        _l("Answer first"),
        _l("The robot answers visitors first and hands over to a person when it is unsure."),
    ),
    "offline": (
        _l("Only when nobody is online"),
        _l("The robot answers instead of the leave-a-message form when no agent is online."),
    ),
}


@dataclass(frozen=True)
class SettingsInput:
    mode: str
    answer_threshold: str
    suggest_threshold: str
    margin: str
    synonyms: str
    words: str


def _threshold(text: str, name: str) -> float | None:
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise ServiceError("robot_threshold_invalid", field=name)
    return value


def save(shop: RobotSettings, given: SettingsInput) -> None:
    """Check every field first, then change the row; synonyms or words that changed move the
    knowledge base's version (every worker rebuilds its index)."""
    if given.mode not in MODES:
        raise ServiceError("robot_mode_invalid", field="mode")
    values = {name: _threshold(getattr(given, name), name) for name in THRESHOLDS}
    answer = values["answer_threshold"]
    suggest = values["suggest_threshold"]
    answer = DEFAULT_THRESHOLDS.answer if answer is None else answer
    suggest = DEFAULT_THRESHOLDS.suggest if suggest is None else suggest
    if suggest > answer:
        raise ServiceError("robot_thresholds_order", field="suggest_threshold")
    for name in ("synonyms", "words"):
        if len(getattr(given, name)) > TEXT_MAX:
            raise ServiceError("too_long", field=name, max=f"{TEXT_MAX:,}")
    shop.mode = given.mode
    for name, value in values.items():
        setattr(shop, name, value)
    synonyms, words = given.synonyms.strip(), given.words.strip()
    if (synonyms, words) != (shop.synonyms, shop.words):
        shop.synonyms, shop.words = synonyms, words
        db.flush()
        knowledge.changed()


def _form() -> SettingsInput:
    form = request.form
    return SettingsInput(**{key: form.get(key, "") for key in SettingsInput.__dataclass_fields__})


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings():
    shop = knowledge.settings(create=request.method == "POST")
    error = None
    if request.method == "POST":
        try:
            with db.begin_nested():
                save(shop, _form())
            flash(_("Robot settings saved."), "success")
            return redirect(url_for("robot.settings"))
        except ServiceError as exc:
            error = exc
            db.refresh(shop)
    return render_template(
        "robot/settings.html",
        shop=shop,
        values=_form() if error else None,
        problem_field=error.field if error else None,
        problem=message_for(error) if error else None,
        modes=MODE_WORDS,
        defaults=DEFAULT_THRESHOLDS,
        synonym_groups=len(knowledge.synonym_groups(shop.synonyms)),
        word_count=len(knowledge.user_words(shop.words)),
    ), 422 if error else 200
