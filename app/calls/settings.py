"""The calls settings page (/console/calls/settings), for the shop's admins: the phone
connections with the webhook URLs to paste into the provider, their secrets (shown once, then
masked), the shop's numbers and the agents' lines. Its routes join the calls blueprint.

A form refused for its input comes back with what was typed and the reason beside the field
(422: the unit of work keeps nothing); a secret is shown on the answer to the form that made it,
never cached, never in a URL or the session.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.calls import connections as rules
from app.calls import twilio_requests
from app.calls.models import AgentLine, CallConnection, CallNumber
from app.calls.views import bp
from app.forms import act
from app.messages import message_for
from tenants.db import scoped_get
from tenants.errors import ServiceError
from tenants.permissions import admin_required

TWILIO_HOOKS = ("voice", "status", "recording")  # app/calls/twilio_hooks.py's routes
NO_STORE = {"Cache-Control": "no-store"}


@dataclass
class Problem:
    """A refused form: which one (``form``), the field to mark and the words."""

    form: str
    field: str | None
    text: str


def hook_url(connection: CallConnection) -> str:
    return twilio_requests.base_url() + url_for("calls_hooks.generic", token=connection.token)


def twilio_urls(number: CallNumber) -> dict[str, str]:
    """The number's three webhook URLs, as Twilio's request validator will see them."""
    return {hook: twilio_requests.hook_url(number.token, hook) for hook in TWILIO_HOOKS}


def _page(problem: Problem | None = None, values: dict | None = None, status: int = 200):
    found = rules.connections()
    return render_template(
        "calls/settings.html",
        connections=found,
        twilio=next((c for c in found if c.kind == "twilio"), None),
        numbers=rules.numbers_by_connection(),
        members=rules.active_members(),
        lines=rules.lines_by_member(),
        masked={c.id: rules.masked_secrets(c) for c in found},
        masked_tokens={c.id: rules.masked_auth_token(c) for c in found if c.kind == "twilio"},
        hook_url=hook_url,
        twilio_urls=twilio_urls,
        base_url_set=bool(current_app.config["BASE_URL"]),
        problem=problem,
        values=values or {},
    ), status


def _refused(form: str, error: ServiceError, values: dict | None = None):
    return _page(Problem(form, error.field, message_for(error)), values, 422)


def _secret_page(connection: CallConnection, secret: str, title: str):
    return render_template(
        "calls/settings_secret.html",
        connection=connection,
        secret=secret,
        url=hook_url(connection),
        title=title,
    ), NO_STORE


def _connection(connection_id: int) -> CallConnection:
    return scoped_get(CallConnection, connection_id) or abort(404)


def _number(number_id: int) -> CallNumber:
    return scoped_get(CallNumber, number_id) or abort(404)


def _back(anchor: str = ""):
    return redirect(url_for("calls.settings") + (f"#{anchor}" if anchor else ""))


@bp.get("/settings")
@admin_required
def settings():
    return _page()


@bp.post("/settings/generic")
@admin_required
def add_generic():
    form = request.form
    try:
        connection, secret = rules.create_generic(form.get("name", ""), form.get("signing", ""))
    except ServiceError as error:
        return _refused("generic", error, form.to_dict())
    if not secret:
        flash(_("Connection added: paste its URL into your PBX."), "success")
        return _back(f"connection-{connection.id}")
    return _secret_page(connection, secret, _("Connection added"))


@bp.post("/settings/twilio")
@admin_required
def add_twilio():
    form = request.form
    try:
        connection = rules.save_twilio(
            None, form.get("name", ""), form.get("account_sid", ""), form.get("auth_token", "")
        )
    except ServiceError as error:
        return _refused("twilio", error, {"name": form.get("name", ""), **_sid(form)})
    flash(_("Twilio connected. Add your Twilio numbers below."), "success")
    return _back(f"connection-{connection.id}")


@bp.post("/settings/connections/<int:connection_id>/twilio")
@admin_required
def replace_twilio(connection_id: int):
    connection = _connection(connection_id)
    form = request.form
    try:
        rules.save_twilio(
            connection,
            form.get("name", ""),
            form.get("account_sid", ""),
            form.get("auth_token", ""),
        )
    except ServiceError as error:
        return _refused(f"twilio-{connection.id}", error, {"name": form.get("name"), **_sid(form)})
    flash(_("Twilio account saved."), "success")
    return _back(f"connection-{connection.id}")


def _sid(form) -> dict:
    """What a refused Twilio form shows again: never the auth token."""
    return {"account_sid": form.get("account_sid", "")}


@bp.post("/settings/connections/<int:connection_id>/rotate")
@admin_required
def rotate(connection_id: int):
    connection = _connection(connection_id)
    secret = act(lambda: rules.rotate_secret(connection))
    if secret is None:
        return _back(f"connection-{connection.id}")
    return _secret_page(connection, secret, _("New secret"))


@bp.post("/settings/connections/<int:connection_id>/retire")
@admin_required
def retire(connection_id: int):
    connection = _connection(connection_id)
    act(
        lambda: rules.retire_previous(connection),
        _("The previous secret is retired: requests signed with it are refused."),
    )
    return _back(f"connection-{connection.id}")


@bp.post("/settings/connections/<int:connection_id>/signing")
@admin_required
def signing(connection_id: int):
    connection = _connection(connection_id)
    secret = act(lambda: rules.set_signing(connection, request.form.get("signing", "")))
    if secret:
        return _secret_page(connection, secret, _("Signed requests on"))
    if secret is not None:
        flash(
            _("Requests must be signed now.")
            if connection.signing == "signature"
            else _("The URL's token alone is checked now: keep the URL as secret as a password."),
            "success",
        )
    return _back(f"connection-{connection.id}")


@bp.post("/settings/connections/<int:connection_id>/enable")
@admin_required
def enable(connection_id: int):
    connection = _connection(connection_id)
    rules.set_enabled(connection, True)
    flash(_("“%(name)s” is on: its calls are recorded.", name=connection.name), "success")
    return _back(f"connection-{connection.id}")


@bp.post("/settings/connections/<int:connection_id>/disable")
@admin_required
def disable(connection_id: int):
    connection = _connection(connection_id)
    rules.set_enabled(connection, False)
    flash(
        _(
            "“%(name)s” is off: its requests are refused until you turn it on.",
            name=connection.name,
        ),
        "success",
    )
    return _back(f"connection-{connection.id}")


@bp.route("/settings/connections/<int:connection_id>/delete", methods=["GET", "POST"])
@admin_required
def delete(connection_id: int):
    connection = _connection(connection_id)
    if request.method == "GET" or request.form.get("confirm") != "yes":
        return render_template(
            "calls/settings_delete.html",
            connection=connection,
            numbers=rules.numbers_by_connection().get(connection.id, []),
        )
    rules.delete_connection(connection)
    flash(_("“%(name)s” deleted. Its calls stay in the call log.", name=connection.name), "success")
    return _back()


@bp.post("/settings/connections/<int:connection_id>/numbers")
@admin_required
def add_number(connection_id: int):
    connection = _connection(connection_id)
    form = request.form
    try:
        number = rules.add_number(
            connection, form.get("number", ""), form.get("label", ""), form.get("membership_id")
        )
    except ServiceError as error:
        return _refused(f"numbers-{connection.id}", error, form.to_dict())
    flash(_("%(number)s added.", number=number.e164), "success")
    return _back(f"number-{number.id}")


@bp.post("/settings/numbers/<int:number_id>")
@admin_required
def update_number(number_id: int):
    number = _number(number_id)
    form = request.form
    try:
        rules.update_number(number, form.get("label", ""), form.get("membership_id"))
    except ServiceError as error:
        return _refused(f"number-{number.id}", error, form.to_dict())
    flash(_("%(number)s saved.", number=number.e164), "success")
    return _back(f"number-{number.id}")


@bp.route("/settings/numbers/<int:number_id>/delete", methods=["GET", "POST"])
@admin_required
def remove_number(number_id: int):
    number = _number(number_id)
    if request.method == "GET" or request.form.get("confirm") != "yes":
        return render_template("calls/settings_delete.html", number=number)
    rules.remove_number(number)
    flash(_("%(number)s removed.", number=number.e164), "success")
    return _back(f"connection-{number.connection_id}")


@bp.post("/settings/lines")
@admin_required
def save_line():
    form = request.form
    member = form.get("membership_id", "")
    try:
        rules.save_line(member, form.get("extension", ""), form.get("phone", ""))
    except ServiceError as error:
        if error.field == "membership_id":
            error.field = None  # the member has no row on the page (gone meanwhile): said on top
        return _refused(f"line-{member}", error, form.to_dict())
    flash(_("Line saved."), "success")
    return _back("lines")


@bp.post("/settings/lines/<int:line_id>/delete")
@admin_required
def remove_line(line_id: int):
    line = scoped_get(AgentLine, line_id) or abort(404)
    rules.remove_line(line)
    flash(_("Line removed."), "success")
    return _back("lines")
