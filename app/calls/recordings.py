"""Call recordings: Twilio's audio fetched by a job and kept in the instance folder
(``recordings/<tenant_id>/<call_id>.mp3``), played to the shop's members from the console, and
the shop's switch to record its inbound Twilio calls.

The fetch is a job, never the webhook's request: it takes Twilio seconds to minutes to serve a
recording, and a slow download must hold no request (and on SQLite no write lock: the job
reads in one unit of work, downloads outside any, and writes in another).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

import requests
from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from app.calls import secrets
from app.calls.models import Call, CallConnection
from app.calls.twilio_hooks import is_recording_url
from app.calls.views import bp
from tenants.db import db, scoped_get
from tenants.jobs import job
from tenants.permissions import admin_required
from tenants.work import unit_of_work

log = logging.getLogger(__name__)
CHUNK_BYTES = 64 * 1024


class RecordingTooBig(Exception):
    """Over the size cap: fetching it again would not make it smaller."""


def recording_path(tenant_id: int, call_id: int) -> Path:
    folder = Path(current_app.config["INSTANCE_DIR"]) / "recordings" / str(tenant_id)
    return folder / f"{call_id}.mp3"


@job("calls.fetch_recording", own_units=True)
def fetch_recording(call_id: int) -> None:
    """Download a call's recording once; an error is raised so the job system retries it."""
    with unit_of_work():
        call = scoped_get(Call, call_id)
        if call is None or call.recording_file or not call.recording_url:
            return  # gone, or already fetched: a retried or repeated job changes nothing
        connection = call.connection_id and scoped_get(CallConnection, call.connection_id)
        recording_sid = call.recording_url.rstrip("/").rsplit("/", 1)[-1]
        if not connection or not is_recording_url(
            call.recording_url, connection.account_sid, recording_sid
        ):
            log.warning("call %s: its recording is not one of its Twilio account's", call_id)
            return
        url, tenant_id = call.recording_url, call.tenant_id
        auth = (connection.account_sid, secrets.decrypt(connection.auth_token_enc))
    target = recording_path(tenant_id, call_id)
    try:  # a file left there (a run that died before its commit) is replaced, never trusted
        download(f"{url}.mp3", auth, target)
    except RecordingTooBig:
        log.warning("call %s: its recording is over the size cap, its link is kept", call_id)
        return
    with unit_of_work():
        call = scoped_get(Call, call_id)
        if call is not None:
            call.recording_file = str(target.relative_to(current_app.config["INSTANCE_DIR"]))


def download(url: str, auth: tuple[str, str], target: Path) -> None:
    """GET ``url`` into ``target`` (whole or not at all) within the deadline and the size cap."""
    config = current_app.config
    cap, deadline = config["CALL_RECORDING_MAX_BYTES"], config["CALL_RECORDING_TIMEOUT_SECONDS"]
    ends = time.monotonic() + deadline
    target.parent.mkdir(parents=True, exist_ok=True)
    with requests.get(url, auth=auth, stream=True, timeout=min(deadline, 30)) as response:
        response.raise_for_status()
        kind = response.headers.get("Content-Type", "")
        if not kind.startswith("audio/"):
            raise ValueError(f"the recording came as {kind!r}, not audio")
        if int(response.headers.get("Content-Length") or 0) > cap:
            raise RecordingTooBig
        handle, partial = tempfile.mkstemp(dir=target.parent, suffix=".part")
        try:
            size = 0
            with os.fdopen(handle, "wb") as out:
                for chunk in response.iter_content(CHUNK_BYTES):
                    size += len(chunk)
                    if size > cap:
                        raise RecordingTooBig
                    if time.monotonic() > ends:
                        raise TimeoutError(f"the recording took over {deadline} s")
                    out.write(chunk)
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)


@bp.get("/<int:call_id>/recording")
def play(call_id: int):
    """The stored audio, to a member of the call's shop (seekable: range requests)."""
    call = scoped_get(Call, call_id)
    if call is None or not call.recording_file:
        abort(404)
    path = recording_path(call.tenant_id, call.id)
    if not path.is_file():
        abort(404)
    response = send_file(
        path, mimetype="audio/mpeg", download_name=f"call-{call.id}.mp3", conditional=True
    )
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _twilio_connections() -> list[CallConnection]:
    return list(
        db.scalars(
            select(CallConnection)
            .where(CallConnection.kind == "twilio")
            .order_by(CallConnection.id)
        )
    )


@bp.route("/settings/recording", methods=["GET", "POST"])
@admin_required
def recording_settings():
    """Record inbound Twilio calls, or not (callers hear that they may be recorded)."""
    connections = _twilio_connections()
    if request.method == "POST":
        if not connections:
            flash(gettext("Connect a Twilio account first."), "error")
            return render_template("calls/recording.html", connections=connections), 400
        on = request.form.get("record") == "on"
        for connection in connections:
            connection.record_calls = on
        member = current_user.membership.id
        log.info("calls recording switched %s by member %s", "on" if on else "off", member)
        flash(gettext("Calls are recorded.") if on else gettext("Calls are not recorded."))
        return redirect(url_for("calls.recording_settings"))
    return render_template("calls/recording.html", connections=connections)
