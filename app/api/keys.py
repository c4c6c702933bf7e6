"""API keys for /api/v1: shown once, stored as a SHA-256 hash, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from app.api.models import ApiKey
from tenants.db import cross_tenant, db, scoped_get, utcnow
from tenants.errors import ServiceError

PREFIX = "hk_live_"
USE_RECORDED_EVERY = timedelta(minutes=1)


def _hash(token: str) -> str:
    # the token is 32 random bytes: a fast hash is enough, no password stretching needed
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(name: str, created_by_id: int | None = None) -> tuple[ApiKey, str]:
    """A new key for the bound shop; the token is returned here and never again."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("required", field="name")
    if len(name) > 80:
        raise ServiceError("too_long", field="name", max=80)
    token = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        prefix=token[: len(PREFIX) + 6],
        key_hash=_hash(token),
        created_by_id=created_by_id,
    )
    db.add(key)
    db.flush()
    return key, token


def keys() -> list[ApiKey]:
    return list(
        db.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc()))
    )


def revoke(key_id) -> ApiKey:
    key = scoped_get(ApiKey, key_id) if str(key_id).isdigit() else None
    if key is None:
        raise ServiceError("not_found", field="key_id")
    key.revoked_at = key.revoked_at or utcnow()
    db.flush()
    return key


def authenticate(token: str) -> ApiKey | None:
    """The live key for this token, from any shop (the caller binds its tenant)."""
    if not token or not token.startswith(PREFIX):
        return None
    with cross_tenant():
        key = db.scalar(select(ApiKey).where(ApiKey.key_hash == _hash(token)))
    if key is None or key.revoked_at is not None:
        return None
    return key


def mark_used(key: ApiKey) -> None:
    """Record a use at most once a minute, so a busy key does not write on every request."""
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= USE_RECORDED_EVERY:
        key.last_used_at = now  # with the request's unit: a refused request is no use
