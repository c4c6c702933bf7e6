"""Connecting the shop's phone provider: the rules behind the calls settings page.

A generic connection (any PBX or 400 provider posting ``/calls/hook/<token>``) signs with an
HMAC secret, or — for a PBX that cannot sign — relies on its URL's token alone. Its secret is
made here and handed back once; afterwards only a masked form is shown. Rotation keeps the old
secret live as the second one until the admin retires it, so a PBX is re-keyed without a lost
call. A Twilio connection holds the account SID and the auth token (encrypted; replaced, never
shown back). Numbers carry their own unguessable token (Twilio's URLs), and the agents' lines
say which member an extension or a phone is. Deleting a connection keeps its calls (their
``connection_id`` is set to NULL by the database).

Secrets go through ``app.calls.secrets`` only, and are never logged.
"""

from __future__ import annotations

import re
from secrets import token_urlsafe

import phonenumbers
from sqlalchemy import select

from app.calls import secrets
from app.calls.models import SIGNING_MODES, AgentLine, CallConnection, CallNumber
from tenants.db import cross_tenant, current_tenant_id, db, scoped_get
from tenants.errors import ServiceError
from tenants.models import Membership, Tenant

ACCOUNT_SID = re.compile(r"AC[0-9a-f]{32}")
AUTH_TOKEN = re.compile(r"[0-9a-f]{32}")
# what PBXes name an extension: 801, 8001#, sip-801, alice.desk
EXTENSION = re.compile(r"[0-9A-Za-z*#._-]{1,20}")
NAME_MAX = 80
LABEL_MAX = 80


def new_token() -> str:
    """A webhook path token: unguessable, it finds the shop."""
    return token_urlsafe(24)


def new_secret() -> str:
    return token_urlsafe(32)


# --- reading ---------------------------------------------------------------------------------


def connections() -> list[CallConnection]:
    return list(db.scalars(select(CallConnection).order_by(CallConnection.id)))


def numbers_by_connection() -> dict[int, list[CallNumber]]:
    found: dict[int, list[CallNumber]] = {}
    for number in db.scalars(select(CallNumber).order_by(CallNumber.id)):
        found.setdefault(number.connection_id, []).append(number)
    return found


def lines_by_member() -> dict[int, AgentLine]:
    return {line.membership_id: line for line in db.scalars(select(AgentLine))}


def active_members() -> list[Membership]:
    return list(
        db.scalars(select(Membership).where(Membership.status == "active").order_by(Membership.id))
    )


def masked_secrets(connection: CallConnection) -> tuple[str, str]:
    """(the primary secret, the previous one) as the page shows them; "" where there is none."""
    return (
        secrets.masked(secrets.decrypt(connection.secret_enc)) if connection.secret_enc else "",
        secrets.masked(secrets.decrypt(connection.previous_secret_enc))
        if connection.previous_secret_enc
        else "",
    )


def masked_auth_token(connection: CallConnection) -> str:
    return (
        secrets.masked(secrets.decrypt(connection.auth_token_enc))
        if connection.auth_token_enc
        else ""
    )


# --- generic connections ---------------------------------------------------------------------


def create_generic(name: str, signing: str) -> tuple[CallConnection, str]:
    """A new generic connection and, when it signs, its secret: returned here and never again."""
    name = _name(name)
    if signing not in SIGNING_MODES:
        raise ServiceError("call_signing_invalid", field="signing")
    secret = new_secret() if signing == "signature" else ""
    connection = CallConnection(
        kind="generic",
        name=name,
        token=new_token(),
        signing=signing,
        secret_enc=secrets.encrypt(secret) if secret else None,
    )
    db.add(connection)
    db.flush()
    return connection, secret


def rotate_secret(connection: CallConnection) -> str:
    """A new primary secret (returned once); the current one stays live as the second until
    ``retire_previous``. Only two are ever live: retire the previous one before rotating again."""
    _generic(connection)
    if connection.signing != "signature":
        raise ServiceError("call_token_mode")
    if connection.previous_secret_enc:
        raise ServiceError("call_previous_live")
    secret = new_secret()
    connection.previous_secret_enc = connection.secret_enc
    connection.secret_enc = secrets.encrypt(secret)
    db.flush()
    return secret


def retire_previous(connection: CallConnection) -> None:
    """Requests signed with the previous secret are refused from now on."""
    _generic(connection)
    if not connection.previous_secret_enc:
        raise ServiceError("call_no_previous")
    connection.previous_secret_enc = None
    db.flush()


def set_signing(connection: CallConnection, signing: str) -> str:
    """Switch between signed requests and the URL's token alone. A connection that never had a
    secret gets one on its way to signing, returned once ("" otherwise): a secret it had is
    kept, so a PBX that went on signing meanwhile keeps working."""
    _generic(connection)
    if signing not in SIGNING_MODES:
        raise ServiceError("call_signing_invalid", field="signing")
    secret = ""
    if signing == "signature" and not connection.secret_enc:
        secret = new_secret()
        connection.secret_enc = secrets.encrypt(secret)
    connection.signing = signing
    db.flush()
    return secret


# --- Twilio ----------------------------------------------------------------------------------


def twilio_connection() -> CallConnection | None:
    return db.scalar(select(CallConnection).where(CallConnection.kind == "twilio"))


