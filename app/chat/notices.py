"""The shop hears of what it would otherwise miss: each agent who has not turned it off on
their profile is mailed a new left message, and a chat nobody answered within
``MISSED_AFTER``, each with a link to it, in their own language.

Nothing is mailed inside the request: the left message's listener queues a job, the clock
looks for missed chats, and the mail itself goes through the outbox (tenants/mail.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app.chat import signals
from app.chat.models import Conversation, LeftMessage
from app.chat.payloads import visitor_label
from tenants.clock import periodic
from tenants.db import cross_tenant, current_tenant_id, db, scoped_get, utcnow
from tenants.jobs import enqueue, job
from tenants.mail import external_url, send_mail
from tenants.models import Membership, Tenant

MISSED_AFTER = timedelta(minutes=5)  # a chat unanswered this long is a missed chat
LOOK_BACK = timedelta(days=1)  # older unanswered chats (before an upgrade) are not mailed


@signals.left_message_created.connect
def _left_message_created(left: LeftMessage, **_extra) -> None:
    enqueue("chat.mail_left_message", left.tenant_id, left.id)


@job("chat.mail_left_message")
def mail_left_message(left_message_id: int) -> None:
    left = scoped_get(LeftMessage, left_message_id)
    if left is None:
        return
    link = external_url("chat.inbox", status="all") + f"#m{left.id}"
    for member, shop in _recipients(Membership.notify_left_messages):
        with force_locale(_locale(member)):
            send_mail(
                member.user.email,
                _("New message from %(name)s", name=left.name),
                _render("mail/new_left_message.txt", left=left, shop=shop.name, link=link),
                key=f"left-message:{left.id}:{member.id}",
            )


@periodic("chat.missed_chats", every="CHAT_IDLE_CHECK_SECONDS")
def find_missed_chats() -> None:
    """Each shop with an unanswered chat past ``MISSED_AFTER`` gets its own job."""
    now = utcnow()
    with cross_tenant():
        shops = db.scalars(_missed(now).with_only_columns(Conversation.tenant_id).distinct())
        shops = shops.all()
    for tenant_id in shops:
        enqueue("chat.mail_missed_chats", tenant_id)


@job("chat.mail_missed_chats")
def mail_missed_chats(now: datetime | None = None) -> None:
    """Mail the bound shop's agents each chat missed and not mailed yet, once."""
    now = now or utcnow()
    missed = db.scalars(
        _missed(now).order_by(Conversation.id).with_for_update(of=Conversation)
    ).all()
    recipients = _recipients(Membership.notify_missed_chats) if missed else []
    minutes = int(MISSED_AFTER.total_seconds() // 60)
    for conversation in missed:
        conversation.missed_notice_at = now
        link = external_url("chat.conversations") + f"#c{conversation.id}"
        for member, shop in recipients:
            with force_locale(_locale(member)):
                visitor = conversation.visitor.name or _(
                    "Visitor %(label)s", label=visitor_label(conversation.visitor)
                )
                send_mail(
                    member.user.email,
                    _("Nobody answered %(name)s", name=visitor),
                    _render(
                        "mail/missed_chat.txt",
                        visitor=visitor,
                        shop=shop.name,
                        minutes=minutes,
                        text=conversation.last_text,
                        link=link,
                    ),
                    key=f"missed-chat:{conversation.id}:{member.id}",
                )


def _missed(now: datetime):
    return select(Conversation).where(
        Conversation.first_response_at.is_(None),
        Conversation.status != "held",  # an automated responder is answering it
        Conversation.missed_notice_at.is_(None),
        Conversation.created_at <= now - MISSED_AFTER,
        Conversation.created_at >= now - LOOK_BACK,
    )


def _recipients(wants) -> list[tuple[Membership, Tenant]]:
    """The bound shop's active members who want this kind of mail."""
    shop = db.scalar(select(Tenant).where(Tenant.id == current_tenant_id()))
    members = db.scalars(
        select(Membership)
        .where(Membership.status == "active", wants.is_(True))
        .order_by(Membership.id)
    )
    return [(member, shop) for member in members]


def _locale(member: Membership) -> str:
    return member.user.locale or member.tenant.locale


def _render(template: str, **context) -> str:
    # the template alone: the pages' context processors expect a request
    profile = external_url("accounts.profile")
    return current_app.jinja_env.get_template(template).render(profile=profile, **context)
