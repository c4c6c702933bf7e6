"""Visitors: who a widget's browser is (its signed token, the shop's site key and domains),
the pages they see and visits they make, and an agent's invitation to chat."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from app.chat import sources
from app.chat.models import PageView, Visitor
from tenants.db import cross_tenant, db, scoped_get, utcnow
from tenants.errors import ServiceError
from tenants.models import Tenant

VISIT_GAP = timedelta(minutes=30)  # a new visit after half an hour away
ON_SITE = timedelta(seconds=70)  # the loader pings every 20 s while the page is visible


def _token_serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="huike-visitor")


def visitor_token(secret: str, visitor: Visitor) -> str:
    return _token_serializer(secret).dumps([visitor.tenant_id, visitor.key])


def read_visitor_token(secret: str, token: str) -> tuple[int, str] | None:
    try:
        tenant_id, key = _token_serializer(secret).loads(token or "")
        return int(tenant_id), str(key)
    except (BadSignature, ValueError, TypeError):
        return None


def tenant_for_site_key(site_key: str) -> Tenant | None:
    with cross_tenant():
        return db.scalar(select(Tenant).where(Tenant.site_key == (site_key or "")[:32]))


def origin_allowed(origin: str | None, allowed: list[str]) -> bool:
    """A shop's widget answers its own domains (and their subdomains); none listed: any."""
    if not origin:
        return True
    return host_allowed(urlsplit(origin).hostname or "", allowed)


def host_allowed(host: str, allowed: list[str]) -> bool:
    return not allowed or any(host == d or host.endswith("." + d) for d in allowed)


def visitor_by_key(key: str) -> Visitor | None:
    return db.scalar(select(Visitor).where(Visitor.key == key))


def clip(value: str | None, length: int) -> str:
    return (value or "").strip()[:length]


def record_page_view(
    visitor: Visitor | None,
    url: str,
    title: str = "",
    referrer: str = "",
    lang: str = "",
    user_agent: str = "",
    ip: str = "",
    now: datetime | None = None,
) -> Visitor:
    """A page seen: a new visitor, a new visit after a long gap, or one more page."""
    now = now or utcnow()
    url, referrer = clip(url, 1000), clip(referrer, 1000)
    if not url.startswith(("http://", "https://")):
        raise ServiceError("bad_url", field="url")
    if visitor is None:
        visitor = Visitor(key=secrets.token_urlsafe(16), first_seen_at=now)
        db.add(visitor)
    own_host = urlsplit(url).hostname or ""
    new_visit = not visitor.visit_count or now - visitor.last_seen_at > VISIT_GAP
    if new_visit:
        visitor.visit_count = (visitor.visit_count or 0) + 1
        visitor.visit_started_at = now
        visitor.page_count = 0
        visitor.referrer = referrer
        visitor.source, visitor.keyword, visitor.utm = sources.classify(url, referrer, own_host)
    visitor.page_count = (visitor.page_count or 0) + 1
    visitor.last_seen_at = now
    visitor.current_url = url
    visitor.current_title = clip(title, 300)
    visitor.lang = clip(lang, 10) or visitor.lang
    visitor.user_agent = clip(user_agent, 300) or visitor.user_agent
    visitor.ip = clip(ip, 45) or visitor.ip
    db.flush()
    _, _, utm = sources.classify(url, referrer, own_host)
    db.add(
        PageView(
            visitor_id=visitor.id,
            url=url,
            title=visitor.current_title,
            referrer=referrer,
            utm=utm,
            viewed_at=now,
        )
    )
    return visitor


def touch(visitor: Visitor, url: str = "", now: datetime | None = None) -> None:
    visitor.last_seen_at = now or utcnow()
    if url.startswith(("http://", "https://")):
        visitor.current_url = clip(url, 1000)


def visitors_on_site(now: datetime | None = None, limit: int = 200) -> list[Visitor]:
    since = (now or utcnow()) - ON_SITE
    return list(
        db.scalars(
            select(Visitor)
            .where(Visitor.last_seen_at >= since)
            .order_by(Visitor.last_seen_at.desc())
            .limit(limit)
        )
    )


def recent_pages(visitor_id: int, limit: int = 20) -> list[PageView]:
    return list(
        db.scalars(
            select(PageView)
            .where(PageView.visitor_id == visitor_id)
            .order_by(PageView.viewed_at.desc(), PageView.id.desc())
            .limit(limit)
        )
    )


def invite_visitor(visitor_id: int, agent_name: str, text: str) -> Visitor:
    visitor = scoped_get(Visitor, visitor_id)
    if visitor is None:
        raise ServiceError("not_found")
    visitor.invite = {"agent_name": agent_name, "text": clip(text, 300)}
    return visitor


def take_invite(visitor: Visitor) -> dict | None:
    invite, visitor.invite = visitor.invite, None
    return invite
