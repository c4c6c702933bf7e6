"""Staff accounts and their sign-in: password and a TOTP code every time, roles, the session.

Staff are not shop users: their own table, their own session keys (``staff_id`` with the
account's ``session_version``), and nothing of a shop user's session lets them in.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

import pyotp
from flask import session
from sqlalchemy import select

from billing.models import STAFF_ROLES, StaffUser
from tenants.db import db, utcnow
from tenants.errors import ServiceError
from tenants.service import check_password_rules, hash_password, normalize_email, password_matches

ISSUER = "Huike back office"
SESSION_KEYS = ("staff_id", "staff_version", "staff_at")
SESSION_HOURS = 12  # a staff sign-in lasts a working day at most
# Who may do what: each role may also do everything of the roles before it.
ROLE_ORDER = ("support", "billing", "admin")
PERMISSIONS = {
    "view": "support",
    "note": "support",
    "extend_trial": "billing",
    "set_plan": "billing",
    "override": "billing",
    "export": "billing",
    "suspend": "admin",
    "reactivate": "admin",
}


def can(staff: StaffUser | None, permission: str) -> bool:
    if staff is None or staff.role not in ROLE_ORDER:
        return False
    return ROLE_ORDER.index(staff.role) >= ROLE_ORDER.index(PERMISSIONS[permission])


def create_staff(email: str, password: str, role: str, name: str = "") -> StaffUser:
    """A new staff account with a fresh TOTP secret (the caller shows it once and commits)."""
    email = normalize_email(email)
    check_password_rules(password)
    if role not in STAFF_ROLES:
        raise ServiceError("role_invalid", field="role")
    if db.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
        raise ServiceError("staff_exists", field="email")
    staff = StaffUser(
        email=email,
        name=" ".join(name.split())[:120],
        password_hash=hash_password(password),
        totp_secret=pyotp.random_base32(),
        role=role,
    )
    db.add(staff)
    db.flush()
    return staff


def find_staff(email: str) -> StaffUser:
    try:
        email = normalize_email(email)
    except ServiceError:
        raise ServiceError("staff_unknown") from None
    staff = db.scalar(select(StaffUser).where(StaffUser.email == email))
    if staff is None:
        raise ServiceError("staff_unknown")
    return staff


def provisioning_uri(staff: StaffUser) -> str:
    """The otpauth:// URI an authenticator app reads (as a QR code or pasted)."""
    return pyotp.TOTP(staff.totp_secret).provisioning_uri(name=staff.email, issuer_name=ISSUER)


def new_totp_secret(staff: StaffUser) -> None:
    """A lost phone: a new secret, and every open session of this account ends."""
    staff.totp_secret = pyotp.random_base32()
    staff.session_version += 1


def deactivate(staff: StaffUser) -> None:
    staff.active = False
    staff.session_version += 1


def code_matches(staff: StaffUser, code: str, now: datetime | None = None) -> bool:
    """The 6-digit code of this 30-second step, or of the one before or after (clock drift)."""
    code = "".join((code or "").split())
    if len(code) != 6 or not code.isdigit():
        return False
    return pyotp.TOTP(staff.totp_secret).verify(code, for_time=now or utcnow(), valid_window=1)


def authenticate(email: str, password: str, code: str, now: datetime | None = None) -> StaffUser:
    """The active staff account with this password *and* current code; one answer otherwise."""
    now = now or utcnow()
    try:
        staff = find_staff(email)
    except ServiceError:
        staff = None
    if staff is None:
        password_matches(_Dummy(), password or "x")  # the same work as a known address
        raise ServiceError("staff_bad_credentials")
    password_ok = password_matches(staff, password)
    if not (password_ok and staff.active and code_matches(staff, code, now)):
        raise ServiceError("staff_bad_credentials")
    staff.last_login_at = now
    return staff


class _Dummy:
    """Verified against when the e-mail is unknown, so both answers take as long."""

    @property
    def password_hash(self) -> str:
        return _dummy_hash()


@cache
def _dummy_hash() -> str:
    return hash_password("not-a-staff-password")


# --- the session -----------------------------------------------------------------------


def start_session(staff: StaffUser, now: datetime | None = None) -> None:
    """A fresh session for this staff member alone (no state from before sign-in survives)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session["staff_id"] = staff.id
    session["staff_version"] = staff.session_version
    session["staff_at"] = int((now or utcnow()).timestamp())


def end_session() -> None:
    for key in SESSION_KEYS:
        session.pop(key, None)


def current_staff(now: datetime | None = None) -> StaffUser | None:
    """The signed-in staff member, while the account is active and the session is current."""
    staff_id = session.get("staff_id")
    if not isinstance(staff_id, int):
        return None
    started = session.get("staff_at")
    now = now or utcnow()
    if not isinstance(started, int) or now.timestamp() - started > SESSION_HOURS * 3600:
        end_session()
        return None
    staff = db.get(StaffUser, staff_id)
    if staff is None or not staff.active or staff.session_version != session.get("staff_version"):
        end_session()
        return None
    return staff
