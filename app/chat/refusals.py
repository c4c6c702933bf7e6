"""The widget refused on a website the shop did not allow: counted per shop, host and day, so the
console home can say so and add the host in one click.

A refused page view answers 403, and a refused request's unit rolls back: the count is written
in a unit of its own, one upsert per page view into one row per host and day. Only page views
count (``hello``, one per page); a host the settings could not take (not a website address) is
not counted, and a shop's list is capped per day (a script can send any Origin).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from app.chat.models import WidgetRefusal
from app.chat.presence import settings
from app.chat.setup import DOMAIN
from app.chat.visitors import host_allowed
from tenants.db import bind_tenant, db, scoped_get
from tenants.errors import ServiceError
from tenants.timezones import today
from tenants.work import unit_of_work

MAX_HOSTS_PER_DAY = 20


def record(tenant_id: int, timezone: str, origin: str | None) -> None:
    """Count one refused page view from ``origin``'s host, in a unit of its own: call it with
    no unit open (a refused request's would roll the count back)."""
    host = (urlsplit(origin or "").hostname or "").lower()
    if not DOMAIN.match(host):
        return
    day = today(timezone)
    bind_tenant(tenant_id)
    with unit_of_work() as session:
        seen = select(WidgetRefusal.host).where(WidgetRefusal.day == day)
        hosts = set(session.scalars(seen.limit(MAX_HOSTS_PER_DAY + 1)))
        if host not in hosts and len(hosts) >= MAX_HOSTS_PER_DAY:
            return
        connection = session.connection()
        insert = (postgresql if connection.dialect.name == "postgresql" else sqlite).insert
        statement = insert(WidgetRefusal.__table__).values(
            tenant_id=tenant_id, host=host, day=day, count=1, dismissed=False
        )
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["tenant_id", "host", "day"],
                set_={"count": WidgetRefusal.__table__.c.count + 1},
            )
        )


def refused_today(timezone: str) -> list[WidgetRefusal]:
    """Today's refusals not dismissed, on hosts still not allowed, the most refused first."""
    allowed = settings().allowed_domains
    rows = db.scalars(
        select(WidgetRefusal)
        .where(WidgetRefusal.day == today(timezone), WidgetRefusal.dismissed.is_(False))
        .order_by(WidgetRefusal.count.desc(), WidgetRefusal.host)
    )
    return [r for r in rows if not host_allowed(r.host, allowed)]


def _refusal(refusal_id: int) -> WidgetRefusal:
    refusal = scoped_get(WidgetRefusal, refusal_id)
    if refusal is None:
        raise ServiceError("not_found")
    return refusal


def allow_host(refusal_id: int) -> str:
    """Add the refused host to the shop's allowed websites."""
    refusal = _refusal(refusal_id)
    chat = settings()
    chat.allowed_domains = sorted({*chat.allowed_domains, refusal.host})
    return refusal.host


def dismiss(refusal_id: int) -> str:
    """Stop showing today's refusals from this host (not a website of the shop's)."""
    refusal = _refusal(refusal_id)
    refusal.dismissed = True
    return refusal.host
