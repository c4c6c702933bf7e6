"""The shop's knowledge base: its entries, synonyms and words, and the version that tells every
worker its index is stale. Every change goes through here, so none forgets the version."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update

from app.chat.presence import insert_or_nothing
from app.robot.models import RobotEntry, RobotSettings
from app.robot.schemas import EntryChanges, EntryInput, phrasings
from app.robot.signals import knowledge_changed
from tenants.db import current_tenant_id, db, scoped_get
from tenants.errors import ServiceError

ENTRY_FIELDS = ("external_id", "question", "alternatives", "answer", "category", "enabled")
# one bulk post: BANKING77's 77 intents hold 10,003 phrasings
MAX_BULK = 1000


def settings(create: bool = False) -> RobotSettings:
    """The shop's robot settings. A shop that never changed them reads the defaults, unsaved
    (reading changes nothing); ``create`` stores its row first (a concurrent first write
    inserts nothing and reads the same row)."""
    found = db.scalar(select(RobotSettings))
    if found is None and not create:
        return RobotSettings(mode="off", synonyms="", words="", version=0)
    if found is None:
        connection = db.connection()
        connection.execute(
            insert_or_nothing(RobotSettings.__table__, connection.dialect.name),
            {"tenant_id": current_tenant_id(), "mode": "off", "version": 0},
        )
        found = db.scalar(select(RobotSettings))
    return found


def changed() -> None:
    """The knowledge base changed: move its version on (in the database, so a concurrent
    change cannot lose an increment) and tell the listeners."""
    settings(create=True)
    db.execute(update(RobotSettings).values(version=RobotSettings.version + 1))
    knowledge_changed.send(current_tenant_id())


def entry_or_404(entry_id: int) -> RobotEntry:
    entry = scoped_get(RobotEntry, entry_id)
    if entry is None:
        raise ServiceError("not_found", field="entry_id")
    return entry


def _by_external_id(external_id: str) -> RobotEntry | None:
    return db.scalar(select(RobotEntry).where(RobotEntry.external_id == external_id))


def _apply(entry: RobotEntry, data: dict) -> None:
    external_id = data.get("external_id", entry.external_id)
    if external_id is not None and external_id != entry.external_id:
        other = _by_external_id(external_id)
        if other is not None and other.id != entry.id:
            raise ServiceError(
                "entry_external_id_taken", field="external_id", value=external_id, entry_id=other.id
            )
    for key in ENTRY_FIELDS:
        if key in data:
            setattr(entry, key, data[key])
    # the question is not one of its own alternatives
    entry.alternatives = [
        text
        for text in phrasings(entry.alternatives)
        if text.casefold() != entry.question.casefold()
    ]


def create_entry(data: EntryInput) -> RobotEntry:
    entry = RobotEntry(alternatives=[])
    _apply(entry, data.model_dump())
    db.add(entry)
    db.flush()
    changed()
    return entry


def update_entry(entry: RobotEntry, changes: EntryChanges) -> RobotEntry:
    data = changes.model_dump(exclude_unset=True)
    if data:
        _apply(entry, data)
        db.flush()
        changed()
    return entry


def delete_entry(entry: RobotEntry) -> None:
    db.delete(entry)
    db.flush()
    changed()


def upsert_entries(items: Iterable[EntryInput]) -> list[tuple[RobotEntry, bool]]:
    """Store each item: the entry of its external id updated, else a new one. Returns each
    entry with whether it was made. The version moves once for the lot."""
    items = list(items)
    if len(items) > MAX_BULK:
        raise ServiceError("too_many", max=MAX_BULK)
    seen: dict[str, int] = {}
    for position, item in enumerate(items):
        if item.external_id is not None:
            if item.external_id in seen:
                raise ServiceError(
                    "entry_external_id_repeated",
                    field=f"[{position}].external_id",
                    value=item.external_id,
                )
            seen[item.external_id] = position
    known = {
        entry.external_id: entry
        for entry in db.scalars(select(RobotEntry).where(RobotEntry.external_id.in_(list(seen))))
    }
    stored = []
    for item in items:
        entry = known.get(item.external_id) if item.external_id is not None else None
        made = entry is None
        if made:
            # its external id is no other entry's: ``known`` holds every one of the lot's
            entry = RobotEntry(alternatives=[], external_id=item.external_id)
        _apply(entry, item.model_dump())  # before it is added: _apply's query flushes
        db.add(entry)
        stored.append((entry, made))
    db.flush()
    if stored:
        changed()
    return stored


def save_entries(changes: Iterable[tuple[RobotEntry | None, dict]]) -> list[RobotEntry]:
    """Many entries made or changed at once (the CSV import): a new one for each None, a
    known one given the data's keys; the version moves once for the lot."""
    stored = []
    for entry, data in changes:
        if entry is None:
            entry = RobotEntry(alternatives=[])
        _apply(entry, data)
        db.add(entry)
        stored.append(entry)
    db.flush()
    if stored:
        changed()
    return stored


def add_phrasing(entry: RobotEntry, text: str) -> RobotEntry:
    """A visitor's words become one more way to ask for ``entry`` (the unanswered log)."""
    return update_entry(
        entry, EntryChanges.model_validate({"alternatives": [*entry.alternatives, text]})
    )


def terms(text: str, separators: str = "=,，、|") -> list[str]:
    """A line of synonyms or words split on any of ``separators``, each once, blanks out."""
    for separator in separators[1:]:
        text = text.replace(separator, separators[0])
    return list(dict.fromkeys(t.strip() for t in text.split(separators[0]) if t.strip()))


def synonym_groups(text: str) -> list[list[str]]:
    """One group a line: "运费险 = 退货运费险 = 退货险"; a line of one term is no group."""
    return [group for group in map(terms, text.splitlines()) if len(group) > 1]


def user_words(text: str) -> list[str]:
    return [word for line in text.splitlines() for word in terms(line)]
