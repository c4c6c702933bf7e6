"""Outgoing e-mail for every module (accounts, chat, billing): SMTP when ``SMTP_URL`` is
set, otherwise an outbox folder to read."""

from __future__ import annotations

import logging
import smtplib
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app

log = logging.getLogger("huike.mail")


class InsecureServer(Exception):
    """The SMTP server offers no TLS, and sending would give it our password in clear."""


def send_mail(to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@huike>"
    message.set_content(body)
    smtp_url = current_app.config["SMTP_URL"]
    outbox = Path(current_app.config["OUTBOX_DIR"])
    if not smtp_url:
        _keep(message, outbox)
    else:
        try:
            _send_smtp(smtp_url, message)
        except InsecureServer:
            # Kept, not lost: the message waits in the outbox's unsent folder for a retry.
            _keep(message, outbox / "unsent")
            log.error(
                "mail not sent: the SMTP server offers no STARTTLS and SMTP_URL carries a "
                "password; use a server with TLS (or smtps://)",
                extra={"smtp_host": urlsplit(smtp_url).hostname},
            )
            return
    log.info("mail sent", extra={"subject": subject, "via": "smtp" if smtp_url else "outbox"})


def _keep(message: EmailMessage, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    (folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml").write_bytes(bytes(message))


def _send_smtp(url: str, message: EmailMessage) -> None:
    """``smtp://user:pass@host:587`` (STARTTLS) or ``smtps://…:465`` (TLS). With a user name,
    a server that offers no STARTTLS is refused before anything is sent."""
    parts = urlsplit(url)
    secure = parts.scheme == "smtps"
    client_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
    with client_class(parts.hostname, parts.port or (465 if secure else 587), timeout=20) as smtp:
        smtp.ehlo()
        if not secure:
            if smtp.has_extn("starttls"):
                smtp.starttls()
                smtp.ehlo()
            elif parts.username:
                raise InsecureServer(parts.hostname)
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)
