"""One moving-window rate limiter per storage (Redis when configured, else memory), for the
limits that are not a route's: chat floods, one-time codes."""

from __future__ import annotations

import threading
import time
from collections import deque

from flask import current_app
from limits import RateLimitItem
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


class LocalMovingWindow:
    """The same moving window in this process's memory, for one worker without Redis.

    limits' own memory storage expires entries from a timer thread that it starts again on
    the first hit after every quiet 10 ms: under eventlet or gevent that start yields to other
    green threads (a caller inside a SQLite write transaction stalled the whole server), and
    it costs CPU on every chat message. Here expiry happens on each hit; keys idle for longer
    than their window are swept now and then.
    """

    SWEEP_EVERY = 60.0  # seconds

    def __init__(self) -> None:
        self._hits: dict[str, tuple[float, deque[float]]] = {}
        self._lock = threading.Lock()  # uncontended under eventlet/gevent: it never yields
        self._swept = time.monotonic()

    def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        now = time.monotonic()
        window = item.get_expiry()
        key = item.key_for(*identifiers)
        with self._lock:
            _, hits = self._hits.get(key) or (window, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            allowed = len(hits) < item.amount
            if allowed:
                hits.append(now)
            self._hits[key] = (window, hits)
            if now - self._swept > self.SWEEP_EVERY:
                self._sweep(now)
        return allowed

    def _sweep(self, now: float) -> None:
        self._swept = now
        for key, (window, hits) in list(self._hits.items()):
            if not hits or hits[-1] <= now - window:
                del self._hits[key]

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


_limiters: dict[str, MovingWindowRateLimiter | LocalMovingWindow] = {}


def moving_window() -> MovingWindowRateLimiter | LocalMovingWindow:
    uri = current_app.config["RATELIMIT_STORAGE_URI"]
    if uri not in _limiters:
        if uri.startswith("memory://"):
            _limiters[uri] = LocalMovingWindow()
        else:
            _limiters[uri] = MovingWindowRateLimiter(storage_from_string(uri))
    return _limiters[uri]


def reset() -> None:
    for limiter in _limiters.values():
        if isinstance(limiter, LocalMovingWindow):
            limiter.reset()
        else:
            limiter.storage.reset()
