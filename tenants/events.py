"""Domain events: one dispatcher for what happened (anchor: Chatwoot's dispatcher → listeners).

A module declares the events it publishes in its own ``signals.py`` and sends them where it makes
the change, the changed object as the sender (``message_created.send(message)``); other modules
subscribe in their own ``listeners.py``. Receivers run at once, inside the sender's unit of work:
what they write commits or rolls back with the cause, and what must wait for the commit they
register with ``tenants.db.after_commit`` (or as a job). A publisher never imports its listeners,
so the free chat knows nothing of the paid modules that react to it.
"""

from __future__ import annotations

from blinker import NamedSignal, Namespace

_dispatcher = Namespace()


def domain_event(name: str) -> NamedSignal:
    return _dispatcher.signal(name)


def published() -> dict[str, NamedSignal]:
    """Every event declared so far, by name."""
    return dict(_dispatcher)
