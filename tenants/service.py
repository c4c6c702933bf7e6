"""The rules for shops and their people: signup, sign-in, invitations, roles and seats.

No Flask here: callers pass what they know, and these functions only ``flush()``; the request
or command that called them commits once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections import Counter
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pypinyin import lazy_pinyin
from sqlalchemy import func, or_, select

from tenants.db import bind_tenant, cross_tenant, db, scoped_get, utcnow
from tenants.errors import ServiceError
from tenants.models import ROLES, Invitation, Membership, Tenant, User
from tenants.plans import entitlements, trial_plan
from tenants.signals import access_revoked, member_disabled
from tenants.timezones import check_zone

MIN_PASSWORD = 8
MAX_PASSWORD = 256
INVITATION_TTL = timedelta(days=7)
_hasher = PasswordHasher()  # argon2id, memory-hard


# --- input -----------------------------------------------------------------------------


def normalize_email(raw: str) -> str:
    try:
        return validate_email((raw or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ServiceError("email_invalid", field="email") from exc


def check_password_rules(password: str) -> None:
    if not password or len(password) < MIN_PASSWORD:
        raise ServiceError("password_short", field="password", min=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise ServiceError("password_long", field="password", max=MAX_PASSWORD)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(user: User, password: str) -> bool:
    if not user.password_hash or not password:
        return False
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return True


def _clean_name(raw: str, field: str, max_len: int = 120, required: bool = True) -> str:
    name = " ".join((raw or "").split())
    if required and not name:
        raise ServiceError("required", field=field)
    if len(name) > max_len:
        raise ServiceError("too_long", field=field, max=max_len)
    return name


def _unique_slug(name: str) -> str:
    spelled = "".join(lazy_pinyin(name))  # Chinese in pinyin (林茶 -> lincha), the rest as is
    ascii_name = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40] or "shop"
    slug = base
    while db().scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


# --- signup and sign-in ----------------------------------------------------------------


def signup(
    shop_name: str,
    email: str,
    password: str,
    name: str = "",
    locale: str | None = None,
    now: datetime | None = None,
) -> Membership:
    """A new shop with its owner, on the catalog's trial. Binds the session to the new tenant."""
    now = now or utcnow()
    shop_name = _clean_name(shop_name, "shop_name")
    email = normalize_email(email)
    check_password_rules(password)
    name = _clean_name(name, "name", required=False)
    session = db()
    with cross_tenant(session):
        if session.scalar(select(User.id).where(User.email == email)) is not None:
            raise ServiceError("email_taken", field="email")
        trial = trial_plan(session)
        tenant = Tenant(
            name=shop_name,
            slug=_unique_slug(shop_name),
            plan_code="free",
            locale=locale or "zh_CN",
            trial_plan_code=trial.code if trial else None,
            trial_ends_at=now + timedelta(days=trial.trial_days) if trial else None,
        )
        user = User(email=email, name=name, password_hash=hash_password(password), locale=locale)
        session.add_all([tenant, user])
        session.flush()
    bind_tenant(tenant.id, session)
    owner = Membership(user=user, tenant=tenant, role="owner", status="active")
    session.add(owner)
    session.flush()
    return owner


def authenticate(email: str, password: str) -> list[Membership]:
    """The active memberships of the person with these credentials (across shops)."""
    try:
        email = normalize_email(email)
    except ServiceError:
        raise ServiceError("bad_credentials") from None
    session = db()
    with cross_tenant(session):
        user = session.scalar(select(User).where(User.email == email))
        if user is None or not password_matches(user, password):
            raise ServiceError("bad_credentials")
        memberships = list(
            session.scalars(
                select(Membership)
                .join(Tenant)
                .where(Membership.user_id == user.id, Membership.status == "active")
                .order_by(Membership.id)
            )
        )
    if not memberships:
        raise ServiceError("no_active_shop")
    user.last_login_at = utcnow()
    return memberships


def load_membership(user_id: int, tenant_id: int, session_version: int) -> Membership | None:
    """The session's identity, valid only in the shop it signed into (and while active)."""
    bind_tenant(tenant_id)
    member = db().scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.status == "active")
    )
    if member is None or member.user.session_version != session_version:
        return None
    return member


# --- password reset --------------------------------------------------------------------


def _reset_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="huike-password-reset")


def reset_token(email: str, secret_key: str) -> tuple[User, str] | None:
    """A token for the person with this e-mail, or None (the caller says nothing either way)."""
    try:
        email = normalize_email(email)
    except ServiceError:
        return None
    with cross_tenant():
        user = db().scalar(select(User).where(User.email == email))
    if user is None or not user.password_hash:
        return None
    # The hash's tail makes the token single-use: it dies with the password it resets.
    token = _reset_serializer(secret_key).dumps([user.id, user.password_hash[-16:]])
    return user, token


