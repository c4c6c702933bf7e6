"""Flood control for the widget and sockets: moving-window limits per visitor and per address,
kept in Redis when configured (shared by every worker), else in memory."""

from __future__ import annotations

from functools import lru_cache

from flask import current_app
from limits import RateLimitItem, parse

from tenants.ratelimit import moving_window

DEFAULT_LIMITS = {
    "connect": "30/minute",  # per address
    "hello": "120/minute",  # page views, per address
    "poll": "120/minute",  # the loader's waiting pings (a tab: ~3 a minute), per address
    "message": "20/10 seconds",  # per visitor
    "draft": "10/second",  # per visitor
    "event": "60/10 seconds",  # any other socket event, per connection
    "leave": "5/minute",  # left messages, per address
    "upload": "10/minute",  # per visitor
    "identify": "20/minute",  # Huike.identify, per visitor: a page load sends one
    "callback": "20/minute",  # the widget's callback form and offer, per visitor
}


def allow(kind: str, key: str) -> bool:
    """False once ``key`` has used up its ``kind`` allowance (the caller answers clearly)."""
    limits = current_app.config.get("FLOOD_LIMITS") or DEFAULT_LIMITS
    return moving_window().hit(_parsed(limits[kind]), kind, key)


@lru_cache(maxsize=64)
def _parsed(limit: str) -> RateLimitItem:
    return parse(limit)
