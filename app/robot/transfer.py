"""The knowledge base's CSV import (upload, preview, confirm) and export in the console.

Import is for the shop's owner and admins: one file changes many entries at once; export is
for every member, like the list it copies. The engine is app/robot/kb_import.py.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.crm.spreadsheet import csv_response
from app.messages import message_for
from app.robot import kb_import
from app.robot.models import RobotImport
from app.robot.views import bp
from tenants.db import db
from tenants.errors import ServiceError
from tenants.permissions import admin_required

PREVIEW_ROWS = 200  # rows shown as they will be stored; the counts cover them all
PREVIEW_REFUSALS = 500


def _import_or_404(import_id: int, for_update: bool = False) -> RobotImport:
    query = select(RobotImport).where(RobotImport.id == import_id)
    return db.scalar(query.with_for_update() if for_update else query) or abort(404)


@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_start():
    error = None
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise ServiceError("import_file_missing", field="file")
            with db.begin_nested():
                imp = kb_import.upload(
                    upload.filename,
                    upload.read(kb_import.MAX_BYTES + 1),
                    current_user.membership.id,
                )
            return redirect(url_for("robot.import_preview", robot_import_id=imp.id))
        except ServiceError as exc:
            error = message_for(exc)
    return render_template(
        "robot/import.html",
        error=error,
        max_mb=kb_import.MAX_BYTES // 1024 // 1024,
        max_rows=kb_import.MAX_ROWS,
    ), 422 if error else 200


@bp.route("/import/<int:robot_import_id>", methods=["GET", "POST"])
@admin_required
def import_preview(robot_import_id: int):
    imp = _import_or_404(robot_import_id, for_update=request.method == "POST")
    error = None
    if request.method == "POST" and imp.status == "pending":
        try:
            with db.begin_nested():
                done = kb_import.confirm(imp)
            flash(
                _(
                    "Imported: %(new)s new entries, %(updated)s updated, %(unchanged)s unchanged.",
                    new=done.new,
                    updated=done.updated,
                    unchanged=done.unchanged,
                ),
                "success",
            )
            return redirect(url_for("robot.index"))
        except ServiceError as exc:
            error = message_for(exc)
    found = kb_import.plan(imp) if imp.status == "pending" else None
    return render_template(
        "robot/import_preview.html",
        imp=imp,
        plan=found,
        rows=found.rows[:PREVIEW_ROWS] if found else [],
        refused=found.refused[:PREVIEW_REFUSALS] if found else [],
        message_for=message_for,
        error=error,
    ), 422 if error else 200


@bp.get("/export.csv")
def export():
    return csv_response(iter([kb_import.export_text()]), "knowledge-base.csv")
