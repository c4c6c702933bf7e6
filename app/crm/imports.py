"""CSV import of customers and orders: read the file, guess how its columns map, run it.

The file is read by spreadsheet.py, its columns mapped by import_mapping.py, customer rows
planned by import_plan.py and written by import_writing.py; this is the flow that calls them.
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

A row that a phone or e-mail matches to a customer of another name (张三's phone on a row
named 赵六) is a conflict, never a silent rename: the mapping page's preview lists them
(``find_conflicts``), the admin chooses per row to update that customer, create a new one
(the contacts stay with 张三; both timelines note the possible duplicate) or skip the row, and
the choices are stored with the import (``choose``) for the run and its chunks. A conflict
with no choice (the shop's customers changed since the preview) is not imported, and is
reported with its row.

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

from collections import Counter
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.crm.import_plan import (
    CONFLICT_CHOICES,
    Conflict,
    Plan,
    Row,
    breathe,
    columns,
    customer_data,
)
from app.crm.import_writing import import_orders, write_plan
from app.crm.models import Import
from app.crm.spreadsheet import csv_records, decode
from app.crm.values import looks_like_phone
from tenants.clock import periodic
from tenants.db import cross_tenant, current_tenant_id, db, scoped_get, utcnow
from tenants.errors import ServiceError
from tenants.jobs import enqueue, job
from tenants.models import Tenant
from tenants.work import unit_of_work

KINDS = ("customers", "orders")
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
IN_REQUEST_ROWS = 2_000  # more than this are imported by a job, in chunks
CHUNK_ROWS = 1_000
PREVIEW_ROWS = 10
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


def _looks_like_data(cell: str) -> bool:
    return "@" in cell or looks_like_phone(cell)


def read_table(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the data rows, each with its row number as a spreadsheet shows it (the
    header is row 1). Blank rows are left out but keep their number."""
    records = csv_records(text)
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


def _plan_customers(rows: list[Row], plan: Plan, report) -> dict[Row, str]:
    """Each row's outcome in the plan; nothing written yet."""
    read = []
    for index, row in enumerate(rows):
        breathe(index)
        try:
            read.append((row, customer_data(row, plan)))
        except ServiceError as error:
            report(row, error)
    plan.prefetch([data for _, data in read])
    outcomes = {}
    for index, (row, data) in enumerate(read):
        breathe(index)
        try:
            outcomes[row] = plan.add(row, data)
        except ServiceError as error:
            report(row, error)
    return outcomes


def _import_customers(rows: list[Row], plan: Plan, report) -> Counter:
    outcomes = _plan_customers(rows, plan, report)
    for row, error in write_plan(plan).items():
        del outcomes[row]
        report(row, error)
    counts = Counter(outcomes.values())
    for conflict in plan.conflicts:  # what each choice did; a row that failed, "failed"
        done = conflict.row in outcomes
        counts[f"conflict_{plan.choices[str(conflict.row.number)] if done else 'failed'}"] += 1
    return counts


def _error(kind: str, row: Row, error: ServiceError, header: list[str]) -> dict:
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


def find_conflicts(imp: Import) -> list[Conflict]:
    """The rows of a mapped customer file that are conflicts, as the shop's customers are
    now; nothing changes."""
    if imp.kind != "customers":
        return []
    header, table = read_table(imp.content)
    plan = _plan(None)
    rows = [Row(number, cells, columns(imp.mapping, cells)) for number, cells in table]
    _plan_customers(rows, plan, lambda row, error: None)  # its errors are the run's to report
    return plan.conflicts


def choose(imp: Import, conflicts: list[Conflict], chosen: dict) -> None:
    """Store what was chosen for each conflict (row number -> choice); each needs one."""
    choices = {}
    for conflict in conflicts:
        number = str(conflict.row.number)
        if chosen.get(number) not in CONFLICT_CHOICES:
            raise ServiceError("import_conflict_unchosen", field=f"row-{number}", row=number)
        choices[number] = chosen[number]
    imp.conflict_choices = choices