def reset_user(token: str, secret_key: str, max_age: int) -> User:
    """The person a reset link is for, or the reason it cannot be used (checked on opening
    the link and again on saving)."""
    try:
        user_id, fingerprint = _reset_serializer(secret_key).loads(token, max_age=max_age)
    except SignatureExpired:
        raise ServiceError("reset_expired") from None
    except (BadSignature, ValueError, TypeError):
        raise ServiceError("reset_invalid") from None
    with cross_tenant():
        user = db().get(User, user_id)
    if user is None or not user.password_hash or user.password_hash[-16:] != fingerprint:
        raise ServiceError("reset_invalid")
    return user


def reset_password(token: str, password: str, secret_key: str, max_age: int) -> User:
    user = reset_user(token, secret_key, max_age)
    check_password_rules(password)
    user.password_hash = hash_password(password)
    end_sessions(user)
    return user


# --- a person's own profile -------------------------------------------------------------


def update_profile(
    member: Membership,
    name: str,
    locale: str,
    languages: tuple[str, ...],
    notify_left_messages: bool,
    notify_missed_chats: bool,
) -> Membership:
    """Their name and language (for every shop of theirs), and this shop's e-mails to them."""
    name = _clean_name(name, "name", required=False)
    if locale not in languages:
        raise ServiceError("language_invalid", field="locale")
    member.user.name, member.user.locale = name, locale
    member.notify_left_messages = notify_left_messages
    member.notify_missed_chats = notify_missed_chats
    return member


def change_password(user: User, current: str, new: str) -> User:
    """The current password proves it is them; every other session of theirs ends."""
    if not password_matches(user, current):
        raise ServiceError("current_password_wrong", field="current")
    check_password_rules(new)
    user.password_hash = hash_password(new)
    end_sessions(user)
    return user


def end_sessions(user: User) -> None:
    """Every session of this person ends, copies of its cookie and open sockets included."""
    user.session_version += 1
    access_revoked.send(None, user_id=user.id)


# --- seats and members -----------------------------------------------------------------


def seats_by_shop(now: datetime | None = None, tenant_id: int | None = None) -> dict[int, int]:
    """Seats in use per shop: active members plus invitations still open, both hold a seat.
    The one count the console, the billing page and the back office show. In a shop's session
    that shop's alone; in ``cross_tenant()`` every shop's, or ``tenant_id``'s."""
    now = now or utcnow()
    active = select(Membership.tenant_id, func.count()).where(Membership.status == "active")
    pending = (
        select(Membership.tenant_id, func.count())
        .select_from(Invitation)
        .join(Membership, Invitation.membership_id == Membership.id)
        .where(
            Membership.status == "invited",
            Invitation.accepted_at.is_(None),
            Invitation.expires_at > now,
        )
    )
    seats: Counter[int] = Counter()
    for query in (active, pending):
        if tenant_id is not None:
            query = query.where(Membership.tenant_id == tenant_id)
        seats.update(dict(db().execute(query.group_by(Membership.tenant_id)).all()))
    return dict(seats)


def seats_in_use(now: datetime | None = None) -> int:
    """The signed-in shop's seats in use (``seats_by_shop``)."""
    return sum(seats_by_shop(now).values())


def _require_seat(tenant: Tenant, now: datetime, freeing: int = 0) -> None:
    rights = entitlements(tenant, now)
    if seats_in_use(now) - freeing >= rights.seat_limit:
        # a paying shop buys more seats; a free one upgrades first
        paid = rights.plan.price_per_seat_year > 0
        raise ServiceError("seat_limit_paid" if paid else "seat_limit", limit=rights.seat_limit)


def _require_admin(actor: Membership) -> None:
    if not actor.is_admin:
        raise ServiceError("forbidden")


def members() -> list[Membership]:
    order = {role: i for i, role in enumerate(ROLES)}
    found = db().scalars(select(Membership).order_by(Membership.id))
    return sorted(found, key=lambda m: (order.get(m.role, 9), m.status != "active", m.id))


def joined_ids() -> set[int]:
    """The members who once took their seat (the owner, whoever accepted an invitation). Only
    their names are the shop's to show: an invited person's name is their own account's,
    perhaps set in another shop, until they join this one."""
    accepted = select(Invitation.membership_id).where(Invitation.accepted_at.is_not(None))
    return set(
        db().scalars(
            select(Membership.id).where(
                or_(
                    Membership.status == "active",
                    Membership.role == "owner",
                    Membership.id.in_(accepted),
                )
            )
        )
    )


def open_invitation(member: Membership) -> Invitation | None:
    return db().scalar(
        select(Invitation)
        .where(Invitation.membership_id == member.id, Invitation.accepted_at.is_(None))
        .order_by(Invitation.id.desc())
    )


