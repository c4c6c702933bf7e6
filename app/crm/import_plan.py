"""An import's customer rows decided in memory, before anything is written (app/crm/imports.py
says why): each row read into save_customer's data and matched against the shop's customers
and the rows before it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.crm.customers import customer_snapshot
from app.crm.fields import check_field_value, custom_fields
from app.crm.import_mapping import IGNORE
from app.crm.models import Customer, CustomerEmail, CustomerPhone, CustomerTag, CustomField
from app.crm.schemas import MAX_EMAILS, MAX_PHONES, MAX_TAGS, CustomerInput
from app.crm.spreadsheet import LIST_SPLIT, day_and_time, number_text, phones_in, unguard_cell
from app.crm.values import names_differ, normalize_tag
from app.schemas import checked
from tenants.db import db
from tenants.errors import ServiceError
from tenants.models import Membership, User
from tenants.service import normalize_email

IN_BATCH = 1000
# What may be done with a conflict: a row matched by phone or e-mail whose name is another's.
CONFLICT_CHOICES = ("update", "create", "skip")


@dataclass(eq=False)
class Row:
    number: int
    cells: list[str]
    values: dict  # target -> [(column index, cell)]
    # a value (as written or normalised) -> its column, to say where an error came from
    origin: dict = field(default_factory=dict)


def columns(mapping: dict, cells: list[str]) -> dict[str, list[tuple[int, str]]]:
    """Target -> [(column index, cell)] of the non-blank cells of one row."""
    values: dict[str, list[tuple[int, str]]] = {}
    for key, target in mapping.items():
        index = int(key)
        if target == IGNORE or index >= len(cells):
            continue
        cell = unguard_cell(cells[index])
        if cell:
            values.setdefault(target, []).append((index, cell))
    return values


def one(values: dict, target: str) -> str | None:
    found = values.get(target)
    return found[0][1] if found else None


class Plan:
    """Every customer row decided in memory, in file order, before anything is written.

    It knows the shop's customers the file names (a few IN queries, not several per row) and
    what each earlier row already does to them, so two rows about one person make one
    customer and the checks of save_customer run against the whole plan: a phone, e-mail or
    external id belongs to one customer; lengths and counts; an owner who is an active member.
    A customer here is its id (stored) or a NewCustomer.

    A row that a phone or e-mail matches to a customer of another name is a conflict: it
    never renames that customer unless ``choices`` (row number -> CONFLICT_CHOICES) says so.
    With ``choices`` None (the preview) conflicts are only listed, and change nothing.
    """

    def __init__(self, tz: ZoneInfo, region: str, choices: dict | None = None):
        self.tz, self.region, self.choices = tz, region, choices
        self.conflicts: list[Conflict] = []
        # (the customer a "create" choice made, the customer it may be a duplicate of)
        self.duplicates: list[tuple[NewCustomer, int | NewCustomer]] = []
        self.fields = {f.key: f for f in custom_fields()}
        members = db.execute(select(Membership.id, User.email, Membership.status).join(User)).all()
        # every member by e-mail, so an owner already set who was disabled since is no change
        self.members = {email.lower(): member_id for member_id, email, _status in members}
        self.active_members = {member_id for member_id, _, status in members if status == "active"}
        self.merged_into: dict[int, int] = {}
        # each customer's state as planned so far, and who has each key in the plan
        self.states: dict[int | NewCustomer, dict] = {}
        self.external: dict[str, int | NewCustomer] = {}
        self.phones: dict[str, int | NewCustomer] = {}
        self.emails: dict[str, int | NewCustomer] = {}
        self.rows: dict[int | NewCustomer, list[Row]] = {}  # the rows that add or change it

    # -- what the shop has

    def prefetch(self, data: list[dict]) -> None:
        """Read the customers the rows' ids, phones and e-mails name, with all their keys (as
        plain values: an ORM object is made only for a customer that changes)."""
        ids = {d["huike_id"] for d in data if "huike_id" in d}
        lookups = (
            (Customer.external_id, Customer.id, [d.get("external_id") for d in data]),
            (CustomerPhone.e164, CustomerPhone.customer_id, _all(data, "phones")),
            (CustomerEmail.email, CustomerEmail.customer_id, _all(data, "emails")),
        )
        for key_column, id_column, keys in lookups:
            for batch in batches(sorted(set(filter(None, keys)))):
                ids.update(db.scalars(select(id_column).where(key_column.in_(batch))))
        while ids:  # and, for a customer merged away, the one it went into
            for batch in batches(sorted(ids)):
                self._read(batch)
            ids = set(self.merged_into.values()) - self.states.keys()
        stored = [i for i in self.states if i not in self.merged_into]
        for customer_id in [*self.merged_into, *stored]:  # the live customer's keys win
            live = self.live(customer_id)
            if live is not None:
                self._claim(live, self.states[customer_id], {})
        for customer_id in self.merged_into:
            del self.states[customer_id]

    def _read(self, ids: list[int]) -> None:
        columns = (Customer.name, Customer.company, Customer.external_id, Customer.owner_id)
        query = select(Customer.id, Customer.merged_into_id, Customer.fields, *columns)
        for row in db.execute(query.where(Customer.id.in_(ids))):
            state = _blank_state()
            state.update(zip(("name", "company", "external_id", "owner_id"), row[3:], strict=True))
            state["fields"] = dict(row.fields or {})
            self.states[row.id] = state
            if row.merged_into_id:
                self.merged_into[row.id] = row.merged_into_id
        for key, model, column in (
            ("phones", CustomerPhone, CustomerPhone.e164),
            ("emails", CustomerEmail, CustomerEmail.email),
            ("tags", CustomerTag, CustomerTag.tag),
        ):
            query = select(model.customer_id, column).where(model.customer_id.in_(ids))
            for customer_id, value in db.execute(query.order_by(column)):
                self.states[customer_id][key].append(value)

    def live(self, customer_id: int | None) -> int | None:
        hops = 0
        while customer_id in self.merged_into and hops < 20:
            customer_id, hops = self.merged_into[customer_id], hops + 1
        return customer_id if customer_id in self.states else None

    def _claim(self, target: int | NewCustomer, state: dict, before: dict) -> None:
        if before.get("external_id") and self.external.get(before["external_id"]) is target:
            del self.external[before["external_id"]]
        if state.get("external_id"):
            self.external[state["external_id"]] = target
        self.phones.update((p, target) for p in state["phones"])
        self.emails.update((e, target) for e in state["emails"])

    # -- one row

    def match(self, data: dict) -> tuple[int | NewCustomer | None, str | None]:
        """The customer this row is about: by Huike id, external id, phone, then e-mail; and
        the phone or e-mail it was found by. A contact of a customer with another external id
        belongs to someone else."""
        if "huike_id" in data:
            customer_id = self.live(data["huike_id"])
            if customer_id is None:
                raise ServiceError(
                    "import_customer_unknown", field="huike_id", value=data["huike_id"]
                )
            return customer_id, None
        external_id = data.get("external_id")
        if external_id and external_id in self.external:
            return self.external[external_id], None
        for key, known in (("phones", self.phones), ("emails", self.emails)):
            for value in data.get(key, ()):
                if value in known:
                    target = known[value]
                    other = self.states[target].get("external_id")
                    if external_id and other and other != external_id:
                        return None, None
                    return target, value
        return None, None

    def add(self, row: Row, data: dict) -> str:
        """Plan the row: 'created', 'updated', 'unchanged' or 'skipped' (a conflict left
        alone); a ServiceError changes nothing."""
        target, contact = self.match(data)
        duplicate_of = None
        if contact and names_differ(data.get("name"), self.states[target].get("name")):
            choice = self._choice(row, target, contact, data["name"])
            if choice == "skip":
                return "skipped"
            if choice == "create":  # the contacts stay with the customer who has them
                duplicate_of, target = target, None
                data = {**data}
                for key, known in (("phones", self.phones), ("emails", self.emails)):
                    if key in data:
                        data[key] = [value for value in data[key] if value not in known]
        before = _blank_state() if target is None else self.states[target]
        after = _merged(before, data)
        if target is not None and after == before:
            return "unchanged"
        if target is None:
            target = NewCustomer()
        self._check(target, before, after)
        self.states[target] = after
        self._claim(target, after, before)
        self.rows.setdefault(target, []).append(row)
        if duplicate_of is not None:
            self.duplicates.append((target, duplicate_of))
        first = isinstance(target, NewCustomer) and len(self.rows[target]) == 1
        return "created" if first else "updated"

    def _choice(self, row: Row, target: int | NewCustomer, contact: str, name: str) -> str:
        """What was chosen for this conflict; at the preview nothing yet (it is listed). A
        conflict nobody chose for (the file's customers changed since its preview) is refused,
        with the row in the report."""
        known = self.states[target]["name"]
        first_row = self.rows[target][0].number if isinstance(target, NewCustomer) else None
        self.conflicts.append(Conflict(row, target, contact, name, known, first_row))
        if self.choices is None:
            return "skip"
        choice = self.choices.get(str(row.number))
        if choice not in CONFLICT_CHOICES:
            raise ServiceError("import_name_conflict", field="name", value=name, known=known)
        return choice

    def _check(self, target: int | NewCustomer, before: dict, after: dict) -> None:
        """save_customer's rules (app/crm/customers.py, _clean) for what the row changes: its
        texts as the customer's model checks them; its lists, which the row's reading already
        normalised as the model does, counted against the model's limits (normalising them
        again would cost some 150 µs a row)."""
        checked(CustomerInput, {key: after.get(key) for key in ("name", "company", "external_id")})
        for key, limit in (
            ("phones", MAX_PHONES),
            ("emails", MAX_EMAILS),
            ("tags", MAX_TAGS),
        ):
            if len(after[key]) > limit:
                raise ServiceError("too_many", field=key, max=limit)
        taken = (
            ("external_id_taken", "external_id", self.external, [after.get("external_id")]),
            ("phone_taken", "phones", self.phones, after["phones"]),
            ("email_taken_customer", "emails", self.emails, after["emails"]),
        )
        for code, key, known, values in taken:
            for value in values:
                if value and known.get(value, target) is not target:
                    raise ServiceError(code, field=key, value=value)
        owner_id = after.get("owner_id")
        if owner_id != before.get("owner_id") and owner_id not in self.active_members:
            raise ServiceError("owner_invalid", field="owner_id")


class NewCustomer:
    """A customer this file adds (a key of the plan until it is written; then its id)."""

    id: int | None = None


@dataclass
class Conflict:
    row: Row
    target: int | NewCustomer
    contact: str  # the phone or e-mail that matched
    name: str  # the row's
    known: str  # the customer's
    first_row: int | None  # the row of this file that adds that customer, if one does


def _all(data: list[dict], key: str) -> list[str]:
    return [value for d in data for value in d.get(key, ())]


def _blank_state() -> dict:
    return {"phones": [], "emails": [], "tags": [], "fields": {}}


def stored_state(customer: Customer) -> dict:
    state = customer_snapshot(customer)
    del state["id"]
    return {**state, "owner_id": customer.owner_id}


def _merged(before: dict, data: dict) -> dict:
    """A customer's state after a row: given values set, contacts and tags added to the known
    ones, custom fields set one by one. Blank cells were not given, so they erase nothing."""
    after = {**before}
    for key in ("name", "company", "external_id", "owner_id"):
        if key in data:
            after[key] = data[key]
    for key in ("phones", "emails", "tags"):
        after[key] = list(dict.fromkeys([*before[key], *data.get(key, ())]))
    after["fields"] = {**before["fields"], **data.get("fields", {})}
    return after


def as_data(state: dict, before: dict | None = None) -> dict:
    """save_customer's data for a state: all of it, or what changed since ``before``."""
    before = before or {}
    return {k: v for k, v in state.items() if v not in (None, "", [], {}) and v != before.get(k)}