def run_import(imp: Import) -> Import:
    """Import every row of a pending, mapped Import; the caller commits. Fills in its counts
    and its errors and marks it done (rows left unchanged are counted by ``summary``)."""
    if imp.status != "pending":
        raise ServiceError("import_done")
    header, table = read_table(imp.content)
    imp.row_count = len(table)
    _import_rows(imp, header, table)
    _finish(imp)
    return imp


def start_import(imp: Import) -> Import:
    """A small file is imported in this unit of work; a bigger one is queued as a job (the
    report page shows its progress, and may be left and come back to)."""
    if imp.status != "pending":
        raise ServiceError("import_done")
    rows = len(read_table(imp.content)[1])
    if rows <= IN_REQUEST_ROWS:
        return run_import(imp)
    imp.row_count, imp.status = rows, "queued"
    enqueue("crm.import", imp.tenant_id, imp.id)
    return imp


@job("crm.import", own_units=True)
def run_queued_import(import_id: int) -> None:
    """A queued file, ``CHUNK_ROWS`` rows per unit of work: SQLite's one write lock is let go
    between chunks, the page sees the progress, and a worker that dies resumes after the last
    chunk it committed (the import is idempotent: a row done twice changes nothing more)."""
    header = table = None
    while True:
        with unit_of_work():
            imp = db.scalar(select(Import).where(Import.id == import_id).with_for_update())
            if imp is None or imp.status != "queued":
                return
            if table is None:
                header, table = read_table(imp.content)
            chunk = table[imp.processed_count : imp.processed_count + CHUNK_ROWS]
            _import_rows(imp, header, chunk)
            imp.processed_count += len(chunk)
            if imp.processed_count >= len(table):
                _finish(imp)


@periodic("crm.resume_imports", every=600)
def resume_imports() -> None:
    """A queued import whose message was lost (a Redis flushed, retries spent) is queued again;
    a run still at work on it only shares its chunks (each is taken under a row lock)."""
    with cross_tenant():
        queued = db.execute(select(Import.id, Import.tenant_id).where(Import.status == "queued"))
        for import_id, tenant_id in queued.all():
            enqueue("crm.import", tenant_id, import_id)


def _plan(choices: dict | None) -> Plan:
    tenant = scoped_get(Tenant, current_tenant_id())
    return Plan(ZoneInfo(tenant.timezone), tenant.country or "CN", choices)


def _import_rows(imp: Import, header: list[str], table: list[tuple[int, list[str]]]) -> None:
    plan = _plan(dict(imp.conflict_choices or {}))
    rows = [Row(number, cells, columns(imp.mapping, cells)) for number, cells in table]
    errors = []

    def report(row: Row, error: ServiceError) -> None:
        errors.append(_error(imp.kind, row, error, header))

    run = _import_customers if imp.kind == "customers" else import_orders
    counts = run(rows, plan, report)
    imp.created_count = (imp.created_count or 0) + counts["created"]
    imp.updated_count = (imp.updated_count or 0) + counts["updated"]
    before = imp.conflict_counts or {}
    imp.conflict_counts = {
        choice: before.get(choice, 0) + counts[f"conflict_{choice}"]
        for choice in (*CONFLICT_CHOICES, "failed")
    }
    imp.errors = sorted([*(imp.errors or []), *errors], key=lambda e: e["row"])


def _finish(imp: Import) -> None:
    imp.processed_count = imp.row_count
    imp.status, imp.finished_at = "done", utcnow()
    db.flush()


def summary(imp: Import) -> dict:
    """Rows, created, updated, unchanged, skipped (conflicts left alone) and failed of a
    finished import, and its conflicts: how many, and what each choice did."""
    rows = len(read_table(imp.content)[1])
    failed = len({e["row"] for e in imp.errors})
    conflicts = {k: v for k, v in (imp.conflict_counts or {}).items() if v}
    skipped = conflicts.get("skip", 0)
    return {
        "rows": rows,
        "created": imp.created_count,
        "updated": imp.updated_count,
        "unchanged": rows - imp.created_count - imp.updated_count - skipped - failed,
        "skipped": skipped,
        "failed": failed,
        "conflicts": sum(conflicts.values()),
        "conflict_counts": conflicts,
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
