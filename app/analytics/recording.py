"""What the listeners write: a visit when a visitor lands, a reporting event when something
happens, an order's facts — and, with each, the moment whose day's rollups it changed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from app.analytics.attribution import first_touch
from app.analytics.models import AnalyticsDirty, AnalyticsEvent, AnalyticsOrder, AnalyticsVisit
from app.chat import service as chat
from tenants.db import db, utcnow

# An order (or a call) is explained by the customer's visits this long before it.
ATTRIBUTION_WINDOW = timedelta(days=30)
# The order states that bring no revenue (as the CRM counts them).
UNCOUNTED = ("cancelled", "canceled", "refunded")


def mark(*moments: datetime) -> None:
    """The local days of these moments need their rollups recomputed."""
    db.add_all(AnalyticsDirty(at=at) for at in {m for m in moments if m is not None})


def start_visit(visitor) -> AnalyticsVisit:
    """The visitor's new visit, landed on its current page from its visit's referrer (one
    from the shop's own domains is no source; an app's browser may say where it was)."""
    touch = first_touch(
        visitor.current_url,
        visitor.referrer,
        own_domains=chat.settings().allowed_domains,
        user_agent=visitor.user_agent,
    )
    visit = AnalyticsVisit(
        visitor_id=visitor.id,
        customer_id=visitor.customer_id,
        started_at=visitor.visit_started_at,
        **touch.columns(),
    )
    db.add(visit)
    mark(visit.started_at)
    return visit


def visit_of(visitor_id: int | None, at: datetime) -> int | None:
    """The visit the visitor was on at ``at``: their latest one that had started by then."""
    if visitor_id is None:
        return None
    return db.scalar(
        select(AnalyticsVisit.id)
        .where(AnalyticsVisit.visitor_id == visitor_id, AnalyticsVisit.started_at <= at)
        .order_by(AnalyticsVisit.started_at.desc(), AnalyticsVisit.id.desc())
        .limit(1)
    )


def customer_visit(customer_id: int | None, at: datetime) -> int | None:
    """A known customer's latest visit within the window before ``at`` (a caller's)."""
    if customer_id is None:
        return None
    return db.scalar(
        select(AnalyticsVisit.id)
        .where(
            AnalyticsVisit.customer_id == customer_id,
            AnalyticsVisit.started_at <= at,
            AnalyticsVisit.started_at >= at - ATTRIBUTION_WINDOW,
        )
        .order_by(AnalyticsVisit.started_at.desc(), AnalyticsVisit.id.desc())
        .limit(1)
    )


def event(name: str, at: datetime | None = None, **fields) -> AnalyticsEvent:
    """A reporting event; its day's rollups are marked out of date."""
    row = AnalyticsEvent(name=name, at=at or utcnow(), **fields)
    db.add(row)
    mark(row.at)
    return row


def consultation(kind: str, at: datetime, visit_id: int | None, **fields) -> AnalyticsEvent:
    """A chat, left message, call or callback request, tied to the visit it came from."""
    return event("consultation", at, kind=kind, visit_id=visit_id, **fields)


def order_seen(order) -> None:
    """Keep the order's facts as the CRM has them now (new, or its status or total changed)."""
    row = db.scalar(select(AnalyticsOrder).where(AnalyticsOrder.order_id == order.id))
    if row is None:
        row = AnalyticsOrder(order_id=order.id)
        db.add(row)
    row.customer_id = order.customer_id
    row.placed_at = order.placed_at
    row.total = order.total
    row.currency = order.currency
    row.counted = order.status not in UNCOUNTED
    mark(order.placed_at)


def visitor_known(visitor_id: int, customer_id: int) -> None:
    """The visitor's visits are now the customer's: the orders they may explain (placed in the
    window after one of them) are marked, not every order of a long-standing customer — and
    so are those of a customer an agent had linked the visitor to before."""
    before = db.scalars(
        select(AnalyticsVisit.customer_id)
        .where(
            AnalyticsVisit.visitor_id == visitor_id,
            AnalyticsVisit.customer_id.is_not(None),
            AnalyticsVisit.customer_id != customer_id,
        )
        .distinct()
    ).all()
    db.execute(
        update(AnalyticsVisit)
        .where(AnalyticsVisit.visitor_id == visitor_id)
        .values(customer_id=customer_id)
    )
    first, last = db.execute(
        select(func.min(AnalyticsVisit.started_at), func.max(AnalyticsVisit.started_at)).where(
            AnalyticsVisit.visitor_id == visitor_id
        )
    ).one()
    if first is not None:
        for customer in (customer_id, *before):
            _orders_changed(
                customer,
                AnalyticsOrder.placed_at >= first,
                AnalyticsOrder.placed_at <= last + ATTRIBUTION_WINDOW,
            )


def customers_merged(kept_id: int, source_id: int) -> None:
    for model in (AnalyticsVisit, AnalyticsOrder):
        db.execute(update(model).where(model.customer_id == source_id).values(customer_id=kept_id))
    _orders_changed(kept_id)


def _orders_changed(customer_id: int, *within) -> None:
    mark(
        *db.scalars(
            select(AnalyticsOrder.placed_at).where(
                AnalyticsOrder.customer_id == customer_id, *within
            )
        )
    )
