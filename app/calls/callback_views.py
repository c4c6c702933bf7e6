"""The shop's callback settings (/console/calls/callback): whether the widget offers a free
callback, to which countries, with what consent text, from which number, and the daily limits.
Admins only; a bad field is shown beside it and nothing is saved."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app import current_language
from app.calls import callbacks
from app.calls.views import bp
from app.messages import message_for
from tenants.errors import ServiceError
from tenants.permissions import admin_required


def _page(values: dict, error: dict | None = None, status: int = 200):
    shop_settings = callbacks.settings()
    lang = current_language()
    return (
        render_template(
            "calls/callback_settings.html",
            settings=shop_settings,
            values=values,
            error=error,
            numbers=callbacks.twilio_numbers(),
            countries=callbacks.country_names(shop_settings.callback_countries, lang),
            default_consent=callbacks.consent_text("", lang),
        ),
        status,
    )


@bp.get("/callback", endpoint="callback_settings")
@admin_required
def callback_settings():
    return _page({})


@bp.post("/callback", endpoint="save_callback_settings")
@admin_required
def save_callback_settings():
    try:
        callbacks.save_settings(request.form.to_dict())
    except ServiceError as error:  # answered 400: the request's unit rolls back
        return _page(
            request.form.to_dict(), {"field": error.field, "text": message_for(error)}, 400
        )
    flash(_("Callback settings saved."), "success")
    return redirect(url_for("calls.callback_settings"))
