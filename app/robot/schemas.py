"""The shapes of a knowledge-base entry and of a question as they are sent to Huike (the API,
the console's forms and the CSV import share them), with the rules of each field."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.crm.schemas import ExternalId
from app.schemas import TEXT, TEXTS, InputModel, Kind, is_text, kind, refuse, refused_as, rule

QUESTION_MAX = 500
ANSWER_MAX = 5000
CATEGORY_MAX = 80
MAX_ALTERNATIVES = 500
# a visitor's message can hold a question inside a story; longer text is no question
ASK_MAX = 2000


def collapse_spaces(text: str) -> str:
    return " ".join(text.split())


def phrasings(given: list[str]) -> list[str]:
    """Spaces collapsed, each once (whatever its case), blank ones left out."""
    seen: dict[str, str] = {}
    for text in map(collapse_spaces, given):
        if text and text.casefold() not in seen:
            seen[text.casefold()] = text
    return list(seen.values())


def _required_text(maximum: int, clean=collapse_spaces):
    """Text with something in it, at most ``maximum`` characters as sent."""

    def cleaned(text: str) -> str:
        text = clean(text)
        if not text:
            raise refuse("required")
        return text

    return (
        Field(max_length=maximum),
        refused_as("too_long", max=maximum),
        rule(cleaned, "required", stated=False),  # blank text: the schema says only "string"
        kind("string", is_text, null={"code": "required"}),
    )


Question = Annotated[str, *_required_text(QUESTION_MAX)]
Answer = Annotated[str, *_required_text(ANSWER_MAX, str.strip)]
Category = Annotated[
    str,
    rule(collapse_spaces),
    Field(max_length=CATEGORY_MAX),
    refused_as("too_long", max=CATEGORY_MAX),
    TEXT,
]
Alternative = Annotated[
    str, Field(max_length=QUESTION_MAX), refused_as("too_long", max=QUESTION_MAX)
]
Alternatives = Annotated[
    list[Alternative],
    rule(phrasings),
    Field(max_length=MAX_ALTERNATIVES),
    refused_as("too_many", shape=True, max=MAX_ALTERNATIVES),
    TEXTS,
]


def _boolean(value):
    if value is not None and not isinstance(value, bool):
        raise refuse("type_invalid", shape=True, expected="boolean")
    return value


Enabled = Annotated[bool, Kind(_boolean)]


class EntryInput(InputModel):
    """A new entry: `question` and `answer` needed. With `external_id`, the same entry sent
    again updates the one stored (a bulk post is idempotent on it)."""

    external_id: ExternalId | None = None
    question: Question
    alternatives: Alternatives = Field(
        default_factory=list,
        description=f"Other ways visitors ask it; blank and repeated ones are left out. "
        f"At most {MAX_ALTERNATIVES}, each at most {QUESTION_MAX} characters.",
    )
    answer: Answer = Field(
        description="Plain text; links are made clickable, HTML is shown as text."
    )
    category: Category = ""
    enabled: Enabled = True


class EntryChanges(InputModel):
    """The keys to change; a key left out is kept. `alternatives` replaces the list."""

    external_id: ExternalId | None = None
    question: Question | None = None
    alternatives: Alternatives | None = None
    answer: Answer | None = None
    category: Category | None = None
    enabled: Enabled | None = None


class AskInput(InputModel):
    question: Annotated[
        str,
        Field(max_length=ASK_MAX),
        refused_as("too_long", max=ASK_MAX),
        kind("string", is_text, null={"code": "required"}),
    ]