def save_twilio(
    connection: CallConnection | None, name: str, account_sid: str, auth_token: str
) -> CallConnection:
    """Connect the shop's Twilio account, or replace its credentials (``connection``). An empty
    auth token keeps the stored one, unless the account changes: a token is its account's."""
    if connection is not None and connection.kind != "twilio":
        raise ServiceError("call_not_twilio")
    if connection is None and twilio_connection() is not None:
        raise ServiceError("call_twilio_exists")
    name = _name(name or "Twilio")
    account_sid = (account_sid or "").strip()
    if not ACCOUNT_SID.fullmatch(account_sid):
        raise ServiceError("call_sid_invalid", field="account_sid")
    auth_token = (auth_token or "").strip()
    same_account = connection is not None and connection.account_sid == account_sid
    if not auth_token and not same_account:
        raise ServiceError("required", field="auth_token")
    if auth_token and not AUTH_TOKEN.fullmatch(auth_token):
        raise ServiceError("call_auth_token_invalid", field="auth_token")
    if connection is None:
        connection = CallConnection(kind="twilio", token=new_token(), signing="signature")
        db.add(connection)
    connection.name = name
    connection.account_sid = account_sid
    if auth_token:
        connection.auth_token_enc = secrets.encrypt(auth_token)
    db.flush()
    return connection


# --- any connection --------------------------------------------------------------------------


def set_enabled(connection: CallConnection, enabled: bool) -> None:
    """A disabled connection's requests are refused as if it did not exist (404): nothing is
    recorded, and the provider retries or reports it."""
    connection.enabled = enabled
    db.flush()


def delete_connection(connection: CallConnection) -> None:
    """Its numbers and stored events go; its calls stay in the log (connection set NULL)."""
    db.delete(connection)
    db.flush()


# --- numbers ---------------------------------------------------------------------------------


def add_number(
    connection: CallConnection, raw: str, label: str = "", membership_id=None
) -> CallNumber:
    e164 = shop_number(raw)
    if db.scalar(select(CallNumber.id).where(CallNumber.e164 == e164)) is not None:
        raise ServiceError("call_number_taken", field="number", number=e164)
    number = CallNumber(
        connection_id=connection.id,
        e164=e164,
        token=new_token(),
        label=_label(label),
        membership_id=_member_id(membership_id),
    )
    db.add(number)
    db.flush()
    return number


def update_number(number: CallNumber, label: str, membership_id) -> None:
    """Its label, and who its calls pop up for first (none: every online agent)."""
    number.label = _label(label)
    number.membership_id = _member_id(membership_id)
    db.flush()


def remove_number(number: CallNumber) -> None:
    db.delete(number)
    db.flush()


def shop_number(raw: str) -> str:
    """A phone number as E.164, read in the shop's country, or ServiceError."""
    raw = (raw or "").strip()
    if not raw or len(raw) > 32:
        raise ServiceError("call_number_invalid", field="number")
    try:
        parsed = phonenumbers.parse(raw, _region())
    except phonenumbers.NumberParseException as exc:
        raise ServiceError("call_number_invalid", field="number") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ServiceError("call_number_invalid", field="number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# --- agents' lines ---------------------------------------------------------------------------


def save_line(membership_id, extension: str, phone: str) -> AgentLine:
    """A member's extension on the PBX and the phone a callback rings first; an extension and a
    phone are one member's only, so a provider naming either finds one agent."""
    member_id = _member_id(membership_id)
    if member_id is None:
        raise ServiceError("call_agent_invalid", field="membership_id")
    extension = (extension or "").strip()
    phone = (phone or "").strip()
    if not extension and not phone:
        raise ServiceError("call_line_empty", field="extension")
    if extension and not EXTENSION.fullmatch(extension):
        raise ServiceError("call_extension_invalid", field="extension")
    if phone:
        try:
            phone = shop_number(phone)
        except ServiceError as error:
            raise ServiceError("call_number_invalid", field="phone") from error
    line = db.scalar(select(AgentLine).where(AgentLine.membership_id == member_id))
    others = select(AgentLine).where(AgentLine.membership_id != member_id)
    if extension and db.scalar(others.where(AgentLine.extension == extension)) is not None:
        raise ServiceError("call_extension_taken", field="extension", extension=extension)
    if phone and db.scalar(others.where(AgentLine.phone == phone)) is not None:
        raise ServiceError("call_phone_taken", field="phone", number=phone)
    if line is None:
        line = AgentLine(membership_id=member_id)
        db.add(line)
    line.extension, line.phone = extension, phone
    db.flush()
    return line


def remove_line(line: AgentLine) -> None:
    db.delete(line)
    db.flush()


# --- the operator's -------------------------------------------------------------------------


def reencrypt_all() -> int:
    """Every shop's stored secrets encrypted again with the newest of ENCRYPTION_KEYS (the
    ``huike reencrypt-secrets`` command, after a new key was put first); how many."""
    count = 0
    with cross_tenant():
        for connection in db.scalars(select(CallConnection).order_by(CallConnection.id)):
            for column in ("secret_enc", "previous_secret_enc", "auth_token_enc"):
                stored = getattr(connection, column)
                if stored:
                    setattr(connection, column, secrets.reencrypted(stored))
                    count += 1
        db.flush()
    return count


# --- helpers ---------------------------------------------------------------------------------


def _generic(connection: CallConnection) -> None:
    if connection.kind != "generic":
        raise ServiceError("call_not_generic")


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ServiceError("required", field="name")
    if len(name) > NAME_MAX:
        raise ServiceError("too_long", field="name", max=NAME_MAX)
    return name


def _label(label: str) -> str:
    label = (label or "").strip()
    if len(label) > LABEL_MAX:
        raise ServiceError("too_long", field="label", max=LABEL_MAX)
    return label


def _member_id(raw) -> int | None:
    """An active member of the shop by id, or None for none chosen ("")."""
    if raw in (None, ""):
        return None
    member = scoped_get(Membership, int(raw)) if str(raw).strip().isdigit() else None
    if member is None or member.status != "active":
        raise ServiceError("call_agent_invalid", field="membership_id")
    return member.id


def _region() -> str:
    tenant = scoped_get(Tenant, current_tenant_id())
    return tenant.country if tenant else "CN"
