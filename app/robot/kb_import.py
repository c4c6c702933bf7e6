"""CSV import and export of the knowledge base. No Flask here: the console's pages
(app/robot/transfer.py) and the tests call the same code.

    imp = upload("faq.csv", raw_bytes)     # checks and keeps the file; nothing else changes
    found = plan(imp)                      # each row as it will be stored, or why it is refused
    confirm(imp)                           # the good rows, in the request's unit of work

Columns: ``question``, ``alternatives`` (split by ``|``), ``answer``, ``category``, named in
English or Chinese (问题, 相似问法, 答案, 分类, …). A row whose question is the question of an
entry the shop already has (whatever its case and spacing) updates that entry instead of adding
a second one; a row that would change nothing is left alone, so importing the export again
changes nothing. The file is read again at confirmation (the shop's entries may have changed
since the preview): what is stored is what the plan says then.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import select

from app.crm.spreadsheet import csv_records, csv_text, decode, unguard_cell
from app.robot import knowledge
from app.robot.models import RobotEntry, RobotImport
from app.robot.schemas import EntryInput, collapse_spaces
from app.schemas import checked
from tenants.db import db
from tenants.errors import ServiceError

COLUMNS = ("question", "alternatives", "answer", "category")
# header words (lower case, spaces left out) that name each column: be generous
HEADER_NAMES = {
    "question": {"question", "questions", "问题", "标准问题", "标准问", "问法", "提问"},
    "alternatives": {
        "alternatives",
        "alternative",
        "phrasings",
        "alternativephrasings",
        "相似问法",
        "其他问法",
        "相似问题",
        "其他问题",
        "扩展问法",
        "相似问",
    },
    "answer": {"answer", "answers", "答案", "回答", "回复", "答复"},
    "category": {"category", "categories", "分类", "类别", "类目", "分组"},
}
ALTERNATIVES_SPLIT = re.compile(r"[|｜]")
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000


@dataclass
class Row:
    """A row of the file as it will be stored: ``entry_id`` is the entry it updates (None: a
    new one); ``unchanged`` when that entry already says exactly this."""

    number: int
    entry: EntryInput
    entry_id: int | None = None
    unchanged: bool = False


@dataclass
class Refusal:
    number: int
    column: str | None
    error: ServiceError


@dataclass
class Plan:
    columns: tuple[str, ...]
    rows: list[Row] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    @property
    def new(self) -> int:
        return sum(1 for r in self.rows if r.entry_id is None)

    @property
    def updated(self) -> int:
        return sum(1 for r in self.rows if r.entry_id is not None and not r.unchanged)

    @property
    def unchanged(self) -> int:
        return sum(1 for r in self.rows if r.unchanged)


def _header_key(cell: str) -> str:
    return re.sub(r"[\s_\-()（）]+", "", unguard_cell(cell)).casefold()


def _columns(header: list[str]) -> dict[str, int]:
    """Column -> its index in the file; a file without question and answer is refused."""
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        key = _header_key(cell)
        for column, names in HEADER_NAMES.items():
            if key in names and column not in found:
                found[column] = index
    missing = [c for c in ("question", "answer") if c not in found]
    if missing:
        raise ServiceError("robot_import_columns", field="file", columns=", ".join(missing))
    return found


def read(text: str) -> tuple[dict[str, int], Iterator[tuple[int, list[str]]]]:
    """The columns and the data rows with their row number as a spreadsheet shows it (the
    header is row 1); blank rows are left out but keep their number."""
    records = csv_records(text)
    header = next(records, None)
    if header is None or not any(c.strip() for c in header):
        raise ServiceError("import_empty", field="file")
    columns = _columns(header)

    def rows():
        for number, cells in enumerate(records, start=2):
            if any(c.strip() for c in cells):
                yield number, cells

    return columns, rows()


def upload(filename: str, data: bytes, created_by_id: int | None = None) -> RobotImport:
    """Check an uploaded file (size, encoding, columns, rows) and keep it for its preview."""
    if not data:
        raise ServiceError("import_empty", field="file")
    if len(data) > MAX_BYTES:
        raise ServiceError("file_too_big", field="file", max_mb=MAX_BYTES // 1024 // 1024)
    text = decode(data)
    columns, rows = read(text)
    count = sum(1 for _ in rows)
    if not count:
        raise ServiceError("import_no_rows", field="file")
    if count > MAX_ROWS:
        raise ServiceError("import_too_many_rows", field="file", max=f"{MAX_ROWS:,}")
    imp = RobotImport(
        filename=(filename or "knowledge.csv").strip()[-200:],
        content=text,
        created_by_id=created_by_id,
    )
    db.add(imp)
    db.flush()
    return imp


def _cell(cells: list[str], columns: dict[str, int], column: str) -> str:
    index = columns.get(column)
    return unguard_cell(cells[index]) if index is not None and index < len(cells) else ""


def _data(cells: list[str], columns: dict[str, int]) -> dict:
    data = {column: _cell(cells, columns, column) for column in COLUMNS if column in columns}
    if "alternatives" in data:
        data["alternatives"] = ALTERNATIVES_SPLIT.split(data["alternatives"])
    return data


def _column_of(error: ServiceError) -> str | None:
    return (error.field or "").split("[")[0].split(".")[0] or None


def _known() -> dict[str, RobotEntry]:
    """The shop's entries by their question, as a row's question is compared."""
    return {
        collapse_spaces(entry.question).casefold(): entry
        for entry in db.scalars(select(RobotEntry).order_by(RobotEntry.id))
    }


def _same(entry: RobotEntry, row: EntryInput, columns: dict[str, int]) -> bool:
    return (
        entry.question == row.question
        and entry.answer == row.answer
        and ("alternatives" not in columns or entry.alternatives == row.alternatives)
        and ("category" not in columns or entry.category == row.category)
    )


def plan(imp: RobotImport, known: dict[str, RobotEntry] | None = None) -> Plan:
    """Each row of the file as it will be stored, and the rows refused with their reason."""
    known = _known() if known is None else known
    columns, rows = read(imp.content)
    found = Plan(columns=tuple(c for c in COLUMNS if c in columns))
    first_row: dict[str, int] = {}  # a question -> the row that has it first
    for number, cells in rows:
        try:
            entry = checked(EntryInput, _data(cells, columns))
        except ServiceError as error:
            found.refused.append(Refusal(number, _column_of(error), error))
            continue
        key = entry.question.casefold()
        if key in first_row:
            error = ServiceError("robot_import_repeated", field="question", row=first_row[key])
            found.refused.append(Refusal(number, "question", error))
            continue
        first_row[key] = number
        # the question is not one of its own alternatives (knowledge._apply's rule)
        entry.alternatives = [a for a in entry.alternatives if a.casefold() != key]
        same = known.get(key)
        found.rows.append(
            Row(
                number,
                entry,
                same.id if same else None,
                same is not None and _same(same, entry, columns),
            )
        )
    return found


def confirm(imp: RobotImport) -> Plan:
    """Store the file's good rows (new entries made, known ones updated) as one change of the
    knowledge base; the import is done after (a second confirmation changes nothing)."""
    if imp.status != "pending":
        raise ServiceError("import_done")
    known = _known()
    found = plan(imp, known)
    if not found.rows:
        raise ServiceError("robot_import_nothing")
    by_id = {entry.id: entry for entry in known.values()}
    keep = set(found.columns)  # a column the file lacks keeps the entry's value
    changes = [
        (
            by_id[row.entry_id] if row.entry_id is not None else None,
            row.entry.model_dump(include=keep) if row.entry_id else row.entry.model_dump(),
        )
        for row in found.rows
        if not row.unchanged
    ]
    knowledge.save_entries(changes)
    imp.status = "done"
    imp.created_count = found.new
    imp.updated_count = found.updated
    return found


def export_text() -> str:
    """The knowledge base as a CSV of the import's columns; UTF-8 with a BOM so Excel reads
    Chinese, and it imports back unchanged."""
    lines: list[list] = [list(COLUMNS)]
    for entry in db.scalars(select(RobotEntry).order_by(RobotEntry.category, RobotEntry.id)):
        lines.append([entry.question, "|".join(entry.alternatives), entry.answer, entry.category])
    return csv_text(lines, bom=True)
