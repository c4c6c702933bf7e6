"""CSV import of customers and orders: read the file, guess how its columns map, run it.

No Flask here, so the console (app/crm/transfer.py) and the benchmark call the same code:

    imp = create_import("customers", "list.csv", raw_bytes)  # checks and stores the file
    header, _rows = read_table(imp.content)
    fields = custom_fields()
    imp.mapping = check_mapping(imp.kind, guess_mapping(imp.kind, header, fields), header, fields)
    run_import(imp)  # then commit; summary(imp) has the counts

A bad row is reported with its row number as a spreadsheet shows it and skipped, while the
good rows go in. A row that names a customer the shop already has (Huike id, then external
id, then phone, then e-mail) updates that customer instead of adding a second one, and rows of
one file about one person make one customer, so importing a file twice adds nothing.

Customers: every row is first decided in memory against the customers the file names (read in
a few IN queries) with save_customer's rules, then written in batches of a few statements, each
batch in a SAVEPOINT; a batch the database refuses is written again one customer at a time
through save_customer. (save_customer costs some ten statements a row: 10,000 rows that
way are far over the 30 s a console request may take.)
Orders: row by row through upsert_order, each in its SAVEPOINT.

Errors are stored as codes with their parameters ({"row", "column", "value", "code",
"params"}) and worded when shown, in the reader's language.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.crm.customers import MAX_EMAILS, MAX_PHONES, MAX_TAGS, customer_snapshot, save_customer
from app.crm.fields import check_field_value, custom_fields
from app.crm.models import (
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomerTag,
    CustomField,
    Import,
    Order,
)
from app.crm.orders import update_order, upsert_order
from app.crm.values import looks_like_phone, normalize_phone, normalize_tag, parse_money
from tenants.db import current_tenant_id, db, scoped_get, utcnow
from tenants.errors import ServiceError
from tenants.models import Membership, Tenant, User
from tenants.service import normalize_email

KINDS = ("customers", "orders")
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
PREVIEW_ROWS = 10
IGNORE = ""
# Targets several columns may feed (a second phone column adds a second phone).
REPEATABLE = {"phone", "email", "tags"}
CUSTOMER_TARGETS = ("huike_id", "name", "external_id", "phone", "email", "company", "tags", "owner")
ORDER_TARGETS = (
    "order_id",
    "status",
    "total",
    "currency",
    "placed_at",
    "customer_external_id",
    "customer_phone",
    "customer_email",
    "customer_name",
)
CUSTOMER_KEYS = ("huike_id", "external_id", "phone", "email")  # what recognises a customer
ORDER_CUSTOMER_KEYS = ("customer_external_id", "customer_phone", "customer_email")


def _words(text: str) -> list[str]:
    return text.split()


# Header names (compared without case, spaces, _ - . / and brackets) in English and Chinese.
_NAMES = _words("""name fullname customer customername contact contactname 姓名 名字 客户 客户名
    客户名称 客户姓名 联系人 称呼""")
_EXTERNAL_IDS = _words("""externalid userid customerid memberid uid 用户id 会员id 客户id 用户编号
    会员编号 客户编号 外部id 买家id""")
_PHONES = _words("""phone phones phonenumber mobile mobilephone mobilenumber cell cellphone tel
    telephone 手机 手机号 手机号码 电话 电话号码 联系电话 移动电话 座机""")
_EMAILS = _words("email emails emailaddress mail 邮箱 邮箱地址 电子邮箱 电子邮件 邮件")
SYNONYMS: dict[str, dict[str, list[str]]] = {
    "customers": {
        "huike_id": _words("huikeid 汇客id"),
        "name": _NAMES,
        "external_id": _EXTERNAL_IDS,
        "phone": _PHONES,
        "email": _EMAILS,
        "company": _words("""company companyname organization organisation 公司 公司名称 单位 企业
            企业名称"""),
        "tags": _words("tags tag labels label 标签"),
        "owner": _words("owner owneremail assignedto agent 负责人 所属客服 归属客服"),
    },
    "orders": {
        "order_id": _words("orderid order orderno ordernumber 订单号 订单编号 订单id"),
        "status": _words("status orderstatus state 状态 订单状态"),
        "total": _words("""total amount ordertotal totalamount 金额 订单金额 总价 总金额 实付
            实付金额 付款金额"""),
        "currency": _words("currency 币种 货币"),
        "placed_at": _words("""placedat date orderdate ordertime orderedat createdat time 下单时间
            下单日期 订单时间 创建时间 日期 时间"""),
        "customer_external_id": ["customerexternalid", *_EXTERNAL_IDS],
        "customer_phone": _words("customerphone 买家手机 收货人手机 收货人电话") + _PHONES,
        "customer_email": ["customeremail", "买家邮箱", *_EMAILS],
        "customer_name": _words("buyer buyername 买家 收货人") + _NAMES,
    },
}
# Which target a service error's field points at, to name the column it came from.
ERROR_TARGETS = {
    "customers": {"phones": "phone", "emails": "email", "owner_id": "owner"},
    "orders": {
        "phones": "customer_phone",
        "customer.email": "customer_email",
        "emails": "customer_email",
        "external_id": "customer_external_id",
        "name": "customer_name",
    },
}
# Export writes these before a cell so a spreadsheet never runs it as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_LIST_SPLIT = re.compile(r"[,;|，；、\n]+")
_HEADER_NOISE = re.compile(r"[\s_\-./()（）]+")
_DAY = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
IN_BATCH = 1000
WRITE_BATCH = 500  # new customers per INSERT round
# The export's columns around the custom fields; those after them are facts, not imported.
EXPORT_COLUMNS = ("huike_id", "external_id", "name", "company", "phones", "emails", "tags", "owner")
EXPORT_FACTS = ("order_count", "revenue", "last_order_at", "last_seen_at", "created_at", "source")


# --- reading the file ------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode
    text"), else GB18030, a superset of the GBK that Chinese Excel writes."""
    if data[:4] == b"PK\x03\x04":  # an .xlsx is a ZIP
        raise ServiceError("import_not_csv", field="file")
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    for encoding in ("utf-16",) if utf16 else ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:  # a binary file; and no text column can store a NUL
            raise ServiceError("import_not_csv", field="file")
        return text
    raise ServiceError("import_encoding", field="file")


