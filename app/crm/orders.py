"""Orders the shop sends (API, import): created or updated by the shop's order id, on the
customer's timeline, and summed into the customer's order count and revenue."""

from __future__ import annotations

from sqlalchemy import func, select

from app.crm import signals
from app.crm.customers import add_contacts, find_by_contact, save_customer
from app.crm.models import Customer, Order
from app.crm.timeline import add_entry
from app.crm.values import normalize_phone, parse_datetime, parse_money, shop_country
from tenants.db import db, scoped_get, utcnow
from tenants.errors import ServiceError
from tenants.service import normalize_email

ORDER_STATUS_MAX = 32


def _order_customer(given: dict) -> Customer:
    """The order's customer by external id, phone or e-mail; a new one when none matches."""
    if not isinstance(given, dict):
        raise ServiceError("customer_required", field="customer")
    external_id = str(given.get("external_id") or "").strip() or None
    region = shop_country()
    phones = []
    if given.get("phone"):
        try:
            phones = [normalize_phone(given["phone"], region)]
        except ServiceError as exc:
            raise ServiceError(
                "phone_invalid", field="customer.phone", value=given["phone"]
            ) from exc
    emails = []
    if given.get("email"):
        try:
            emails = [normalize_email(given["email"])]
        except ServiceError as exc:
            raise ServiceError("email_invalid", field="customer.email") from exc
    if not (external_id or phones or emails):
        raise ServiceError("customer_required", field="customer")
    customer = find_by_contact(external_id, phones, emails)
    if customer is not None and external_id and customer.external_id not in (None, external_id):
        customer = None  # the contact is another of the shop's users: this order is not theirs
    if customer is None:
        data = {"name": given.get("name") or "", "external_id": external_id}
        customer = save_customer(None, data, source="order")
    add_contacts(customer, phones, emails)
    if given.get("name") and not customer.name:
        customer.name, customer.name_key = given["name"][:120], given["name"][:120].lower()
    return customer


def _status(raw) -> str:
    status = str(raw or "").strip().lower()
    if not status or len(status) > ORDER_STATUS_MAX:
        raise ServiceError("status_invalid", field="status")
    return status


def _items(raw) -> list:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list) or len(raw) > 200:
        raise ServiceError("items_invalid", field="items")
    items = []
    for item in raw:
        if not isinstance(item, dict) or not str(item.get("name") or "").strip():
            raise ServiceError("items_invalid", field="items")
        try:
            quantity = int(item.get("quantity", 1))
        except (TypeError, ValueError) as exc:
            raise ServiceError("items_invalid", field="items") from exc
        price = item.get("price")
        items.append(
            {
                "name": str(item["name"]).strip()[:200],
                "quantity": quantity,
                "price": parse_money(price, "items") if price not in (None, "") else None,
            }
        )
    return items


def upsert_order(payload: dict) -> tuple[Order, bool]:
    """Create the order, or, when the shop's order id is known, apply what changed (a status
    change lands on the timeline). Returns (order, created). Sending the same order twice
    changes nothing the second time."""
    if not isinstance(payload, dict):
        raise ServiceError("body_invalid")
    external_id = str(payload.get("order_id") or "").strip()
    if not external_id or len(external_id) > 128:
        raise ServiceError("required", field="order_id")
    order = db.scalar(select(Order).where(Order.external_id == external_id))
    if order is not None:
        changes = {k: payload[k] for k in ("status", "total", "items") if k in payload}
        update_order(order, changes)
        return order, False
    status = _status(payload.get("status") or "placed")
    total = parse_money(payload.get("total", 0))
    currency = str(payload.get("currency") or "CNY").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ServiceError("currency_invalid", field="currency")
    placed_at = (
        parse_datetime(payload["placed_at"], "placed_at") if payload.get("placed_at") else utcnow()
    )
    items = _items(payload.get("items"))
    customer = _order_customer(payload.get("customer"))
    order = Order(
        external_id=external_id,
        customer_id=customer.id,
        status=status,
        total=total,
        currency=currency,
        items=items,
        placed_at=placed_at,
    )
    db.add(order)
    db.flush()
    add_entry(
        customer.id,
        "order",
        ref_id=order.id,
        summary=external_id,
        data={"total": total, "currency": currency, "status": status, "items": len(items)},
        occurred_at=placed_at,
    )
    refresh_totals(customer)
    signals.order_recorded.send(order)
    return order, True


def update_order(order: Order, changes: dict) -> Order:
    """Apply a status (and total/items) change; the same values again are a no-op."""
    previous = order.status
    before = (order.status, order.total, order.items)
    if "status" in changes:
        status = _status(changes["status"])
        if status != order.status:
            add_entry(
                order.customer_id,
                "order_status",
                summary=order.external_id,
                data={"from": order.status, "to": status, "order_id": order.id},
            )
            order.status = status
    if "total" in changes:
        order.total = parse_money(changes["total"])
    if "items" in changes:
        order.items = _items(changes["items"])
    db.flush()
    refresh_totals(scoped_get(Customer, order.customer_id))
    if order.status != previous:
        signals.order_status_changed.send(order, previous=previous)
    if (order.status, order.total, order.items) != before:
        signals.order_changed.send(order)
    return order


def order_by_external_id(external_id: str) -> Order:
    order = db.scalar(select(Order).where(Order.external_id == str(external_id)))
    if order is None:
        raise ServiceError("not_found", field="order_id")
    return order


# Orders in these states do not count towards a customer's revenue.
UNCOUNTED = ("cancelled", "canceled", "refunded")


def refresh_totals(customer: Customer) -> None:
    counted = select(
        func.count(Order.id), func.coalesce(func.sum(Order.total), 0), func.max(Order.placed_at)
    ).where(Order.customer_id == customer.id, Order.status.not_in(UNCOUNTED))
    count, revenue, last = db.execute(counted).one()
    customer.order_count, customer.revenue, customer.last_order_at = count, revenue, last
    db.flush()