def _new_invitation(member: Membership, actor: Membership, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    db().add(
        Invitation(
            membership=member,
            token_hash=_token_hash(token),
            expires_at=now + INVITATION_TTL,
            invited_by_id=actor.user_id,
        )
    )
    db().flush()
    return token


def invite(
    actor: Membership, email: str, role: str = "agent", now: datetime | None = None
) -> tuple[Membership, str]:
    """Invite a person into a seat. Returns the membership and the token to send them."""
    now = now or utcnow()
    _require_admin(actor)
    if role not in ("admin", "agent"):
        raise ServiceError("role_invalid", field="role")
    email = normalize_email(email)
    session = db()
    with cross_tenant(session):
        user = session.scalar(select(User).where(User.email == email))
    member = None
    if user is not None:
        member = session.scalar(select(Membership).where(Membership.user_id == user.id))
    if member is not None and member.status == "active":
        raise ServiceError("already_member", field="email")
    if member is not None and member.status == "disabled":
        raise ServiceError("member_disabled", field="email")
    if member is not None:  # invited before: a fresh token replaces the old one
        old = open_invitation(member)
        freeing = 1 if old is not None and old.expires_at > now else 0
        _require_seat(actor.tenant, now, freeing=freeing)
        if old is not None:
            old.expires_at = now
        member.role = role
        return member, _new_invitation(member, actor, now)
    _require_seat(actor.tenant, now)
    if user is None:
        with cross_tenant(session):
            user = User(email=email)
            session.add(user)
            session.flush()
    member = Membership(user=user, tenant=actor.tenant, role=role, status="invited")
    session.add(member)
    return member, _new_invitation(member, actor, now)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_invitation(token: str, now: datetime | None = None) -> Invitation:
    """The open invitation behind a token; binds the session to its shop."""
    now = now or utcnow()
    with cross_tenant():
        invitation = db().scalar(
            select(Invitation).where(Invitation.token_hash == _token_hash(token or ""))
        )
    if invitation is None or invitation.membership.status == "disabled":
        raise ServiceError("invitation_invalid")
    if invitation.accepted_at is not None or invitation.membership.status == "active":
        raise ServiceError("invitation_used")
    if invitation.expires_at <= now:
        with cross_tenant():  # a newer one for the same person: this one was replaced
            newer = db().scalar(
                select(Invitation.id).where(
                    Invitation.membership_id == invitation.membership_id,
                    Invitation.id > invitation.id,
                )
            )
        raise ServiceError("invitation_replaced" if newer else "invitation_expired")
    bind_tenant(invitation.tenant_id)
    return invitation


def accept_invitation(
    token: str, password: str, name: str = "", now: datetime | None = None
) -> Membership:
    """Take the seat. A new person sets a password; a known one proves theirs."""
    now = now or utcnow()
    invitation = find_invitation(token, now)
    member = invitation.membership
    user = member.user
    if user.password_hash:
        if not password_matches(user, password):
            raise ServiceError("bad_credentials", field="password")
    else:
        check_password_rules(password)
        user.password_hash = hash_password(password)
    if name:
        user.name = _clean_name(name, "name")
    _require_seat(member.tenant, now, freeing=1)  # this invitation's own seat
    member.status = "active"
    invitation.accepted_at = now
    db().flush()
    return member


def _target(actor: Membership, membership_id: int) -> Membership:
    _require_admin(actor)
    member = scoped_get(Membership, membership_id)
    if member is None:
        raise ServiceError("not_found")
    if member.role == "owner":
        raise ServiceError("owner_protected")
    if member.id == actor.id:
        raise ServiceError("not_yourself")
    return member


def set_timezone(actor: Membership, zone: str) -> Tenant:
    """The shop's time zone, for its pages, exports, e-mail and working hours."""
    _require_admin(actor)
    actor.tenant.timezone = check_zone(zone)
    return actor.tenant


def set_reply_email(actor: Membership, email: str) -> Tenant:
    """The shop's address for customers' answers (empty: each reply names the agent who wrote)."""
    _require_admin(actor)
    actor.tenant.reply_email = normalize_email(email) if (email or "").strip() else ""
    return actor.tenant


def change_role(actor: Membership, membership_id: int, role: str) -> Membership:
    member = _target(actor, membership_id)
    if role not in ("admin", "agent"):
        raise ServiceError("role_invalid", field="role")
    member.role = role
    return member


def disable_member(
    actor: Membership, membership_id: int, now: datetime | None = None
) -> Membership:
    member = _target(actor, membership_id)
    if member.status == "invited":
        invitation = open_invitation(member)
        if invitation is not None:
            invitation.expires_at = now or utcnow()
    member.status = "disabled"
    member_disabled.send(member)
    access_revoked.send(None, tenant_id=member.tenant_id, membership_id=member.id)
    return member


def enable_member(actor: Membership, membership_id: int, now: datetime | None = None) -> Membership:
    now = now or utcnow()
    member = _target(actor, membership_id)
    if member.status != "disabled":
        return member
    _require_seat(actor.tenant, now)
    # Someone who never accepted goes back to "invited" and needs a new invitation.
    accepted = db().scalar(
        select(Invitation.id).where(
            Invitation.membership_id == member.id, Invitation.accepted_at.is_not(None)
        )
    )
    member.status = "active" if accepted else "invited"
    return member
