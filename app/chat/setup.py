"""A shop's chat set-up: widget look and domains, working hours, groups, quick replies,
invitation rules. Each change is validated here; a bad value changes nothing."""

from __future__ import annotations

import re

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


def update_widget(
    color: str, greeting: str, offline_text: str, domains: str, max_chats: str
) -> ChatSettings:
    if not COLOR.match(color or ""):
        raise ServiceError("color_invalid", field="color")
    names = [d.strip().lower() for d in re.split(r"[\s,]+", domains or "") if d.strip()]
    for name in names:
        if not DOMAIN.match(name):
            raise ServiceError("domain_invalid", field="domains", domain=name[:60])
    try:
        limit = int(max_chats)
    except (TypeError, ValueError):
        raise ServiceError("number_invalid", field="max_chats", low=1, high=50) from None
    if not 1 <= limit <= 50:
        raise ServiceError("number_invalid", field="max_chats", low=1, high=50)
    chat = settings()
    chat.color = color.lower()
    chat.greeting = _text(greeting, "greeting", 200)
    chat.offline_text = _text(offline_text, "offline_text", 300)
    chat.allowed_domains = sorted(set(names))
    chat.max_chats_per_agent = limit
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


def add_quick_reply(member: Membership, shortcut: str, text: str, shared: bool) -> QuickReply:
    shortcut = (shortcut or "").strip().lstrip("/")
    if not SHORTCUT.match(shortcut):
        raise ServiceError("shortcut_invalid", field="shortcut")
    if shared and not member.is_admin:
        raise ServiceError("forbidden")
    reply = QuickReply(
        owner_id=None if shared else member.id,
        shortcut=shortcut,
        text=_text(text, "text", 2000, required=True),
    )
    db.add(reply)
    return reply


def delete_quick_reply(member: Membership, reply_id: int) -> None:
    reply = scoped_get(QuickReply, reply_id)
    if reply is None or (reply.owner_id is not None and reply.owner_id != member.id):
        raise ServiceError("not_found")
    if reply.owner_id is None and not member.is_admin:
        raise ServiceError("forbidden")
    db.delete(reply)


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