def _delimiter(text: str) -> str:
    """Comma, semicolon or tab. Only the delimiter is sniffed: quotes are always ", as
    spreadsheets write them (the sniffer would take our export's leading ' for a quote)."""
    sample = "\n".join(text[:65536].splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        # one column, or too irregular for the sniffer: the most frequent separator of line 1
        first = sample.split("\n", 1)[0]
        return max(",;\t", key=first.count) if any(d in first for d in ",;\t") else ","


def _records(text: str) -> Iterator[list[str]]:
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    except csv.Error as exc:
        raise ServiceError("import_unreadable", field="file") from exc


def _looks_like_data(cell: str) -> bool:
    return "@" in cell or looks_like_phone(cell)


def read_table(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the data rows, each with its row number as a spreadsheet shows it (the
    header is row 1). Blank rows are left out but keep their number."""
    records = _records(text)
    header = next(records, None)
    if header is None or not any(c.strip() for c in header):
        raise ServiceError("import_empty", field="file")
    header = [c.strip() for c in header]
    if any(_looks_like_data(c) for c in header):
        raise ServiceError("import_no_header", field="file")
    rows = []
    for number, cells in enumerate(records, start=2):
        if any(c.strip() for c in cells):
            if len(rows) == MAX_ROWS:
                raise ServiceError("import_too_many_rows", field="file", max=f"{MAX_ROWS:,}")
            rows.append((number, cells))
    if not rows:
        raise ServiceError("import_no_rows", field="file")
    return header, rows


def create_import(kind: str, filename: str, data: bytes, created_by_id: int | None = None):
    """Check an uploaded file and keep it (decoded) for its mapping; nothing else changes."""
    if kind not in KINDS:
        raise ServiceError("import_kind_invalid", field="kind")
    if not data:
        raise ServiceError("import_empty", field="file")
    if len(data) > MAX_BYTES:
        raise ServiceError("file_too_big", field="file", max_mb=MAX_BYTES // 1024 // 1024)
    text = decode(data)
    read_table(text)
    imp = Import(
        kind=kind,
        filename=(filename or "import.csv").strip()[-200:],
        content=text,
        created_by_id=created_by_id,
    )
    db.add(imp)
    db.flush()
    return imp


# --- the column mapping --------------------------------------------------------------------


def _header_key(header: str) -> str:
    return _HEADER_NOISE.sub("", header.lower())


def field_targets(fields: Iterable[CustomField]) -> list[str]:
    return [f"fields.{f.key}" for f in fields]


def field_header(key: str) -> str:
    """A custom field's column name in an export: its key, or fields.<key> when the bare key
    would read as another column (a field keyed "mobile" is not a phone)."""
    known = {_header_key(c) for c in (*EXPORT_COLUMNS, *EXPORT_FACTS)} | {
        n for names in SYNONYMS["customers"].values() for n in names
    }
    return f"fields.{key}" if _header_key(key) in known else key


def guess_mapping(kind: str, header: list[str], fields: Iterable[CustomField] = ()) -> dict:
    """Column index (as a string) -> target, from the header names; unknown columns are
    ignored and a one-value target goes to its first column only."""
    fields = list(fields)
    by_name = {}
    for f in fields:  # a custom field answers to its key and its label
        for name in (f.key, f.label):
            by_name.setdefault(_header_key(name), f"fields.{f.key}")
    taken: set[str] = set()
    mapping = {}
    for index, name in enumerate(header):
        lowered = name.strip().lower()
        target = lowered if lowered in {f"fields.{f.key}" for f in fields} else None
        key = _header_key(name)
        if target is None:
            target = next((t for t, names in SYNONYMS[kind].items() if key in names), None)
        if target is None and kind == "customers":
            target = by_name.get(key)
        if target is not None and (target in REPEATABLE or target not in taken):
            taken.add(target)
            mapping[str(index)] = target
        else:
            mapping[str(index)] = IGNORE
    return mapping


def check_mapping(kind: str, given: dict, header: list[str], fields: Iterable[CustomField] = ()):
    """The mapping the admin chose, checked: known targets, a one-value target on one column,
    and enough to recognise each row's customer (and order)."""
    targets = set(CUSTOMER_TARGETS if kind == "customers" else ORDER_TARGETS)
    if kind == "customers":
        targets |= set(field_targets(fields))
    mapping, used = {}, {}
    for index, name in enumerate(header):
        target = str(given.get(str(index)) or IGNORE)
        if target != IGNORE and target not in targets:
            raise ServiceError("import_target_invalid", field=str(index), column=name)
        if target != IGNORE and target not in REPEATABLE and target in used:
            raise ServiceError(
                "import_target_twice", field=str(index), first=used[target], second=name
            )
        used.setdefault(target, name)
        mapping[str(index)] = target
    if kind == "customers" and not used.keys() & set(CUSTOMER_KEYS):
        raise ServiceError("import_no_customer_key", field="mapping")
    if kind == "orders":
        if "order_id" not in used:
            raise ServiceError("import_no_order_id", field="mapping")
        if not used.keys() & set(ORDER_CUSTOMER_KEYS):
            raise ServiceError("import_no_order_customer", field="mapping")
    return mapping


# --- cells -----------------------------------------------------------------------------------


def guard_cell(value) -> str:
    """A cell for a CSV a person opens in a spreadsheet: never read as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unguard_cell(text: str) -> str:
    """Undo ``guard_cell``, so an exported file imports back as it was."""
    text = text.strip()
    if text.startswith("'") and text[1:2] and text[1:].startswith(FORMULA_STARTS):
        return text[1:].strip()
    return text


def _columns(mapping: dict, cells: list[str]) -> dict[str, list[tuple[int, str]]]:
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


def _one(values: dict, target: str) -> str | None:
    found = values.get(target)
    return found[0][1] if found else None


def _number_text(raw: str) -> str:
    """An amount as written in a spreadsheet (¥1,299.50, 1299,5) as Decimal reads it."""
    text = raw.strip().lstrip("¥￥$€£").replace(" ", "")
    if _THOUSANDS.match(text):
        return text.replace(",", "")
    if re.fullmatch(r"\d+,\d{1,2}", text):
        return text.replace(",", ".")
    return text


def _day_and_time(raw: str) -> tuple[str, str | None]:
    """'2026/11/2 9:05' -> ('2026-11-02', '09:05:00'); other text as it is."""
    match = _DAY.match(raw.strip())
    if not match:
        return raw.strip(), None
    year, month, day, hour, minute, second = match.groups()
    day_text = f"{year}-{int(month):02d}-{int(day):02d}"
    if hour is None:
        return day_text, None
    return day_text, f"{int(hour):02d}:{minute}:{second or '00'}"


def parse_placed_at(raw: str, tz: ZoneInfo) -> datetime:
    """An order time as spreadsheets write it; without a zone it is the shop's local time."""
    day_text, time_text = _day_and_time(raw)
    text = f"{day_text}T{time_text}" if time_text else day_text
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ServiceError("import_datetime_invalid", field="placed_at") from exc
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _field_value(custom: CustomField, raw: str):
    if custom.kind == "date":
        raw = _day_and_time(raw)[0]
    elif custom.kind == "number":
        raw = _number_text(raw)
    return check_field_value(custom, raw)


def _phones(cell: str, region: str) -> Iterator[tuple[str, str]]:
    """(as written, E.164) for each phone of a cell. Phones are separated by , ; | or by
    spaces between whole numbers (the export writes them so), while '138 0013 8000' is one."""
    for chunk in (c.strip() for c in _LIST_SPLIT.split(cell)):
        if not chunk:
            continue
        try:
            yield chunk, normalize_phone(chunk, region)
        except ServiceError:
            if len(chunk.split()) < 2:
                raise
            for part in chunk.split():
                yield part, normalize_phone(part, region)


# --- running it --------------------------------------------------------------------------------


@dataclass(eq=False)
class _Row:
    number: int
    cells: list[str]
    values: dict  # target -> [(column index, cell)]
    # a value (as written or normalised) -> its column, to say where an error came from
    origin: dict = field(default_factory=dict)


class _Plan:
    """Every customer row decided in memory, in file order, before anything is written.

    It knows the shop's customers the file names (a few IN queries, not several per row) and
    what each earlier row already does to them, so two rows about one person make one
    customer and the checks of save_customer run against the whole plan: a phone, e-mail or
    external id belongs to one customer; lengths and counts; an owner who is an active member.
    A customer here is its id (stored) or a _New.
    """

    def __init__(self, tz: ZoneInfo, region: str):
        self.tz, self.region = tz, region
        self.fields = {f.key: f for f in custom_fields()}
        members = db.execute(select(Membership.id, User.email, Membership.status).join(User)).all()
        # every member by e-mail, so an owner already set who was disabled since is no change
        self.members = {email.lower(): member_id for member_id, email, _status in members}
        self.active_members = {member_id for member_id, _, status in members if status == "active"}
        self.merged_into: dict[int, int] = {}
        # each customer's state as planned so far, and who has each key in the plan
        self.states: dict[int | _New, dict] = {}
        self.external: dict[str, int | _New] = {}
        self.phones: dict[str, int | _New] = {}
        self.emails: dict[str, int | _New] = {}
        self.rows: dict[int | _New, list[_Row]] = {}  # the rows that add or change it

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
            for batch in _batches(sorted(set(filter(None, keys)))):
                ids.update(db.scalars(select(id_column).where(key_column.in_(batch))))
        while ids:  # and, for a customer merged away, the one it went into
            for batch in _batches(sorted(ids)):
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

    def _claim(self, target: int | _New, state: dict, before: dict) -> None:
        if before.get("external_id") and self.external.get(before["external_id"]) is target:
            del self.external[before["external_id"]]
        if state.get("external_id"):
            self.external[state["external_id"]] = target
        self.phones.update((p, target) for p in state["phones"])
        self.emails.update((e, target) for e in state["emails"])

    # -- one row

    def match(self, data: dict) -> int | _New | None:
        """The customer this row is about: by Huike id, external id, phone, then e-mail. A
        contact of a customer with another external id belongs to someone else."""
        if "huike_id" in data:
            customer_id = self.live(data["huike_id"])
            if customer_id is None:
                raise ServiceError(
                    "import_customer_unknown", field="huike_id", value=data["huike_id"]
                )
            return customer_id
        external_id = data.get("external_id")
        if external_id and external_id in self.external:
            return self.external[external_id]
        for key, known in (("phones", self.phones), ("emails", self.emails)):
            for value in data.get(key, ()):
                if value in known:
                    target = known[value]
                    other = self.states[target].get("external_id")
                    return None if external_id and other and other != external_id else target
        return None

    def add(self, row: _Row, data: dict) -> str:
        """Plan the row: 'created', 'updated' or 'unchanged'; a ServiceError changes nothing."""
        target = self.match(data)
        before = _blank_state() if target is None else self.states[target]
        after = _merged(before, data)
        if target is not None and after == before:
            return "unchanged"
        if target is None:
            target = _New()
        self._check(target, before, after)
        self.states[target] = after
        self._claim(target, after, before)
        self.rows.setdefault(target, []).append(row)
        first = isinstance(target, _New) and len(self.rows[target]) == 1
        return "created" if first else "updated"

    def _check(self, target: int | _New, before: dict, after: dict) -> None:
        """save_customer's rules (app/crm/customers.py, _clean) for what the row changes."""
        for key in ("name", "company", "external_id"):
            limit = Customer.__table__.c[key].type.length  # as save_customer: the column's
            if len(after.get(key) or "") > limit:
                raise ServiceError("too_long", field=key, max=limit)
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

    # -- writing it

    def write(self) -> dict[_Row, ServiceError]:
        """Write the plan in batches (a few statements per batch, not several per row), each
        in a SAVEPOINT. A batch the database refuses (a change made at the same moment that
        the plan could not see) is written again one customer at a time through
        save_customer, so only the clashing rows fail. Returns those rows, with why."""
        failed: dict[_Row, ServiceError] = {}
        for index, batch in enumerate(_batches(list(self.rows), WRITE_BATCH)):
            _breathe(index)
            stored = _load([t for t in batch if not isinstance(t, _New)])
            for gone in [t for t in batch if not isinstance(t, _New) and t not in stored]:
                batch.remove(gone)  # deleted since it was read: not made again
                failed.update((row, ServiceError("import_conflict")) for row in self.rows[gone])
            try:
                with db.begin_nested():
                    _insert([self.states[t] for t in batch if isinstance(t, _New)])
                    for customer_id, customer in stored.items():
                        _apply(customer, self.states[customer_id])
                    db.flush()
            except IntegrityError:
                for target in batch:
                    self._save(target, failed)
        return failed

    def _save(self, target: int | _New, failed: dict) -> None:
        customer = None if isinstance(target, _New) else scoped_get(Customer, target)
        data = _as_data(self.states[target], _stored_state(customer) if customer else None)
        try:
            with db.begin_nested():
                save_customer(customer, data, source="import")
        except ServiceError as error:
            failed.update((row, error) for row in self.rows[target])
        except IntegrityError:
            failed.update((row, ServiceError("import_conflict")) for row in self.rows[target])


class _New:
    """A customer this file adds (a key of the plan until it is written)."""


def _all(data: list[dict], key: str) -> list[str]:
    return [value for d in data for value in d.get(key, ())]


def _load(ids: list[int]) -> dict[int, Customer]:
    if not ids:
        return {}
    query = select(Customer).where(Customer.id.in_(ids))
    for collection in (Customer.phones, Customer.emails, Customer.tags):
        query = query.options(selectinload(collection))
    return {c.id: c for c in db.scalars(query)}


def _insert(states: list[dict]) -> None:
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


def _blank_state() -> dict:
    return {"phones": [], "emails": [], "tags": [], "fields": {}}


def _stored_state(customer: Customer) -> dict:
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


def _as_data(state: dict, before: dict | None = None) -> dict:
    """save_customer's data for a state: all of it, or what changed since ``before``."""
    before = before or {}
    return {k: v for k, v in state.items() if v not in (None, "", [], {}) and v != before.get(k)}


def _breathe(index: int) -> None:
    if index % 200 == 0:
        time.sleep(0)  # under eventlet, let the worker's other requests and sockets run


def _batches(values: list, size: int = IN_BATCH) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _customer_data(row: _Row, plan: _Plan) -> dict:
    """The row as save_customer's data, normalised so it compares with a stored customer.
    Blank cells are not given: importing never erases what the shop has."""
    values, data = row.values, {}
    if "huike_id" in values:
        raw = _one(values, "huike_id")
        if not raw.isdigit():
            raise ServiceError("import_customer_unknown", field="huike_id", value=raw)
        data["huike_id"] = int(raw)
    if "name" in values:
        data["name"] = " ".join(_one(values, "name").split())
    for key in ("company", "external_id"):
        if key in values:
            data[key] = _one(values, key)
    if "phone" in values:
        phones = []
        for column, cell in values["phone"]:
            row.origin.update((part.strip(), column) for part in _LIST_SPLIT.split(cell))
            for written, e164 in _phones(cell, plan.region):
                row.origin[written] = row.origin[e164] = column
                phones.append(e164)
        data["phones"] = list(dict.fromkeys(phones))
    if "email" in values:
        emails = []
        for column, cell in values["email"]:
            for written in _LIST_SPLIT.sub(" ", cell).split():
                row.origin[written] = column
                try:
                    email = normalize_email(written)
                except ServiceError as exc:
                    raise ServiceError("email_invalid", field="emails", value=written) from exc
                row.origin[email] = column
                emails.append(email)
        data["emails"] = list(dict.fromkeys(emails))
    if "tags" in values:
        tags = (t for _, cell in values["tags"] for t in _LIST_SPLIT.split(cell))
        data["tags"] = list(dict.fromkeys(t for t in map(normalize_tag, tags) if t))
    if "owner" in values:
        email = _one(values, "owner").lower()
        if email not in plan.members:
            raise ServiceError("owner_unknown", field="owner", value=email)
        data["owner_id"] = plan.members[email]
    given = {t[len("fields.") :]: _one(values, t) for t in values if t.startswith("fields.")}
    if given:
        data["fields"] = {key: _field_value(plan.fields[key], raw) for key, raw in given.items()}
    if not data.keys() & {"huike_id", "external_id", "phones", "emails"}:
        raise ServiceError("import_no_key_in_row", field="mapping")
    return data


def _import_customers(rows: list[_Row], plan: _Plan, report) -> Counter:
    read = []
    for index, row in enumerate(rows):
        _breathe(index)
        try:
            read.append((row, _customer_data(row, plan)))
        except ServiceError as error:
            report(row, error)
    plan.prefetch([data for _, data in read])
    outcomes = {}
    for index, (row, data) in enumerate(read):
        _breathe(index)
        try:
            outcomes[row] = plan.add(row, data)
        except ServiceError as error:
            report(row, error)
    for row, error in plan.write().items():
        del outcomes[row]
        report(row, error)
    return Counter(outcomes.values())


def _import_order(row: _Row, plan: _Plan) -> str:
    values = row.values
    order_id = _one(values, "order_id") or ""
    payload: dict = {"order_id": order_id}
    if "status" in values:
        payload["status"] = _one(values, "status")
    if "total" in values:
        payload["total"] = _number_text(_one(values, "total"))
    if "currency" in values:
        payload["currency"] = _one(values, "currency")
    if "placed_at" in values:
        payload["placed_at"] = parse_placed_at(_one(values, "placed_at"), plan.tz)
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
        key: _one(values, f"customer_{key}")
        for key in ("external_id", "phone", "email", "name")
        if f"customer_{key}" in values
    }
    with db.begin_nested():
        upsert_order(payload)
    return "created"


def _import_orders(rows: list[_Row], plan: _Plan, report) -> Counter:
    """Row by row through upsert_order, each in its SAVEPOINT."""
    counts = Counter()
    for index, row in enumerate(rows):
        _breathe(index)
        try:
            counts[_import_order(row, plan)] += 1
        except ServiceError as error:
            report(row, error)
        except IntegrityError:  # a change made at the same moment, e.g. through the API
            report(row, ServiceError("import_conflict"))
    return counts


def _error(kind: str, row: _Row, error: ServiceError, header: list[str]) -> dict:
    """A row's error as stored: its row number, the column and cell it came from, the code."""
    column = row.origin.get(str(error.params.get("value", "")))
    if column is None:
        target = ERROR_TARGETS[kind].get(error.field or "", error.field)
        column = next((i for i, _ in row.values.get(target, ())), None)
    return {
        "row": row.number,
        "column": header[column] if column is not None else "",
        "value": row.cells[column].strip() if column is not None else "",
        "code": error.code,
        "params": {k: str(v) for k, v in error.params.items()},
    }


def run_import(imp: Import) -> Import:
    """Import every row of a pending, mapped Import; the caller commits. Fills in its counts
    and its errors and marks it done (rows left unchanged are counted by ``summary``)."""
    if imp.status != "pending":
        raise ServiceError("import_done")
    header, table = read_table(imp.content)
    tenant = scoped_get(Tenant, current_tenant_id())
    plan = _Plan(ZoneInfo(tenant.timezone), tenant.country or "CN")
    rows = [_Row(number, cells, _columns(imp.mapping, cells)) for number, cells in table]
    errors = []

    def report(row: _Row, error: ServiceError) -> None:
        errors.append(_error(imp.kind, row, error, header))

    run = _import_customers if imp.kind == "customers" else _import_orders
    counts = run(rows, plan, report)
    imp.created_count, imp.updated_count = counts["created"], counts["updated"]
    imp.errors = sorted(errors, key=lambda e: e["row"])
    imp.status, imp.finished_at = "done", utcnow()
    db.flush()
    return imp


def summary(imp: Import) -> dict:
    """Rows, created, updated, unchanged and failed of a finished import."""
    rows = len(read_table(imp.content)[1])
    failed = len({e["row"] for e in imp.errors})
    return {
        "rows": rows,
        "created": imp.created_count,
        "updated": imp.updated_count,
        "unchanged": rows - imp.created_count - imp.updated_count - failed,
        "failed": failed,
    }


def preview(imp: Import) -> tuple[list[str], list[tuple[int, list[str]]], int]:
    """The header, the first rows and how many rows there are."""
    header, rows = read_table(imp.content)
    width = len(header)
    # every row as wide as the header: cut what sticks out, pad what is short
    first = [(n, (cells + [""] * width)[:width]) for n, cells in rows[:PREVIEW_ROWS]]
    return header, first, len(rows)


def error_rows(imp: Import) -> tuple[list[str], list[tuple[dict, list[str]]]]:
    """The header and, for each error, the row as it was in the file (to fix and re-import)."""
    header, rows = read_table(imp.content)
    by_number = dict(rows)
    return header, [(e, by_number.get(e["row"], [])) for e in imp.errors]
