"""CSV files as spreadsheets write and read them: the encoding and delimiter of a file, cells
guarded against formulas, and amounts, times and phones as people type them in a cell. The
export's writing (``csv_text``, ``csv_response``) serves every module's CSV download."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Response

from app.crm.values import normalize_phone
from tenants.errors import ServiceError

# Export writes these before a cell so a spreadsheet never runs it as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LIST_SPLIT = re.compile(r"[,;|，；、\n]+")
_DAY = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


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


def csv_records(text: str) -> Iterator[list[str]]:
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    except csv.Error as exc:
        raise ServiceError("import_unreadable", field="file") from exc


def guard_cell(value) -> str:
    """A cell for a CSV a person opens in a spreadsheet: never read as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(lines: list[list], bom: bool = False) -> str:
    """CSV a spreadsheet opens safely: a BOM so Excel reads UTF-8 (Chinese names), and no
    cell that it would run as a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for line in lines:
        writer.writerow([guard_cell(v) for v in line])
    return ("\ufeff" if bom else "") + buffer.getvalue()


def csv_response(body, filename: str) -> Response:
    """A download of CSV ``body`` (text, or an iterator of text chunks to stream)."""
    # an ASCII name for old clients, the real one (a Chinese file name) for the others
    plain = filename if filename.isascii() and not set(filename) & set('"\\') else "export.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename)}"
            ),
            "Cache-Control": "no-store",
        },
    )


def unguard_cell(text: str) -> str:
    """Undo ``guard_cell``, so an exported file imports back as it was."""
    text = text.strip()
    if text.startswith("'") and text[1:2] and text[1:].startswith(FORMULA_STARTS):
        return text[1:].strip()
    return text


def number_text(raw: str) -> str:
    """An amount as written in a spreadsheet (¥1,299.50, 1299,5) as Decimal reads it."""
    text = raw.strip().lstrip("¥￥$€£").replace(" ", "")
    if _THOUSANDS.match(text):
        return text.replace(",", "")
    if re.fullmatch(r"\d+,\d{1,2}", text):
        return text.replace(",", ".")
    return text


def day_and_time(raw: str) -> tuple[str, str | None]:
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
    day_text, time_text = day_and_time(raw)
    text = f"{day_text}T{time_text}" if time_text else day_text
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ServiceError("import_datetime_invalid", field="placed_at") from exc
    return value if value.tzinfo else value.replace(tzinfo=tz)


def phones_in(cell: str, region: str) -> Iterator[tuple[str, str]]:
    """(as written, E.164) for each phone of a cell. Phones are separated by , ; | or by
    spaces between whole numbers (the export writes them so), while '138 0013 8000' is one."""
    for chunk in (c.strip() for c in LIST_SPLIT.split(cell)):
        if not chunk:
            continue
        try:
            yield chunk, normalize_phone(chunk, region)
        except ServiceError:
            if len(chunk.split()) < 2:
                raise
            for part in chunk.split():
                yield part, normalize_phone(part, region)
