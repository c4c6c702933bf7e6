"""The rules of pushing: an agent's devices, who is told what, and folding a storm.

``send(notice, member_ids)`` runs in a job. For each agent it skips what they already see (the
conversation open in a tab in sight; for a message, any console tab in sight), picks the
devices their status allows (online: every device; away or offline: the devices that chose the
notice's kind), and then either writes one outbox row per device or, within
``PUSH_COLLAPSE_SECONDS`` of the last notice on the same topic, holds it: the first held notice
queues ``push.flush`` for the end of the window, which sends the latest one with the count.
"""

from __future__ import annotations

import re
from base64 import urlsafe_b64decode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from app.chat import service as chat
from app.chat.presence import insert_or_nothing
from app.push.models import KINDS, PushSubscription, PushTopic
from tenants import outbox
from tenants.db import cross_tenant, current_tenant_id, db, scoped_get, utcnow
from tenants.errors import ServiceError
from tenants.jobs import enqueue, job
from tenants.mail import external_url
from tenants.models import Membership

OUTBOX_KIND = "push"
FLUSH_JOB = "push.flush"
BODY_CHARS = 120  # a lock screen shows two lines; the rest stays in the console
KEEP_TOPICS = timedelta(days=1)  # an agent's topics quiet this long are forgotten
BASE64URL = re.compile(r"[A-Za-z0-9_-]{2,200}={0,2}")


@dataclass(frozen=True)
class Notice:
    """Something an agent should hear of. ``words()`` gives (title, body) in the current
    locale; ``seq``: for a message, its place in the conversation (read already: not sent)."""

    kind: str
    topic: str  # what folds together: "c-12", "left", "call-5" (also the push's Topic header)
    url: str
    words: Callable[[], tuple[str, str]]
    conversation_id: int | None = None
    seq: int | None = None


def kind_names() -> dict[str, str]:
    """What each kind of notice is called on the profile, in its order."""
    names = {
        "chat": _l("New chats for you or your queue"),
        "message": _l("New messages in your chats"),
        "left_message": _l("Left messages"),
        "call": _l("Incoming calls"),
        "task": _l("Call tasks that fall due"),
    }
    return {kind: names[kind] for kind in KINDS}


# --- devices ---------------------------------------------------------------------------------


def subscribe(member: Membership, endpoint: str, p256dh: str, auth: str, device: str):
    """Opt this browser in for ``member``. A browser's endpoint is one agent's at a time: the
    person who logged in on it last and opted in (any shop) takes it over."""
    _check_subscription(endpoint, p256dh, auth)
    with cross_tenant():  # an endpoint another agent (any shop) held on this browser
        db.execute(
            delete(PushSubscription).where(
                PushSubscription.endpoint == endpoint,
                PushSubscription.membership_id != member.id,
            )
        )
    found = db.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if found is None:
        found = PushSubscription(membership_id=member.id, endpoint=endpoint)
        db.add(found)
    found.p256dh, found.auth, found.device = p256dh, auth, device[:120]
    db.flush()
    return found


def _check_subscription(endpoint: str, p256dh: str, auth: str) -> None:
    """What a browser's PushSubscription holds (RFC 8291): an https URL, the browser's P-256
    public key (65 bytes, uncompressed) and a 16-byte secret, both base64url. Anything else
    would only fail later, at every send."""
    if not (endpoint and p256dh and auth):
        raise ServiceError("push_subscription_invalid", field="endpoint")
    url = urlsplit(endpoint)
    if url.scheme != "https" or not url.hostname:  # every push service speaks TLS
        raise ServiceError("push_endpoint_invalid", field="endpoint")
    readable = endpoint.isascii() and endpoint.isprintable() and " " not in endpoint
    if len(endpoint) > 1000 or not readable:
        raise ServiceError("push_subscription_invalid", field="endpoint")
    key, secret = _base64url(p256dh), _base64url(auth)
    if key is None or len(key) != 65 or key[0] != 0x04:  # 0x04: an uncompressed point
        raise ServiceError("push_key_invalid", field="p256dh")
    if secret is None or len(secret) != 16:
        raise ServiceError("push_key_invalid", field="auth")


def _base64url(value: str) -> bytes | None:
    """The bytes ``value`` encodes in base64url (padded or not), or None."""
    if not BASE64URL.fullmatch(value):  # the decoder would skip stray characters
        return None
    bare = value.rstrip("=")
    try:
        return urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    except ValueError:  # a length no encoding has
        return None


def unsubscribe(member: Membership, endpoint: str) -> None:
    db.execute(
        delete(PushSubscription).where(
            PushSubscription.endpoint == endpoint, PushSubscription.membership_id == member.id
        )
    )


def devices(member: Membership) -> list[PushSubscription]:
    return list(
        db.scalars(
            select(PushSubscription)
            .where(PushSubscription.membership_id == member.id)
            .order_by(PushSubscription.id)
        )
    )


def device_of(member: Membership, device_id: int) -> PushSubscription:
    found = scoped_get(PushSubscription, device_id)
    if found is None or found.membership_id != member.id:
        raise ServiceError("not_found")  # another shop's, or another agent's: a 404
    return found


