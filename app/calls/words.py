"""How a call's codes read in the console, the timeline and exports: one translated word per
status, direction and outcome, and a talk time as a clock shows it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

DIRECTION_NAMES = {"in": _l("Inbound"), "out": _l("Outbound")}
STATUS_NAMES = {
    "ringing": _l("Ringing"),
    "answered": _l("On the line"),
    "ended": _l("Completed"),
    "missed": _l("Missed"),
    "busy": _l("Busy"),
    "failed": _l("Failed"),
}
# An outbound call nobody picked up was not missed by the shop: the customer did not answer.
NOT_ANSWERED = _l("Not answered")
# What the agent says came of a call (the call page sets it).
OUTCOME_NAMES = {
    "resolved": _l("Resolved"),
    "sale": _l("Sale"),
    "callback_needed": _l("Callback needed"),
    "complaint": _l("Complaint"),
    "wrong_number": _l("Wrong number"),
    "other": _l("Other"),
}
# The log's filters, to say which one a refusal is about.
FILTER_NAMES = {
    "from": _l("From"),
    "to": _l("To"),
    "direction": _l("Direction"),
    "status": _l("Status"),
    "agent": _l("Agent"),
    "number": _l("Phone number"),
}


def status_name(status: str, direction: str) -> str:
    if status == "missed" and direction == "out":
        return str(NOT_ANSWERED)
    return str(STATUS_NAMES.get(status, status))


def outcome_name(outcome: str) -> str:
    return str(OUTCOME_NAMES.get(outcome, outcome))


def duration_text(seconds: int | None) -> str:
    """1:05 for a minute and five seconds, 1:02:03 past an hour; nothing for no talk time."""
    if seconds is None:
        return ""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
