"""The admins' custom fields of customers (/console/customers/fields): add, relabel, change
the choices of, and delete a field. Its routes join the Customers blueprint (``views.bp``)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.crm import service
from app.crm.models import FIELD_KINDS, CustomField
from app.crm.views import bp
from app.forms import act
from tenants.db import scoped_get
from tenants.permissions import admin_required


def _choices(form) -> list[str]:
    """One choice per line: a choice may hold a comma ("Red, matte")."""
    return form.get("choices", "").splitlines()


def _field(field_id: int) -> CustomField:
    return scoped_get(CustomField, field_id) or abort(404)


@bp.get("/fields")
@admin_required
def fields():
    return render_template("crm/fields.html", fields=service.custom_fields(), kinds=FIELD_KINDS)


@bp.post("/fields")
@admin_required
def add_field():
    form = request.form
    act(
        lambda: service.save_custom_field(
            None,
            form.get("key", ""),
            form.get("label", ""),
            form.get("kind", ""),
            _choices(form),
        ),
        _("Field added."),
    )
    return redirect(url_for(".fields"))


@bp.post("/fields/<int:field_id>")
@admin_required
def edit_field(field_id: int):
    """The label and the choices; the key and the kind stay, so stored values keep meaning."""
    field = _field(field_id)
    form = request.form
    act(
        lambda: service.save_custom_field(
            field, field.key, form.get("label", ""), field.kind, _choices(form)
        ),
        _("Field saved."),
    )
    return redirect(url_for(".fields"))


@bp.route("/fields/<int:field_id>/delete", methods=["GET", "POST"])
@admin_required
def delete_field(field_id: int):
    field = _field(field_id)
    if request.method == "GET" or request.form.get("confirm") != "yes":
        return render_template("crm/field_delete.html", field=field)
    service.delete_custom_field(field)
    flash(_("Field “%(label)s” deleted.", label=field.label), "success")
    return redirect(url_for(".fields"))
