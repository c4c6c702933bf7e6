"""/api/v1/robot: the shop's knowledge base for its own tools (bulk import idempotent on the
shop's ids, paged reads, changes) and the ask API its own channels use, behind the ``robot``
feature. The rules are the robot's (app/robot/knowledge.py, service.py); the key, the errors
and the document are the API's."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, RootModel
from sqlalchemy import select

from app.api import auth
from app.api.inputs import ID_PATH, body, json_body, no_body, query
from app.api.openapi import operation
from app.api.params import DEFAULT_LIMIT, Limit, QueryModel, _after_id, _cursor, encode_cursor
from app.api.schemas import NEXT_CURSOR, Answer, Timestamp
from app.api.views import answer, api_blueprint, once_more_on_conflict
from app.robot import knowledge, service
from app.robot.models import DECISIONS
from app.robot.models import RobotEntry as EntryRow
from app.robot.schemas import AskInput, EntryChanges, EntryInput
from app.schemas import OBJECTS, checked, refused_as
from tenants.db import db

bp = api_blueprint("api_robot", "robot")
ENTRY_PATH = f"/robot/entries/<{ID_PATH}:entry_id>"


class EntryPath(BaseModel):
    entry_id: int = Field(description="Huike's id of the entry.")


class EntryListQuery(QueryModel):
    limit: Limit = DEFAULT_LIMIT
    cursor: _cursor(_after_id) = None


class EntryBatch(RootModel[list[EntryInput]]):
    """Entries to store: each one with an `external_id` known to the shop updates that entry,
    any other is a new entry. At most 1,000 in one request."""

    root: Annotated[
        list[EntryInput],
        Field(max_length=knowledge.MAX_BULK),
        refused_as("too_many", shape=True, max=knowledge.MAX_BULK),
        OBJECTS,
    ]


class Entry(Answer):
    """One answer of the knowledge base, with the ways visitors ask for it."""

    id: int
    external_id: str | None = Field(description="The shop's own id of the entry.")
    question: str
    alternatives: list[str]
    answer: str = Field(description="Plain text.")
    category: str
    enabled: bool = Field(description="A disabled entry answers nothing.")
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, row: EntryRow) -> Entry:
        return cls(
            id=row.id,
            external_id=row.external_id,
            question=row.question,
            alternatives=list(row.alternatives),
            answer=row.answer,
            category=row.category,
            enabled=row.enabled,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class EntryPage(Answer):
    data: list[Entry]
    next_cursor: str | None = Field(description=NEXT_CURSOR)


class StoredEntries(Answer):
    data: list[Entry] = Field(description="The entries as stored, in the order sent.")
    created: int = Field(description="How many of them are new.")
    updated: int = Field(description="How many were known by their `external_id`.")


class Candidate(Answer):
    entry_id: int
    question: str = Field(description="The entry's question.")
    confidence: float = Field(ge=0, le=1)


class Reply(Answer):
    """What the robot does with the question."""

    decision: Literal[DECISIONS] = Field(
        description=(
            "`answer`: send `answer` to the visitor; `suggest`: unsure, offer the candidates "
            '("did you mean"); `handover`: out of scope or a request for a person — pass the '
            "visitor to a person."
        )
    )
    reason: str = Field(
        description="Why: `matched`, `ambiguous`, `unsure`, `out_of_scope`, `asked_for_person`, "
        "`empty`.",
    )
    entry_id: int | None = Field(description="The answering entry, when `decision` is `answer`.")
    answer: str | None = Field(description="Its answer, plain text.")
    confidence: float = Field(ge=0, le=1, description="How sure the robot is of its best match.")
    candidates: list[Candidate] = Field(description="Up to 3 entries, the best first.")


def _stored(rows: list[tuple[EntryRow, bool]]) -> StoredEntries:
    for entry, _ in rows:
        db.refresh(entry)  # as stored: the times the database gave
    made = sum(1 for _, created in rows if created)
    return StoredEntries(
        data=[Entry.of(e) for e, _ in rows], created=made, updated=len(rows) - made
    )


@operation(
    bp,
    "get",
    "/robot/entries",
    operation_id="listRobotEntries",
    summary="List the knowledge base's entries",
    description="In id order; walk every page with `next_cursor`.",
    query=EntryListQuery,
    answers={200: ("A page of entries.", EntryPage)},
)
@auth.rate_limited
def list_entries():
    params = query(EntryListQuery)
    found = select(EntryRow).order_by(EntryRow.id)
    if params.cursor is not None:
        found = found.where(EntryRow.id > params.cursor)
    rows = list(db.scalars(found.limit(params.limit + 1)))
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    cursor = encode_cursor(rows[-1].id) if more else None
    return answer(EntryPage(data=[Entry.of(r) for r in rows], next_cursor=cursor))


@operation(
    bp,
    "post",
    "/robot/entries",
    operation_id="storeRobotEntries",
    summary="Store entries (bulk; idempotent on external_id)",
    description=(
        "A JSON array of entries. An entry whose `external_id` the shop already has is updated "
        "(the same request twice stores each entry once); the others are created. All or "
        "nothing: one refused entry stores none. The entries answer questions as soon as this "
        "request has returned."
    ),
    body=EntryBatch,
    answers={200: ("The entries as stored.", StoredEntries)},
    refuses=("entry_external_id_repeated",),
)
@auth.rate_limited
def store_entries():
    batch = checked(EntryBatch, json_body(list, "entries_body_invalid"))
    return answer(_stored(once_more_on_conflict(lambda: knowledge.upsert_entries(batch.root))))


@operation(
    bp,
    "get",
    ENTRY_PATH,
    operation_id="getRobotEntry",
    summary="Read an entry",
    path_params=EntryPath,
    answers={200: ("The entry.", Entry)},
)
@auth.rate_limited
def get_entry(entry_id: int):
    return answer(Entry.of(knowledge.entry_or_404(entry_id)))


@operation(
    bp,
    "patch",
    ENTRY_PATH,
    operation_id="updateRobotEntry",
    summary="Change an entry",
    path_params=EntryPath,
    body=EntryChanges,
    answers={200: ("The entry as changed.", Entry)},
    conflict=True,
)
@auth.rate_limited
def update_entry(entry_id: int):
    entry = knowledge.entry_or_404(entry_id)
    changes = body(EntryChanges)
    knowledge.update_entry(entry, changes)
    db.refresh(entry)
    return answer(Entry.of(entry))


class Deleted(Answer):
    id: int
    deleted: Literal[True]


@operation(
    bp,
    "delete",
    ENTRY_PATH,
    operation_id="deleteRobotEntry",
    summary="Delete an entry",
    description="Questions it answered stay in the log, without their entry.",
    path_params=EntryPath,
    answers={200: ("Deleted.", Deleted)},
)
@auth.rate_limited
def delete_entry(entry_id: int):
    entry = knowledge.entry_or_404(entry_id)  # another shop's id: 404, body or not
    no_body()
    knowledge.delete_entry(entry)
    return answer(Deleted(id=entry_id, deleted=True))


@operation(
    bp,
    "post",
    "/robot/answer",
    operation_id="askRobot",
    summary="Ask the robot a visitor's question",
    description=(
        "For the shop's own channels: what the robot answers, whether it is unsure (the "
        "candidates to offer) or the visitor should go to a person. Each question is logged "
        "for the shop's figures and its log of unanswered questions."
    ),
    body=AskInput,
    answers={200: ("The robot's decision.", Reply)},
)
@auth.ask_rate_limited
def ask():
    question = body(AskInput).question
    reply = service.ask(question, "api")
    return answer(
        Reply(
            decision=reply.decision,
            reason=reply.reason,
            entry_id=reply.entry.id if reply.entry else None,
            answer=reply.answer,
            confidence=reply.confidence,
            candidates=[Candidate(**c.__dict__) for c in reply.candidates],
        )
    )
