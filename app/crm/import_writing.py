"""An import written: the customers' plan in batches of a few statements, the orders row by
row through upsert_order, each in its SAVEPOINT."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.crm.customers import save_customer
from app.crm.import_plan import NewCustomer, Plan, Row, as_data, batches, breathe, one, stored_state
from app.crm.models import Customer, CustomerEmail, CustomerPhone, CustomerTag, Order
from app.crm.orders import update_order, upsert_order
from app.crm.spreadsheet import number_text, parse_placed_at
from app.crm.timeline import note_duplicate
from app.crm.values import parse_money
from tenants.db import current_tenant_id, db, scoped_get, utcnow
from tenants.errors import ServiceError

WRITE_BATCH = 500  # new customers per INSERT round


def write_plan(plan: Plan) -> dict[Row, ServiceError]:
    """Write the plan in batches (a few statements per batch, not several per row), each
    in a SAVEPOINT. A batch the database refuses (a change made at the same moment that
    the plan could not see) is written again one customer at a time through
    save_customer, so only the clashing rows fail. Returns those rows, with why. Then the
    possible duplicates the plan made (a conflict's "create") go on both timelines."""
    failed: dict[Row, ServiceError] = {}
    for index, batch in enumerate(batches(list(plan.rows), WRITE_BATCH)):
        breathe(index)
        stored = _load([t for t in batch if not isinstance(t, NewCustomer)])
        for gone in [t for t in batch if not isinstance(t, NewCustomer) and t not in stored]:
            batch.remove(gone)  # deleted since it was read: not made again
            failed.update((row, ServiceError("import_conflict")) for row in plan.rows[gone])
        new = [t for t in batch if isinstance(t, NewCustomer)]
        try:
            with db.begin_nested():
                _insert(new, [plan.states[t] for t in new])
                for customer_id, customer in stored.items():
                    _apply(customer, plan.states[customer_id])
                db.flush()
        except IntegrityError:
            for target in new:
                target.id = None  # its INSERT was rolled back
            for target in batch:
                _save(plan, target, failed)
    for made, other in plan.duplicates:
        other_id = other.id if isinstance(other, NewCustomer) else other
        if made.id and other_id:
            note_duplicate(made.id, other_id, "import")
    return failed


def _save(plan: Plan, target: int | NewCustomer, failed: dict) -> None:
    customer = None if isinstance(target, NewCustomer) else scoped_get(Customer, target)
    data = as_data(plan.states[target], stored_state(customer) if customer else None)
    try:
        with db.begin_nested():
            saved = save_customer(customer, data, source="import")
        if isinstance(target, NewCustomer):
            target.id = saved.id
    except ServiceError as error:
        failed.update((row, error) for row in plan.rows[target])
    except IntegrityError:
        failed.update((row, ServiceError("import_conflict")) for row in plan.rows[target])


def _load(ids: list[int]) -> dict[int, Customer]:
    if not ids:
        return {}
    query = select(Customer).where(Customer.id.in_(ids))
    for collection in (Customer.phones, Customer.emails, Customer.tags):
        query = query.options(selectinload(collection))
    return {c.id: c for c in db.scalars(query)}


def _insert(targets: list[NewCustomer], states: list[dict]) -> None:
    """New customers as save_customer makes them, in a few statements: the customers (their
    ids come back in order), then their phones, e-mails and tags. A bulk INSERT is not a
    flush, so tenant_id is given here (row-level security checks it all the same)."""
    if not states:
        return
    tenant_id, now = current_tenant_id(), utcnow()
    customers = [
        {
            "tenant_id": tenant_id,
            "source": "import",
            "name": state.get("name") or "",
            "name_key": (state.get("name") or "").lower(),
            "company": state.get("company") or "",
            "external_id": state.get("external_id"),
            "owner_id": state.get("owner_id"),
            "fields": state["fields"],
            "created_at": now,
            "updated_at": now,
        }
        for state in states
    ]
    # Core, not ORM, INSERTs: the ORM splits a batch wherever a row leaves a value out
    table = Customer.__table__
    returning = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = db.execute(returning, customers).scalars().all()
    for target, customer_id in zip(targets, ids, strict=True):
        target.id = customer_id
    for model, attr, key in (
        (CustomerPhone, "e164", "phones"),
        (CustomerEmail, "email", "emails"),
        (CustomerTag, "tag", "tags"),
    ):
        rows = [
            {"tenant_id": tenant_id, "customer_id": customer_id, attr: value}
            for customer_id, state in zip(ids, states, strict=True)
            for value in state[key]
        ]
        if rows:
            db.execute(insert(model.__table__), rows)


def _apply(customer: Customer, state: dict) -> None:
    """What save_customer does with a checked state to a stored customer: values set, new
    phones, e-mails and tags added (an import only adds)."""
    for key in ("name", "company", "external_id", "owner_id", "fields"):
        if state.get(key) != getattr(customer, key):
            setattr(customer, key, state.get(key))
    customer.name_key = (customer.name or "").lower()
    for rows, make, attr, values in (
        (customer.phones, CustomerPhone, "e164", state["phones"]),
        (customer.emails, CustomerEmail, "email", state["emails"]),
        (customer.tags, CustomerTag, "tag", state["tags"]),
    ):
        have = {getattr(r, attr) for r in rows}
        rows.extend(make(**{attr: v}) for v in values if v not in have)
    customer.updated_at = utcnow()


def _import_order(row: Row, plan: Plan) -> str:
    values = row.values
    order_id = one(values, "order_id") or ""
    payload: dict = {"order_id": order_id}
    if "status" in values:
        payload["status"] = one(values, "status")
    if "total" in values:
        payload["total"] = number_text(one(values, "total"))
    if "currency" in values:
        payload["currency"] = one(values, "currency")
    if "placed_at" in values:
        payload["placed_at"] = parse_placed_at(one(values, "placed_at"), plan.tz)
    existing = db.scalar(select(Order).where(Order.external_id == order_id)) if order_id else None
    if existing is not None:
        changes = {}
        if "status" in payload and payload["status"].strip().lower() != existing.status:
            changes["status"] = payload["status"]
        if "total" in payload and parse_money(payload["total"]) != existing.total:
            changes["total"] = payload["total"]
        if not changes:
            return "unchanged"
        with db.begin_nested():
            update_order(existing, changes)
        return "updated"
    payload["customer"] = {
        key: one(values, f"customer_{key}")
        for key in ("external_id", "phone", "email", "name")
        if f"customer_{key}" in values
    }
    with db.begin_nested():
        upsert_order(payload)
    return "created"


def import_orders(rows: list[Row], plan: Plan, report) -> Counter:
    """Row by row through upsert_order, each in its SAVEPOINT."""
    counts = Counter()
    for index, row in enumerate(rows):
        breathe(index)
        try:
            counts[_import_order(row, plan)] += 1
        except ServiceError as error:
            report(row, error)
        except IntegrityError:  # a change made at the same moment, e.g. through the API
            report(row, ServiceError("import_conflict"))
    return counts
