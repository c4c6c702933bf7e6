"""Outgoing e-mail for every module (accounts, chat, billing): ``send_mail`` writes an outbox
row in the caller's unit of work, and a job sends it after the commit — by SMTP when
``SMTP_URL`` is set, otherwise into an outbox folder to read. A request never waits on an SMTP
server, and an SMTP failure is a retry with backoff, never a failed request.

Each mail's Message-ID and Date are fixed when it is written, so the rare repeat (a worker
killed between the server's "250" and our commit) is the same message, which a mail server
can drop, and in the folder it overwrites its own file.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import uuid
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr, parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app

from tenants import outbox
from tenants.db import after_commit, utcnow

log = logging.getLogger("huike.mail")
KIND = "mail"


class InsecureServer(Exception):
    """The SMTP server offers no TLS, and sending would give it our password in clear. The
    mail waits for a retry (a server with TLS, or smtps://)."""


def send_mail(
    to: str,
    subject: str,
    body: str,
    key: str | None = None,
    *,
    from_name: str | None = None,
    reply_to: str | None = None,
) -> None:
    """Queue one mail in the current unit (``key``: at most one mail per key, ever).
    ``from_name``: the sender's display name on our own address (MAIL_FROM's), e.g. a shop's
    name; ``reply_to``: where the recipient's answer goes."""
    mail = {
        "to": to,
        "subject": str(subject),
        "body": body,
        "message_id": f"<{uuid.uuid4().hex}@huike>",
        "date": format_datetime(utcnow()),
    }
    if from_name:
        mail["from_name"] = from_name
    if reply_to:
        mail["reply_to"] = reply_to
    outbox.write(KIND, mail, key=key)


def external_url(endpoint: str, **values) -> str:
    """A link for a mail written outside any request: on ``BASE_URL`` (docs/deploy.md)."""
    config = current_app.config
    fallback = f"http://{config['SERVER_NAME'] or 'localhost:5000'}"
    base = urlsplit(config["BASE_URL"] or fallback)
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


@outbox.handler(KIND)
def deliver(mail: dict) -> None:
    message = EmailMessage()
    sender = current_app.config["MAIL_FROM"]
    if mail.get("from_name"):
        sender = formataddr((mail["from_name"], parseaddr(sender)[1]))
    message["From"] = sender
    if mail.get("reply_to"):
        message["Reply-To"] = mail["reply_to"]
    message["To"] = mail["to"]
    message["Subject"] = mail["subject"]
    message["Date"] = mail["date"]
    message["Message-ID"] = mail["message_id"]
    message.set_content(mail["body"])
    smtp_url = current_app.config["SMTP_URL"]
    if smtp_url:
        _send_smtp(smtp_url, message, current_app.config["SMTP_TIMEOUT"])
    else:
        _keep(message, Path(current_app.config["OUTBOX_DIR"]))
    log.info("mail sent", extra={"via": "smtp" if smtp_url else "outbox"})


def _keep(message: EmailMessage, folder: Path) -> None:
    """One file per mail, named by its creation and Message-ID: a repeat overwrites it."""
    folder.mkdir(parents=True, exist_ok=True)
    written = parsedate_to_datetime(message["Date"])
    digest = hashlib.sha256(message["Message-ID"].encode()).hexdigest()[:12]
    name = f"{written:%Y%m%dT%H%M%S}-{digest}.eml"
    (folder / name).write_bytes(bytes(message))


def _send_smtp(url: str, message: EmailMessage, timeout: float) -> None:
    """``smtp://user:pass@host:587`` (STARTTLS) or ``smtps://…:465`` (TLS). With a user name,
    a server that offers no STARTTLS is refused before anything is sent. The goodbye (QUIT)
    waits for the commit: the server's "250" is followed by our commit alone."""
    parts = urlsplit(url)
    secure = parts.scheme == "smtps"
    client_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
    smtp = client_class(parts.hostname, parts.port or (465 if secure else 587), timeout=timeout)
    try:
        smtp.ehlo()
        if not secure:
            if smtp.has_extn("starttls"):
                smtp.starttls()
                smtp.ehlo()
            elif parts.username:
                log.error(
                    "mail not sent: the SMTP server offers no STARTTLS and SMTP_URL carries a "
                    "password; use a server with TLS (or smtps://)",
                    extra={"smtp_host": parts.hostname},
                )
                raise InsecureServer(parts.hostname)
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        refused = smtp.send_message(message)
    except BaseException as error:
        smtp.close()
        if _permanent(error):
            raise outbox.GiveUp(str(error)) from error
        raise
    if refused:  # some recipients refused, the others took it: nothing to send again
        log.warning("mail refused for some recipients", extra={"refused": len(refused)})
    after_commit(lambda: _quit(smtp))


def _permanent(error: BaseException) -> bool:
    """A 5xx answer about this mail (a refused address, a rejected message) will not change
    on a retry; 4xx answers and lost connections may."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        return error.smtp_code >= 500
    return False


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