def breathe(index: int) -> None:
    if index % 200 == 0:
        time.sleep(0)  # under eventlet, let the worker's other requests and sockets run


def batches(values: list, size: int = IN_BATCH) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _field_value(custom: CustomField, raw: str):
    if custom.kind == "date":
        raw = day_and_time(raw)[0]
    elif custom.kind == "number":
        raw = number_text(raw)
    return check_field_value(custom, raw)


def customer_data(row: Row, plan: Plan) -> dict:
    """The row as save_customer's data, normalised so it compares with a stored customer.
    Blank cells are not given: importing never erases what the shop has."""
    values, data = row.values, {}
    if "huike_id" in values:
        raw = one(values, "huike_id")
        if not raw.isdigit():
            raise ServiceError("import_customer_unknown", field="huike_id", value=raw)
        data["huike_id"] = int(raw)
    if "name" in values:
        data["name"] = " ".join(one(values, "name").split())
    for key in ("company", "external_id"):
        if key in values:
            data[key] = one(values, key)
    if "phone" in values:
        phones = []
        for column, cell in values["phone"]:
            row.origin.update((part.strip(), column) for part in LIST_SPLIT.split(cell))
            for written, e164 in phones_in(cell, plan.region):
                row.origin[written] = row.origin[e164] = column
                phones.append(e164)
        data["phones"] = list(dict.fromkeys(phones))
    if "email" in values:
        emails = []
        for column, cell in values["email"]:
            for written in LIST_SPLIT.sub(" ", cell).split():
                row.origin[written] = column
                try:
                    email = normalize_email(written)
                except ServiceError as exc:
                    raise ServiceError("email_invalid", field="emails", value=written) from exc
                row.origin[email] = column
                emails.append(email)
        data["emails"] = list(dict.fromkeys(emails))
    if "tags" in values:
        tags = (t for _, cell in values["tags"] for t in LIST_SPLIT.split(cell))
        data["tags"] = list(dict.fromkeys(t for t in map(normalize_tag, tags) if t))
    if "owner" in values:
        email = one(values, "owner").lower()
        if email not in plan.members:
            raise ServiceError("owner_unknown", field="owner", value=email)
        data["owner_id"] = plan.members[email]
    given = {t[len("fields.") :]: one(values, t) for t in values if t.startswith("fields.")}
    if given:
        data["fields"] = {key: _field_value(plan.fields[key], raw) for key, raw in given.items()}
    if not data.keys() & {"huike_id", "external_id", "phones", "emails"}:
        raise ServiceError("import_no_key_in_row", field="mapping")
    return data
