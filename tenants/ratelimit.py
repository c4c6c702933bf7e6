"""One moving-window rate limiter per storage (Redis when configured, else memory), for the
limits that are not a route's: chat floods, one-time codes."""

from __future__ import annotations

from flask import current_app
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

_limiters: dict[str, MovingWindowRateLimiter] = {}


def moving_window() -> MovingWindowRateLimiter:
    uri = current_app.config["RATELIMIT_STORAGE_URI"]
    if uri not in _limiters:
        _limiters[uri] = MovingWindowRateLimiter(storage_from_string(uri))
    return _limiters[uri]


def reset() -> None:
    for limiter in _limiters.values():
        limiter.storage.reset()
