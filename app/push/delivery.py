"""The outbox's push handler: one notice to one device, signed with the instance's VAPID key
and encrypted to the browser's keys (RFC 8291/8292, by pywebpush). A device the push service
no longer knows (404, 410) is forgotten; any other failure is the outbox's retry."""

from __future__ import annotations

import json
import logging

from pywebpush import WebPushException, webpush

from app.push.keys import subject, vapid
from app.push.models import PushSubscription
from app.push.service import OUTBOX_KIND
from tenants import outbox
from tenants.db import db, scoped_get, utcnow

log = logging.getLogger("huike.push")
GONE = (404, 410)
TTL_SECONDS = 4 * 3600  # a notice older than this is news no longer
TIMEOUT_SECONDS = 10


@outbox.handler(OUTBOX_KIND)
def deliver(entry: dict) -> None:
    device = scoped_get(PushSubscription, entry["subscription_id"])
    if device is None or device.member.status != "active":  # removed, or the agent disabled
        return
    try:
        webpush(
            {"endpoint": device.endpoint, "keys": {"p256dh": device.p256dh, "auth": device.auth}},
            json.dumps(entry["notice"], ensure_ascii=False),
            vapid_private_key=vapid(),
            vapid_claims={"sub": subject()},  # a fresh dict: webpush writes aud and exp in
            ttl=TTL_SECONDS,
            headers={"Topic": entry["topic"], "Urgency": "high"},
            timeout=TIMEOUT_SECONDS,
        )
    except WebPushException as error:
        if error.status_code in GONE:
            log.info("push subscription gone", extra={"subscription_id": device.id})
            db.delete(device)
            return
        raise
    device.last_sent_at = utcnow()
