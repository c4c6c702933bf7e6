"""A shop's chat set-up: widget look and domains, working hours, groups, quick replies,
invitation rules. Each change is validated here; a bad value changes nothing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import suppress
from types import SimpleNamespace

from sqlalchemy import delete, or_, select

from app.chat.models import ChatSettings, Group, GroupMember, InvitationRule, QuickReply
from app.chat.service import WEEKDAYS, settings
from tenants.db import db, scoped_get
from tenants.errors import ServiceError
from tenants.models import Membership

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$|^localhost$|^127\.0\.0\.1$")
SHORTCUT = re.compile(r"^[\w-]{1,30}$")


def _text(value: str | None, field: str, max_len: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ServiceError("required", field=field)
    if len(value) > max_len:
        raise ServiceError("too_long", field=field, max=max_len)
    return value


def _number(value: str | None, field: str, low: int, high: int) -> int:
    try:
        number = int(value or "")
    except ValueError:
        raise ServiceError("number_invalid", field=field, low=low, high=high) from None
    if not low <= number <= high:
        raise ServiceError("number_invalid", field=field, low=low, high=high)
    return number


def _color(value: str | None) -> str:
    value = (value or "").strip()
    if not COLOR.match(value):
        raise ServiceError("color_invalid", field="color")
    return value.lower()


def _domains(value: str | None) -> list[str]:
    """Host names, separated by commas or spaces; a pasted address keeps only its host."""
    names = set()
    for typed in re.split(r"[\s,，]+", value or ""):
        name = re.sub(r"^[a-z][a-z0-9+.-]*://", "", typed.lower()).split("/")[0]
        if typed and not DOMAIN.match(name):
            raise ServiceError("domain_invalid", field="domains", domain=typed[:60])
        if name:
            names.add(name)
    return sorted(names)


LAUNCHER_SIDES = ("right", "left")
LAUNCHER_MAX_OFFSET = 300  # px: further in, the open chat would have little room left


def _side(value: str | None) -> str:
    if value not in LAUNCHER_SIDES:
        raise ServiceError("side_invalid", field="launcher_side")
    return value


# The widget form: field name -> (ChatSettings column, check). A new field is one line here
# and one in templates/chat/settings.html.
WIDGET_FORM = {
    "color": ("color", _color),
    "greeting": ("greeting", lambda v: _text(v, "greeting", 200)),
    "offline_text": ("offline_text", lambda v: _text(v, "offline_text", 300)),
    "domains": ("allowed_domains", _domains),
    "max_chats": ("max_chats_per_agent", lambda v: _number(v, "max_chats", 1, 50)),
    "launcher_side": ("launcher_side", _side),
    "launcher_bottom": (
        "launcher_bottom",
        lambda v: _number(v, "launcher_bottom", 0, LAUNCHER_MAX_OFFSET),
    ),
    "launcher_offset": (
        "launcher_offset",
        lambda v: _number(v, "launcher_offset", 0, LAUNCHER_MAX_OFFSET),
    ),
}


def update_widget(form: Mapping[str, str]) -> ChatSettings:
    """Every field checked before any is stored: the first bad one refuses the lot."""
    values = {column: check(form.get(name)) for name, (column, check) in WIDGET_FORM.items()}
    chat = settings()
    for column, value in values.items():
        setattr(chat, column, value)
    return chat


def widget_draft(form: Mapping[str, str]) -> SimpleNamespace:
    """The saved settings with the form's valid values over them, stored nowhere: what the
    settings page's preview shows while the admin types (a value not valid yet keeps the
    saved one)."""
    chat = settings()
    draft = SimpleNamespace(
        schedule=chat.schedule,
        **{column: getattr(chat, column) for column, _ in WIDGET_FORM.values()},
    )
    for name, (column, check) in WIDGET_FORM.items():
        if name in form:
            with suppress(ServiceError):
                setattr(draft, column, check(form[name]))
    return draft


def update_notifications(message_text: bool) -> ChatSettings:
    """Whether agents' push notifications carry the visitor's words (lock screens show them)."""
    chat = settings()
    chat.push_message_text = message_text
    return chat


def update_auto_close(minutes: str) -> ChatSettings:
    """Minutes after the visitor left without a message before a chat closes (0: never)."""
    try:
        value = int(minutes)
    except (TypeError, ValueError):
        raise ServiceError("number_invalid", field="auto_close_minutes", low=0, high=1440) from None
    if not 0 <= value <= 1440:
        raise ServiceError("number_invalid", field="auto_close_minutes", low=0, high=1440)
    chat = settings()
    chat.auto_close_minutes = value
    return chat


def update_schedule(form: dict[str, str]) -> ChatSettings:
    """``{day}_open`` = "on" and ``{day}_start`` / ``{day}_end`` = HH:MM, for each weekday.
    No day open at all means: no schedule (always open)."""
    schedule = {}
    for day in WEEKDAYS:
        if form.get(f"{day}_open") != "on":
            continue
        start, end = form.get(f"{day}_start", ""), form.get(f"{day}_end", "")
        if not HHMM.match(start) or not HHMM.match(end) or start >= end:
            raise ServiceError("hours_invalid", field=f"{day}_start")
        schedule[day] = [[start, end]]
    chat = settings()
    chat.schedule = schedule
    return chat


def groups() -> list[Group]:
    return list(db.scalars(select(Group).order_by(Group.position, Group.id)))


def group_members() -> dict[int, set[int]]:
    found: dict[int, set[int]] = {}
    for row in db.scalars(select(GroupMember)):
        found.setdefault(row.group_id, set()).add(row.membership_id)
    return found


def add_group(name: str, url_pattern: str, member_ids: list[int]) -> Group:
    group = Group(
        name=_text(name, "name", 60, required=True),
        url_pattern=_text(url_pattern, "url_pattern", 300),
        position=len(groups()),
    )
    db.add(group)
    db.flush()
    set_group_members(group.id, member_ids)
    return group


def set_group_members(group_id: int, member_ids: list[int]) -> Group:
    group = scoped_get(Group, group_id)
    if group is None:
        raise ServiceError("not_found")
    wanted = set()
    for member_id in member_ids:
        member = scoped_get(Membership, member_id)
        if member is None:
            raise ServiceError("not_found", field="members")
        wanted.add(member.id)
    db.execute(delete(GroupMember).where(GroupMember.group_id == group.id))
    db.add_all(GroupMember(group_id=group.id, membership_id=m) for m in sorted(wanted))
    return group


def delete_group(group_id: int) -> None:
    group = scoped_get(Group, group_id)
    if group is None:
        raise ServiceError("not_found")
    db.delete(group)


def quick_replies(member: Membership) -> list[QuickReply]:
    """The shop's shared replies and this agent's own."""
    return list(
        db.scalars(
            select(QuickReply)
            .where(or_(QuickReply.owner_id.is_(None), QuickReply.owner_id == member.id))
            .order_by(QuickReply.shortcut)
        )
    )


QUICK_REPLY_MAX = 5000  # a reply is sent as a chat message: as long as one may be


def _quick_reply_fields(reply: QuickReply, shortcut: str, text: str) -> QuickReply:
    """Set the shortcut and text; a shortcut its owner (the shop for shared replies, the agent
    for their own) already uses is refused (the database refuses it too)."""
    shortcut = (shortcut or "").strip().lstrip("/")
    if not SHORTCUT.match(shortcut):
        raise ServiceError("shortcut_invalid", field="shortcut")
    text = _text(text, "text", QUICK_REPLY_MAX, required=True)
    same_owner = (
        QuickReply.owner_id.is_(None)
        if reply.owner_id is None
        else QuickReply.owner_id == reply.owner_id
    )
    taken = db.scalar(
        select(QuickReply.id).where(
            same_owner, QuickReply.shortcut == shortcut, QuickReply.id != reply.id
        )
    )
    if taken is not None:
        raise ServiceError("shortcut_taken", field="shortcut", shortcut=shortcut)
    reply.shortcut, reply.text = shortcut, text
    return reply


def add_quick_reply(member: Membership, shortcut: str, text: str, shared: bool) -> QuickReply:
    if shared and not member.is_admin:
        raise ServiceError("forbidden")
    reply = _quick_reply_fields(QuickReply(owner_id=None if shared else member.id), shortcut, text)
    db.add(reply)
    return reply


def _own_quick_reply(member: Membership, reply_id: int) -> QuickReply:
    """One this member may change: their own, or a shared one if they are an admin."""
    reply = scoped_get(QuickReply, reply_id)
    if reply is None or (reply.owner_id is not None and reply.owner_id != member.id):
        raise ServiceError("not_found")
    if reply.owner_id is None and not member.is_admin:
        raise ServiceError("forbidden")
    return reply


def edit_quick_reply(member: Membership, reply_id: int, shortcut: str, text: str) -> QuickReply:
    return _quick_reply_fields(_own_quick_reply(member, reply_id), shortcut, text)


def delete_quick_reply(member: Membership, reply_id: int) -> None:
    db.delete(_own_quick_reply(member, reply_id))


def invitation_rules() -> list[InvitationRule]:
    return list(db.scalars(select(InvitationRule).order_by(InvitationRule.id)))


def add_invitation_rule(url_pattern: str, seconds: str, text: str) -> InvitationRule:
    try:
        wait = int(seconds)
    except (TypeError, ValueError):
        raise ServiceError("number_invalid", field="seconds", low=0, high=3600) from None
    if not 0 <= wait <= 3600:
        raise ServiceError("number_invalid", field="seconds", low=0, high=3600)
    rule = InvitationRule(
        url_pattern=_text(url_pattern, "url_pattern", 300, required=True),
        seconds=wait,
        text=_text(text, "text", 300, required=True),
    )
    db.add(rule)
    return rule


def delete_invitation_rule(rule_id: int) -> None:
    rule = scoped_get(InvitationRule, rule_id)
    if rule is None:
        raise ServiceError("not_found")
    db.delete(rule)
