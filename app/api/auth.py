"""Who calls /api/v1: the shop's key from ``Authorization: Bearer <key>``.

The key names the shop, so its tenant is bound for the whole request; a session cookie plays
no part. A suspended shop is refused (403); a shop without CRM gets the upgrade answer (402)
from the gate of the API's blueprint, which runs once this check has named the shop.
"""

from __future__ import annotations

from flask import current_app, g, request

from app.api import keys
from app.extensions import limiter
from tenants.db import bind_tenant, scoped_get
from tenants.errors import ServiceError
from tenants.models import Tenant


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def authenticate() -> None:
    """Before every key-protected request: a live key of an active shop, which it binds."""
    token = bearer_token()
    if token is None:
        raise ServiceError("api_key_missing")
    key = keys.authenticate(token)
    if key is None:
        raise ServiceError("api_key_invalid")
    bind_tenant(key.tenant_id)
    tenant = scoped_get(Tenant, key.tenant_id)
    if tenant.status == "suspended":
        raise ServiceError("suspended")
    keys.mark_used(key)
    g.api_key, g.tenant = key, tenant


def _rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def _key_bucket() -> str:
    return f"api-key:{g.api_key.id}"


def _ask_rate_limit() -> str:
    return current_app.config["API_ASK_RATE_LIMIT"]


# One budget per key across every endpoint. A view decorator, not a blueprint limit: the
# blueprint's limits are counted before ``authenticate`` has found the key.
rate_limited = limiter.shared_limit(_rate_limit, scope="api", key_func=_key_bucket)
# The ask API has its own, larger budget: a shop's channel asks the robot once per visitor
# question, as its chat comes (a busy hour is far more than 120 a minute).
ask_rate_limited = limiter.shared_limit(_ask_rate_limit, scope="api_ask", key_func=_key_bucket)