def set_away_kinds(member: Membership, device_id: int, kinds: list[str]) -> PushSubscription:
    found = device_of(member, device_id)
    if any(kind not in KINDS for kind in kinds):
        raise ServiceError("push_kind_invalid", field="kinds")
    found.away_kinds = [kind for kind in KINDS if kind in kinds]
    return found


def remove_device(member: Membership, device_id: int) -> None:
    db.delete(device_of(member, device_id))


# --- sending ---------------------------------------------------------------------------------


def send(notice: Notice, member_ids: list[int]) -> None:
    now = utcnow()
    for member_id in dict.fromkeys(member_ids):
        member = scoped_get(Membership, member_id)
        if member is None or member.status != "active":
            continue
        if _sees(member.id, notice.conversation_id, notice.seq):
            continue
        targets = _devices_for(member, notice.kind)
        if not targets:
            continue
        _forget_quiet_topics(member.id, now)
        topic = _topic(member.id, notice.topic)
        with force_locale(_locale(member)):
            title, body = notice.words()
        payload = {"title": title, "body": _cut(body), "url": notice.url, "kind": notice.kind}
        payload |= {"conversation_id": notice.conversation_id, "seq": notice.seq}
        window = timedelta(seconds=current_app.config["PUSH_COLLAPSE_SECONDS"])
        if topic.sent_at is not None and now - topic.sent_at < window:
            if _words(payload) == topic.sent_words:  # a queued chat, then assigned: told once
                continue
            topic.held += 1
            topic.pending = payload
            if topic.held == 1:
                wait = (topic.sent_at + window - now).total_seconds()
                enqueue(FLUSH_JOB, current_tenant_id(), member.id, notice.topic, delay=wait)
            continue
        _write(targets, notice.topic, payload, now)
        topic.sent_at, topic.sent_words, topic.held, topic.pending = now, _words(payload), 0, None


@job(FLUSH_JOB, max_retries=3)
def flush(member_id: int, topic_name: str) -> None:
    """The end of a topic's window: the latest held notice goes out, with how many it stands
    for — unless the agent has seen it since."""
    topic = _topic(member_id, topic_name)
    member = scoped_get(Membership, member_id)
    payload, held = topic.pending, topic.held
    topic.held, topic.pending = 0, None
    if not payload or member is None or member.status != "active":
        return
    kind = payload["kind"]
    targets = _devices_for(member, kind)
    if not targets or _sees(member.id, payload["conversation_id"], payload["seq"]):
        return
    if held > 1:
        with force_locale(_locale(member)):
            more = ngettext("%(num)d new notice", "%(num)d new notices", held)
            if kind == "message":
                more = ngettext("%(num)d new message", "%(num)d new messages", held)
        payload = payload | {"body": _cut(f"{more} · {payload['body']}")}
    now = utcnow()
    _write(targets, topic_name, payload, now)
    topic.sent_at, topic.sent_words = now, _words(payload)


def _sees(member_id: int, conversation_id: int | None, seq: int | None) -> bool:
    """Already in front of the agent: a console tab of theirs in sight shows the news itself
    (sound, toast, the list); a message they have read since."""
    if chat.in_sight(member_id):
        return True
    if seq is None:
        return False
    try:
        conversation = chat.conversation_or_404(conversation_id)
    except ServiceError:  # gone with its visitor
        return True
    return conversation.agent_read_seq >= seq


def _devices_for(member: Membership, kind: str) -> list[PushSubscription]:
    found = devices(member)
    if chat.reachable_status(member.id) == "online":
        return found
    return [device for device in found if kind in device.away_kinds]


def _forget_quiet_topics(member_id: int, now) -> None:
    db.execute(
        delete(PushTopic).where(
            PushTopic.membership_id == member_id,
            PushTopic.sent_at < now - KEEP_TOPICS,
            PushTopic.held == 0,
        )
    )


def _topic(member_id: int, name: str) -> PushTopic:
    """The agent's row for a topic, locked for this unit (two jobs fold into one count)."""
    connection = db.connection()
    statement = insert_or_nothing(PushTopic.__table__, connection.dialect.name)
    connection.execute(
        statement,
        {"tenant_id": current_tenant_id(), "membership_id": member_id, "topic": name, "held": 0},
    )
    return db.scalars(
        select(PushTopic)
        .where(PushTopic.membership_id == member_id, PushTopic.topic == name)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _write(targets: list[PushSubscription], topic: str, payload: dict, now) -> None:
    notification = {
        "title": payload["title"],
        "body": payload["body"],
        "tag": topic,
        "url": payload["url"],
        "timestamp": int(now.timestamp() * 1000),
    }
    for device in targets:
        outbox.write(
            OUTBOX_KIND, {"subscription_id": device.id, "topic": topic, "notice": notification}
        )


def page_path(endpoint: str, **values) -> str:
    """A page's path for a notice to open (no host: the service worker opens it on its own)."""
    return "/" + external_url(endpoint, **values).split("/", 3)[3]


def _words(payload: dict) -> str:
    return f"{payload['title']}\n{payload['body']}"[:300]


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= BODY_CHARS else text[: BODY_CHARS - 1] + "…"


def _locale(member: Membership) -> str:
    return member.user.locale or member.tenant.locale
