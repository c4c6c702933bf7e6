"""An agent's invitation reaches the visitor's page at once: the loader's ping waits for it.

The loader's ping (``/w/api/ping`` with ``w``: seconds) is a long poll. Before any query (it
holds no database connection while it waits) the request waits until an invitation for that
visitor is stored or the time is up, then answers as a ping, the invitation taken from the row.
An invitation wakes it once its unit has committed (``notify``): in this process directly, and,
with REDIS_URL, in every web process through one Redis channel, each process listening with one
green thread. A waiting page costs an idle connection and a green thread, no query; an
invitation costs one Redis message per web process.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import cache

import redis
from flask import current_app

from tenants.db import after_commit

log = logging.getLogger("huike.invitations")

CHANNEL = "huike:invitations"
MAX_WAIT = 25  # seconds: under nginx's 60 s read timeout
RECENT = 30  # seconds an invitation noticed here still answers a poll that starts late

_lock = threading.Lock()
_waiting: dict[str, list[threading.Event]] = {}
# An invitation noticed with nobody waiting here (the page was between two polls): the next
# poll answers at once.
_recent: dict[str, float] = {}
_listening: set[str] = set()  # the Redis URLs this process listens on


def _key(tenant_id: int, visitor_key: str) -> str:
    return f"{tenant_id}:{visitor_key}"


def notify(tenant_id: int, visitor_key: str) -> None:
    """Wake the visitor's waiting poll, wherever it waits, once this unit has committed."""
    url = current_app.config["REDIS_URL"]
    key = _key(tenant_id, visitor_key)
    if url:
        after_commit(lambda: _redis(url).publish(CHANNEL, key))
    else:
        after_commit(lambda: _wake(key))


@cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def _wake(key: str) -> None:
    now = time.monotonic()
    with _lock:
        events = _waiting.pop(key, [])
        if not events:
            _recent[key] = now
        for stale in [k for k, at in _recent.items() if now - at > RECENT]:
            del _recent[stale]
    for event in events:
        event.set()


def wait(tenant_id: int, visitor_key: str, seconds: float) -> None:
    """Return once an invitation for this visitor is stored, or after ``seconds``."""
    url = current_app.config["REDIS_URL"]
    if url:
        _listen(url)
    key = _key(tenant_id, visitor_key)
    event = threading.Event()
    with _lock:
        if time.monotonic() - _recent.pop(key, float("-inf")) < RECENT:
            return
        _waiting.setdefault(key, []).append(event)
    try:
        event.wait(min(seconds, MAX_WAIT))
    finally:
        with _lock:
            events = _waiting.get(key, [])
            if event in events:
                events.remove(event)
                if not events:
                    del _waiting[key]


def _listen(url: str) -> None:
    """One subscriber per process (a green thread under eventlet), started on first use; the
    first poll waits for its subscription (an invitation published before would be missed)."""
    with _lock:
        if url in _listening:
            return
        _listening.add(url)
    subscribed = threading.Event()
    threading.Thread(
        target=_subscribe, args=(url, subscribed), name="invitations", daemon=True
    ).start()
    subscribed.wait(2)


def _subscribe(url: str, subscribed: threading.Event) -> None:
    while True:
        try:
            pubsub = _redis(url).pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(CHANNEL)
            pubsub.get_message(timeout=1)  # the subscription's confirmation
            subscribed.set()
            for message in pubsub.listen():
                _wake(message["data"].decode())
        except Exception:  # Redis away: polls still end on their own time; try again soon
            log.warning("invitation channel lost, listening again", exc_info=True)
            time.sleep(1)
